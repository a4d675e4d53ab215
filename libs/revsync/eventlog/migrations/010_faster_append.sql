-- Append without looking the ids up first: the unique index on events.id is the idempotency
-- check. The claim of versions and the insert run in a block that a unique violation on
-- the id rolls back (a subtransaction, far cheaper than an index probe per event on every
-- append); the ids are looked up only then, or when the stream is not at the expected
-- version (a retried append usually comes in at a stale one). Same contract as 008:
-- all ids already recorded -> their stream's version, no error; RS001 = not at the expected
-- version; RS002 = some, not all, ids already recorded.
CREATE OR REPLACE FUNCTION revsync_recorded_version(p_ids uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    recorded integer;
    last     integer;
BEGIN
    SELECT count(*), max(version) INTO recorded, last FROM events WHERE id = ANY (p_ids);
    IF recorded = cardinality(p_ids) THEN
        RETURN last;
    ELSIF recorded > 0 THEN
        RAISE EXCEPTION '% of % events already recorded', recorded, cardinality(p_ids)
            USING ERRCODE = 'RS002';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION revsync_append(
    p_tenant text, p_stream text, p_expected integer,
    p_types text[], p_data text[], p_metadata text[], p_ids uuid[]
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n        integer := cardinality(p_ids);
    last     integer;
    violated text;
BEGIN
    BEGIN
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
        IF last IS NULL THEN  -- nothing claimed: a retry of recorded events, or a conflict
            last := revsync_recorded_version(p_ids);
            IF last IS NULL THEN
                RAISE EXCEPTION 'stream % of tenant % is not at expected version %',
                    p_stream, p_tenant, p_expected USING ERRCODE = 'RS001';
            END IF;
            RETURN last;
        END IF;
        INSERT INTO events (tenant_id, stream, version, type, data, metadata, id)
        SELECT p_tenant, p_stream, last - n + u.ord::integer, u.t, u.d::jsonb, u.m::jsonb, u.i
        FROM unnest(p_types, p_data, p_metadata, p_ids) WITH ORDINALITY AS u(t, d, m, i, ord);
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS violated = CONSTRAINT_NAME;
        IF violated <> 'events_id_key' THEN
            RAISE;
        END IF;
        -- the claim is rolled back; all recorded: a no-op, some: RS002
        last := revsync_recorded_version(p_ids);
        IF last IS NULL THEN
            RAISE;  -- recorded by a transaction that rolled back since: let the caller retry
        END IF;
        RETURN last;
    END;
    PERFORM pg_notify('revsync_events', p_tenant);
    RETURN last;
END;
$$;

-- Every index on events is paid for by every append (about a fifth of an append's server
-- time each). This one kept a tenant's events in commit order for `read_all(tenant_id=)`,
-- which no service uses (they follow the whole log); such a read stays gap-safe and now
-- filters events_commit_order by tenant. Tenant-wide queries (export, deletion, audit)
-- keep events_tenant_category and the (tenant_id, stream, version) key.
DROP INDEX IF EXISTS events_tenant_commit_order;
