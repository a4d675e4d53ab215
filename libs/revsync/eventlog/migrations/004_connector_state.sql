-- Connector state that must survive restarts (revsync.connector).
-- Content hash of every object last reported, so only real changes are emitted and the
-- connector's own writes (whose resulting hash it records) do not echo back.
CREATE TABLE object_hashes (
    tenant_id text        NOT NULL,
    system    text        NOT NULL,
    entity    text        NOT NULL,
    object_id text        NOT NULL,
    hash      text        NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, system, entity, object_id)
);
-- Where each incremental poll resumes (e.g. tickets by updatedAt).
CREATE TABLE watermarks (
    tenant_id  text        NOT NULL,
    system     text        NOT NULL,
    resource   text        NOT NULL,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, system, resource)
);
-- Which replica polls which resource: a lease with an expiry.
CREATE TABLE leases (
    name       text        PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);
-- The outcome of every command a connector executed: a redelivered command is answered
-- from here, never sent to the vendor again.
CREATE TABLE command_outcomes (
    tenant_id  text        NOT NULL,
    command_id uuid        NOT NULL,
    subject    text        NOT NULL,
    status     text        NOT NULL,
    result     bytea       NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, command_id)
);
