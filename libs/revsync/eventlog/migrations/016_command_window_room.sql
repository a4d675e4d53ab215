-- A unit of work no longer counts a window's commands in flight to learn it has no room.
-- At 1,000 clients `command_window_send` cost 1 ms of server time per call, a quarter of the
-- database's time in the initial sync: mostly counting a full window's ~200 in-flight rows
-- (a heap visit each: the table churns, so no index-only scan). Now:
-- - the result a unit handles frees its command's place, and the unit sends the oldest held
--   command of that window in its place (as many as it freed);
-- - a unit that holds new commands behind older held ones sends nothing more: older commands
--   wait, so the window is full (it counts only when nothing older waits);
-- - the sweep (`release_held`, no places freed, nothing new) counts and fills what is left.
-- Still a soft bound, as before: concurrent units skip each other's locked rows.

-- Move up to `p_n` held commands of one window into the outbox, oldest first; how many moved.
CREATE OR REPLACE FUNCTION command_window_move(p_tenant text, p_key text, p_n integer)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n integer;
BEGIN
    IF p_n <= 0 THEN
        RETURN 0;
    END IF;
    WITH next AS (
        SELECT seq, id, subject, payload, headers FROM command_window
        WHERE tenant_id = p_tenant AND window_key = p_key AND sent_at IS NULL
        ORDER BY seq LIMIT p_n FOR UPDATE SKIP LOCKED
    ), sent AS (
        UPDATE command_window w SET sent_at = now(), payload = NULL FROM next
        WHERE w.seq = next.seq
        RETURNING next.seq, next.id, next.subject, next.payload, next.headers
    )
    INSERT INTO outbox (id, tenant_id, subject, payload, headers)
    SELECT id, p_tenant, subject, payload, headers FROM sent ORDER BY seq;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;

-- The room a window has (its size less its commands in flight; counting at most `p_size`).
CREATE OR REPLACE FUNCTION command_window_room(p_tenant text, p_key text, p_size integer)
RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT p_size - count(*)::integer FROM (
        SELECT 1 FROM command_window
        WHERE tenant_id = p_tenant AND window_key = p_key AND sent_at IS NOT NULL
        LIMIT p_size
    ) AS flying;
$$;

-- Release held commands of the windows `p_keys` into the outbox; returns how many moved (and
-- wakes the relay when any did). `p_freed_keys`: a window per place the caller's answers
-- freed (repeated for several); `p_new_keys`/`p_new_seqs`: the commands it has just held.
-- Called with neither (the sweep), each window is counted and filled.
DROP FUNCTION IF EXISTS command_window_release(text, text[], integer);
CREATE OR REPLACE FUNCTION command_window_release(
    p_tenant text, p_keys text[], p_size integer,
    p_freed_keys text[] DEFAULT '{}', p_new_keys text[] DEFAULT '{}',
    p_new_seqs bigint[] DEFAULT '{}'
) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    k text;
    freed integer;
    first_new bigint;
    older_wait boolean;
    moved integer := 0;
BEGIN
    FOREACH k IN ARRAY p_keys LOOP
        freed := cardinality(array_positions(p_freed_keys, k));
        SELECT min(s) INTO first_new FROM unnest(p_new_keys, p_new_seqs) AS u(key, s)
        WHERE u.key = k;
        -- each place freed goes to the oldest command waiting
        moved := moved + command_window_move(p_tenant, k, freed);
        IF freed > 0 AND first_new IS NULL THEN
            CONTINUE;  -- an answer's place is taken, or nothing waits: the window is as full
        END IF;
        IF first_new IS NOT NULL THEN
            SELECT EXISTS (
                SELECT 1 FROM command_window
                WHERE tenant_id = p_tenant AND window_key = k AND sent_at IS NULL
                  AND seq < first_new
            ) INTO older_wait;
            CONTINUE WHEN older_wait;  -- they wait because the window is full
        END IF;
        moved := moved
            + command_window_move(p_tenant, k, command_window_room(p_tenant, k, p_size));
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
    new_keys text[];
    new_seqs bigint[];
BEGIN
    WITH gone AS (
        DELETE FROM command_window WHERE tenant_id = p_tenant AND id = ANY (p_answered)
        RETURNING window_key, sent_at IS NOT NULL AS flying
    )  -- a command answered while held (never the case, but) is not sent: it frees nothing
    SELECT coalesce(array_agg(window_key) FILTER (WHERE flying), '{}') INTO freed_keys FROM gone;
    WITH held AS (
        INSERT INTO command_window (id, tenant_id, window_key, subject, payload, headers)
        SELECT i, p_tenant, k, s, p, p_headers
        FROM unnest(p_ids, p_keys, p_subjects, p_payloads) WITH ORDINALITY AS u(i, k, s, p, o)
        ORDER BY o
        ON CONFLICT (tenant_id, id) DO NOTHING
        RETURNING window_key, seq
    )
    SELECT coalesce(array_agg(window_key), '{}'), coalesce(array_agg(seq), '{}')
    INTO new_keys, new_seqs FROM held;
    RETURN command_window_release(
        p_tenant,
        ARRAY(SELECT DISTINCT x FROM unnest(freed_keys || new_keys) AS x ORDER BY x),
        p_size, freed_keys, new_keys, new_seqs
    );
END;
$$;
