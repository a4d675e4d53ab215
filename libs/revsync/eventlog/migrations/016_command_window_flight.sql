-- A window's commands in flight are counted as they move, not by counting rows. At 1,000
-- clients `command_window_send` cost 1 ms of server time per call, a quarter of the
-- database's time in the initial sync: mostly counting a full window's ~200 in-flight rows
-- (a heap visit each: the table churns, so no index-only scan) to learn there was no room.
--
-- A unit of work goes through its windows in key order, locking each window's count for the
-- rest of its transaction (the end of the unit: a moment), so units of one window release one
-- after the other and the bound is exact. The sweep (`release_held`) recounts the windows that
-- hold commands from their rows, so a count can never keep a window shut.
CREATE TABLE command_window_flight (
    tenant_id  text    NOT NULL,
    window_key text    NOT NULL,
    in_flight  integer NOT NULL,
    PRIMARY KEY (tenant_id, window_key)
);
INSERT INTO command_window_flight (tenant_id, window_key, in_flight)
SELECT tenant_id, window_key, count(*) FROM command_window WHERE sent_at IS NOT NULL
GROUP BY tenant_id, window_key;

-- The count of one window, locked (created at 0 when the window has none yet).
CREATE OR REPLACE FUNCTION command_window_lock(p_tenant text, p_key text) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
BEGIN
    SELECT in_flight INTO n FROM command_window_flight
    WHERE tenant_id = p_tenant AND window_key = p_key FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO command_window_flight (tenant_id, window_key, in_flight)
        VALUES (p_tenant, p_key, 0) ON CONFLICT DO NOTHING;
        SELECT in_flight INTO n FROM command_window_flight
        WHERE tenant_id = p_tenant AND window_key = p_key FOR UPDATE;
    END IF;
    RETURN n;
END;
$$;

-- Free `p_freed` places of each window (parallel arrays; keys may repeat), then move held
-- commands of the windows into the outbox while they have room, oldest first; returns how
-- many moved (and wakes the relay when any did). Windows are locked in key order.
DROP FUNCTION IF EXISTS command_window_release(text, text[], integer);
CREATE OR REPLACE FUNCTION command_window_release(
    p_tenant text, p_keys text[], p_size integer,
    p_freed_keys text[] DEFAULT '{}', p_freed integer[] DEFAULT '{}'
) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    k text;
    flying integer;
    freed integer;
    n integer;
    moved integer := 0;
BEGIN
    FOR k IN SELECT DISTINCT x FROM unnest(p_keys || p_freed_keys) AS x ORDER BY x LOOP
        flying := command_window_lock(p_tenant, k);
        SELECT coalesce(sum(f.n), 0) INTO freed
        FROM unnest(p_freed_keys, p_freed) AS f(key, n) WHERE f.key = k;
        flying := greatest(flying - freed, 0);
        IF flying < p_size THEN
            WITH next AS (
                SELECT seq, id, subject, payload, headers FROM command_window
                WHERE tenant_id = p_tenant AND window_key = k AND sent_at IS NULL
                ORDER BY seq LIMIT p_size - flying FOR UPDATE SKIP LOCKED
            ), sent AS (
                UPDATE command_window w SET sent_at = now(), payload = NULL FROM next
                WHERE w.seq = next.seq
                RETURNING next.seq, next.id, next.subject, next.payload, next.headers
            )
            INSERT INTO outbox (id, tenant_id, subject, payload, headers)
            SELECT id, p_tenant, subject, payload, headers FROM sent ORDER BY seq;
            GET DIAGNOSTICS n = ROW_COUNT;
            moved := moved + n;
            flying := flying + n;
        END IF;
        UPDATE command_window_flight SET in_flight = flying
        WHERE tenant_id = p_tenant AND window_key = k AND in_flight <> flying;
    END LOOP;
    IF moved > 0 THEN
        PERFORM pg_notify('revsync_outbox', '');
    END IF;
    RETURN moved;
END;
$$;

-- A unit of work's part in the windows: free the places of the commands whose results it
-- handled, hold the commands it sends, then release what fits. One round trip.
CREATE OR REPLACE FUNCTION command_window_send(
    p_tenant text, p_answered uuid[], p_ids uuid[], p_keys text[], p_subjects text[],
    p_payloads bytea[], p_headers jsonb, p_size integer
) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    freed_keys text[];
    freed integer[];
BEGIN
    WITH gone AS (
        DELETE FROM command_window
        WHERE tenant_id = p_tenant AND id = ANY (p_answered) AND sent_at IS NOT NULL
        RETURNING window_key
    )
    SELECT coalesce(array_agg(window_key), '{}'), coalesce(array_agg(1), '{}')
    INTO freed_keys, freed FROM gone;
    -- an answer to a command still held (the sweep gave up on it, it was sent again...)
    -- frees no place: the held copy is dropped, as its answer came
    DELETE FROM command_window
    WHERE tenant_id = p_tenant AND id = ANY (p_answered) AND sent_at IS NULL;
    INSERT INTO command_window (id, tenant_id, window_key, subject, payload, headers)
    SELECT i, p_tenant, k, s, p, p_headers
    FROM unnest(p_ids, p_keys, p_subjects, p_payloads) WITH ORDINALITY AS u(i, k, s, p, o)
    ORDER BY o
    ON CONFLICT (tenant_id, id) DO NOTHING;
    RETURN command_window_release(p_tenant, p_keys, p_size, freed_keys, freed);
END;
$$;

-- The sweep's part: give up on the commands of `p_issuer`'s windows (window_key LIKE
-- p_pattern) unanswered for `p_within_s`, and recount the windows that hold commands from their
-- rows; window by window in key order, each locked. Returns the commands given up on.
CREATE OR REPLACE FUNCTION command_window_expire(p_pattern text, p_within_s float8)
RETURNS TABLE (tenant_id text, window_key text, id uuid, sent_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    w record;
BEGIN
    FOR w IN
        SELECT DISTINCT c.tenant_id, c.window_key FROM command_window c
        WHERE c.window_key LIKE p_pattern
          AND (c.sent_at IS NULL OR c.sent_at < now() - make_interval(secs => p_within_s))
        ORDER BY 1, 2
    LOOP
        PERFORM command_window_lock(w.tenant_id, w.window_key);
        RETURN QUERY
        DELETE FROM command_window c WHERE c.seq IN (
            SELECT o.seq FROM command_window o
            WHERE o.tenant_id = w.tenant_id AND o.window_key = w.window_key
              AND o.sent_at < now() - make_interval(secs => p_within_s)
            FOR UPDATE SKIP LOCKED  -- one a unit is answering right now is its to free
        )
        RETURNING c.tenant_id, c.window_key, c.id, c.sent_at;
        UPDATE command_window_flight f SET in_flight = (
            SELECT count(*) FROM command_window c
            WHERE c.tenant_id = w.tenant_id AND c.window_key = w.window_key
              AND c.sent_at IS NOT NULL
        ) WHERE f.tenant_id = w.tenant_id AND f.window_key = w.window_key;
    END LOOP;
END;
$$;
