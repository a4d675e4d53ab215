-- Tenants: a projection of each tenant's `settings` stream (rebuildable by replay) ...
CREATE TABLE tenants (
    tenant_id  text        PRIMARY KEY,
    name       text        NOT NULL,
    enabled    boolean     NOT NULL DEFAULT true,
    config     jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- ... and their secrets, encrypted, deliberately outside the event log.
CREATE TABLE tenant_secrets (
    tenant_id  text        NOT NULL,
    name       text        NOT NULL,
    ciphertext bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);
