-- The event log: the audit trail and the source every projection is rebuilt from.
CREATE TABLE events (
    global_position bigserial PRIMARY KEY,
    tenant_id       text        NOT NULL,
    stream          text        NOT NULL,
    category        text        GENERATED ALWAYS AS (split_part(stream, ':', 1)) STORED,
    version         integer     NOT NULL CHECK (version >= 1),
    type            text        NOT NULL,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    id              uuid        NOT NULL UNIQUE,
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, stream, version)
);
-- Readers follow (tx_id, global_position): the order in which nothing can appear behind them.
CREATE INDEX events_commit_order ON events (tx_id, global_position);
CREATE INDEX events_tenant_commit_order ON events (tenant_id, tx_id, global_position);
CREATE INDEX events_tenant_category ON events (tenant_id, category, global_position);
CREATE INDEX events_tenant_type ON events (tenant_id, type, global_position);

-- One row per stream: its current version, the optimistic lock for appends.
CREATE TABLE streams (
    tenant_id text    NOT NULL,
    stream    text    NOT NULL,
    version   integer NOT NULL,
    PRIMARY KEY (tenant_id, stream)
);

-- Outgoing messages, committed with the decisions that caused them; a relay publishes them.
CREATE TABLE outbox (
    seq        bigserial   PRIMARY KEY,
    id         uuid        NOT NULL UNIQUE,
    tenant_id  text        NOT NULL,
    subject    text        NOT NULL,
    payload    bytea       NOT NULL,
    headers    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Messages already processed, per consumer: a redelivery is acknowledged, not decided twice.
CREATE TABLE inbox (
    tenant_id    text        NOT NULL,
    consumer     text        NOT NULL,
    message_id   uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, consumer, message_id)
);

-- Where each projection or subscription has read up to.
CREATE TABLE checkpoints (
    name            text   PRIMARY KEY,
    tx_id           xid8   NOT NULL,
    global_position bigint NOT NULL
);
