-- A service's bulk commands wait their turn here instead of flooding the command stream: per
-- tenant and kind (window_key: issuing service and `<system>.<entity>`), at most a window's
-- size are in flight (sent, not answered); the others are held, in order, and move to the
-- outbox as answers free places. Without it one tenant's initial sync puts 100,000 commands
-- into the connectors' shared consumers at once, and fairness can only turn them away, again
-- and again (see docs/architecture.md, "Command windows").
--
-- A row is held (sent_at NULL, with its message) or in flight (sent_at set, message gone);
-- the issuer's unit of work that handles the command's result deletes it.
CREATE TABLE command_window (
    seq        bigserial   PRIMARY KEY,
    id         uuid        NOT NULL,
    tenant_id  text        NOT NULL,
    window_key text        NOT NULL,
    subject    text        NOT NULL,
    payload    bytea,
    headers    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    queued_at  timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    UNIQUE (tenant_id, id)
);
CREATE INDEX command_window_held ON command_window (tenant_id, window_key, seq)
    WHERE sent_at IS NULL;
CREATE INDEX command_window_in_flight ON command_window (tenant_id, window_key, sent_at)
    WHERE sent_at IS NOT NULL;

-- Move held commands of the given windows into the outbox while their window has room, oldest
-- first; returns how many moved (and wakes the relay when any did). Concurrent callers skip
-- each other's rows, so the window is a soft bound: it may briefly hold a few more than its
-- size, never fewer while commands are held and callers come (the services' sweep calls it
-- too). A plpgsql function: one round trip for every window.
CREATE OR REPLACE FUNCTION command_window_release(
    p_tenant text, p_keys text[], p_size integer
) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    k text;
    room integer;
    n integer;
    moved integer := 0;
BEGIN
    FOREACH k IN ARRAY p_keys LOOP
        SELECT p_size - count(*) INTO room FROM command_window
        WHERE tenant_id = p_tenant AND window_key = k AND sent_at IS NOT NULL;
        CONTINUE WHEN room <= 0;
        WITH next AS (
            SELECT seq, id, subject, payload, headers FROM command_window
            WHERE tenant_id = p_tenant AND window_key = k AND sent_at IS NULL
            ORDER BY seq LIMIT room FOR UPDATE SKIP LOCKED
        ), sent AS (
            UPDATE command_window w SET sent_at = now(), payload = NULL FROM next
            WHERE w.seq = next.seq
            RETURNING next.seq, next.id, next.subject, next.payload, next.headers
        )
        INSERT INTO outbox (id, tenant_id, subject, payload, headers)
        SELECT id, p_tenant, subject, payload, headers FROM sent ORDER BY seq;
        GET DIAGNOSTICS n = ROW_COUNT;
        moved := moved + n;
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
    freed text[];
BEGIN
    WITH gone AS (
        DELETE FROM command_window WHERE tenant_id = p_tenant AND id = ANY (p_answered)
        RETURNING window_key
    )
    SELECT array_agg(DISTINCT window_key) INTO freed FROM gone;
    INSERT INTO command_window (id, tenant_id, window_key, subject, payload, headers)
    SELECT i, p_tenant, k, s, p, p_headers
    FROM unnest(p_ids, p_keys, p_subjects, p_payloads) WITH ORDINALITY AS u(i, k, s, p, o)
    ORDER BY o
    ON CONFLICT (tenant_id, id) DO NOTHING;
    RETURN command_window_release(
        p_tenant,
        ARRAY(SELECT DISTINCT x FROM unnest(coalesce(freed, '{}') || p_keys) AS x ORDER BY x),
        p_size
    );
END;
$$;
