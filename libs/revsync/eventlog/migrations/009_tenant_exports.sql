-- Exports of a tenant's event log (`GET /api/tenants/{id}/events`). A tenant is deleted only
-- when an export holds every one of its events: the deletion compares what it removes with
-- the newest export (its highest position and its number of events).
CREATE TABLE tenant_exports (
    tenant_id     text        NOT NULL,
    exported_at   timestamptz NOT NULL DEFAULT now(),
    exported_by   text        NOT NULL,
    last_position bigint      NOT NULL,  -- highest global_position exported (0: the log was empty)
    events        bigint      NOT NULL,  -- how many events the export held
    PRIMARY KEY (tenant_id, exported_at)
);
