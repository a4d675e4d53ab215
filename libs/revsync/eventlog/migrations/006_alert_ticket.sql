-- Read models of the alert and ticket services (projections, rebuildable by replay).
-- Each row also keeps the service's folded state (`fold`), so folding one more event is
-- O(1) and gives exactly what the service's own fold gives.

-- One row per (endpoint, alert condition) of a tenant: stream `alert:<endpoint>:<condition>`.
CREATE TABLE alert_tickets (
    tenant_id         text        NOT NULL,
    alert_key         text        NOT NULL,  -- <endpoint>:<condition>
    endpoint_id       text,
    condition_id      text,
    company_id        text,
    customer_id       text,
    rmm_ticket_id     text,
    revio_ticket_id   text,
    state             text        NOT NULL,  -- skipped parked requested open cleared closed failed
    reason            text,                  -- why skipped, parked or failed
    severity          text,
    summary           text,
    episode           integer     NOT NULL DEFAULT 0,
    count             integer     NOT NULL DEFAULT 0,
    last_event        text        NOT NULL,
    version           integer     NOT NULL,
    fold              jsonb       NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, alert_key)
);
CREATE INDEX alert_tickets_parked ON alert_tickets (tenant_id, company_id)
    WHERE state = 'parked';
CREATE INDEX alert_tickets_revio_ticket ON alert_tickets (tenant_id, revio_ticket_id);
CREATE INDEX alert_tickets_rmm_ticket ON alert_tickets (tenant_id, rmm_ticket_id);

-- Every command the alert service sent, so a result finds the alert it is about.
CREATE TABLE alert_commands (
    tenant_id  text NOT NULL,
    command_id uuid NOT NULL,
    alert_key  text NOT NULL,
    verb       text NOT NULL,
    PRIMARY KEY (tenant_id, command_id)
);

-- One row per synced ticket pair: stream `ticket-link:<origin>-<origin ticket id>`.
CREATE TABLE ticket_links (
    tenant_id         text        NOT NULL,
    link_key          text        NOT NULL,  -- rmm-<id> or revio-<id>: where it came from
    origin            text,                  -- rmm or revio
    rmm_ticket_id     text,
    revio_ticket_id   text,
    rmm_company_id    text,
    revio_customer_id text,
    state             text        NOT NULL,  -- skipped requested linked failed deleted
    reason            text,
    status            text,                  -- agreed status category: New InProgress Closed
    notes_carried     integer     NOT NULL DEFAULT 0,
    last_event        text        NOT NULL,
    version           integer     NOT NULL,
    fold              jsonb       NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, link_key)
);
CREATE INDEX ticket_links_rmm_ticket ON ticket_links (tenant_id, rmm_ticket_id);
CREATE INDEX ticket_links_revio_ticket ON ticket_links (tenant_id, revio_ticket_id);

-- Every command the ticket service sent, so a result finds the link it is about.
CREATE TABLE ticket_commands (
    tenant_id  text NOT NULL,
    command_id uuid NOT NULL,
    link_key   text NOT NULL,
    verb       text NOT NULL,
    PRIMARY KEY (tenant_id, command_id)
);
