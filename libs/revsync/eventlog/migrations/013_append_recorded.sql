-- An append that answers with the events as recorded (positions, time, transaction), in the
-- columns and order `EventStore` reads them: a unit of work that folds its decisions into
-- projections needs them, and reading them back was one more round trip per decision. Same
-- contract as `revsync_append` (it calls it): a retry of recorded events answers with them.
-- A SQL function: each statement sees what the one before it wrote.
CREATE OR REPLACE FUNCTION revsync_append_recorded(
    p_tenant text, p_stream text, p_expected integer,
    p_types text[], p_data text[], p_metadata text[], p_ids uuid[]
) RETURNS TABLE (
    global_position bigint, tenant_id text, stream text, version integer, type text,
    data text, metadata text, id uuid, recorded_at double precision, tx_id xid8
) LANGUAGE sql VOLATILE AS $$
    SELECT revsync_append(p_tenant, p_stream, p_expected, p_types, p_data, p_metadata, p_ids);
    SELECT e.global_position, e.tenant_id, e.stream, e.version, e.type, e.data::text,
           e.metadata::text, e.id, date_part('epoch', e.recorded_at), e.tx_id
    FROM events e WHERE e.id = ANY (p_ids) ORDER BY e.global_position;
$$;
