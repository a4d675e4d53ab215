-- Append in one round trip: idempotency check, optimistic version claim, insert and notify
-- in one server-side call (revsync.eventlog.store.append_in_transaction).
-- Errors: RS001 = not at the expected version; RS002 = some, not all, ids already recorded.
CREATE OR REPLACE FUNCTION revsync_append(
    p_tenant text, p_stream text, p_expected integer,
    p_types text[], p_data text[], p_metadata text[], p_ids uuid[]
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n        integer := cardinality(p_ids);
    recorded integer;
    last     integer;
BEGIN
    SELECT count(*) INTO recorded FROM events WHERE id = ANY (p_ids);
    IF recorded = n THEN
        RETURN (SELECT max(version) FROM events WHERE id = ANY (p_ids));
    ELSIF recorded > 0 THEN
        RAISE EXCEPTION '% of % events already recorded', recorded, n USING ERRCODE = 'RS002';
    END IF;
    IF p_expected = -1 THEN
        INSERT INTO streams AS s (tenant_id, stream, version) VALUES (p_tenant, p_stream, n)
        ON CONFLICT (tenant_id, stream) DO UPDATE SET version = s.version + n
        RETURNING version INTO last;
    ELSIF p_expected = 0 THEN
        INSERT INTO streams (tenant_id, stream, version) VALUES (p_tenant, p_stream, n)
        ON CONFLICT DO NOTHING RETURNING version INTO last;
    ELSE
        UPDATE streams SET version = version + n
        WHERE tenant_id = p_tenant AND stream = p_stream AND version = p_expected
        RETURNING version INTO last;
    END IF;
    IF last IS NULL THEN
        RAISE EXCEPTION 'stream % of tenant % is not at expected version %',
            p_stream, p_tenant, p_expected USING ERRCODE = 'RS001';
    END IF;
    INSERT INTO events (tenant_id, stream, version, type, data, metadata, id)
    SELECT p_tenant, p_stream, last - n + u.ord::integer, u.t, u.d::jsonb, u.m::jsonb, u.i
    FROM unnest(p_types, p_data, p_metadata, p_ids) WITH ORDINALITY AS u(t, d, m, i, ord);
    PERFORM pg_notify('revsync_events', p_tenant);
    RETURN last;
END;
$$;
-- audit queries filter a tenant's events by category; a per-type index only slowed appends
DROP INDEX IF EXISTS events_tenant_type;
