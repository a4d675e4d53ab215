-- A connector's answer to a command it executed, one round trip instead of three: its outcome
-- (`command_outcomes`: a redelivery is answered from it), the audit event `CommandExecuted`
-- on the stream `command:<id>` (appended by `revsync_append`, same contract), and the
-- `Result` in the outbox (with the relay's wake-up, as a unit of work writes it). Called
-- inside the command's unit of work, so it commits with the inbox record or not at all.
CREATE OR REPLACE FUNCTION command_executed(
    p_tenant text, p_command_id uuid, p_subject text, p_status text, p_result bytea,
    p_event_id uuid, p_event_data text, p_event_metadata text,
    p_result_id uuid, p_result_subject text, p_headers jsonb
) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO command_outcomes (tenant_id, command_id, subject, status, result)
    VALUES (p_tenant, p_command_id, p_subject, p_status, p_result);
    PERFORM revsync_append(
        p_tenant, 'command:' || p_command_id, -1,
        ARRAY['CommandExecuted'], ARRAY[p_event_data], ARRAY[p_event_metadata], ARRAY[p_event_id]
    );
    INSERT INTO outbox (id, tenant_id, subject, payload, headers)
    VALUES (p_result_id, p_tenant, p_result_subject, p_result, p_headers);
    PERFORM pg_notify('revsync_outbox', '');
END;
$$;
