-- Read models of the company and asset services (projections, rebuildable by replay).
-- Each per-stream row also keeps the service's folded state (`folded`) and the stream's
-- version, so folding one more event is O(1) and gives exactly what the service's fold gives.

-- One row per Rev.io customer: stream `company-link:<revio_customer_id>`. Other services
-- read it (a link is `state = 'linked'`); only the company service writes it.
CREATE TABLE company_links (
    tenant_id         text        NOT NULL,
    revio_customer_id text        NOT NULL,
    revio_name        text,
    name_key          text,                  -- normalized name (matching)
    rmm_ref           text,                  -- RMM company id the customer names (strong key)
    state             text        NOT NULL,  -- unlinked held suggested creating linked rejected
    rule              text,                  -- the rule behind the state
    decided_by        text,                  -- the person behind the last manual decision
    rmm_company_id    text,                  -- linked, or best suggestion
    rmm_name          text,
    score             real,                  -- suggestion (or link) score 0-100
    candidates        jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- [{id, name, score}]
    excluded          text[]      NOT NULL DEFAULT '{}',         -- rejected or unlinked
    deleted           boolean     NOT NULL DEFAULT false,        -- deleted in Rev.io
    sync_run_id       uuid,                  -- last sync run that saw it
    last_event        text        NOT NULL,
    version           integer     NOT NULL,
    folded            jsonb       NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, revio_customer_id)
);
CREATE UNIQUE INDEX company_links_one_per_company ON company_links (tenant_id, rmm_company_id)
    WHERE state = 'linked';
CREATE INDEX company_links_state ON company_links (tenant_id, state);
CREATE INDEX company_links_name_key ON company_links (tenant_id, name_key);
CREATE INDEX company_links_run ON company_links (tenant_id, sync_run_id);

-- One row per RMM company known to the company service: stream `rmm-company:<id>`.
CREATE TABLE rmm_companies (
    tenant_id         text        NOT NULL,
    rmm_company_id    text        NOT NULL,
    name              text,
    name_key          text,
    revio_ref         text,                  -- Rev.io customer id it names (strong key)
    active            boolean,
    state             text        NOT NULL,  -- unlinked creating_customer linked
    rule              text,
    decided_by        text,
    revio_customer_id text,                  -- the customer it is linked to
    candidates        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    deleted           boolean     NOT NULL DEFAULT false,
    sync_run_id       uuid,
    last_event        text        NOT NULL,
    version           integer     NOT NULL,
    folded            jsonb       NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, rmm_company_id)
);
CREATE INDEX rmm_companies_state ON rmm_companies (tenant_id, state);
CREATE INDEX rmm_companies_name_key ON rmm_companies (tenant_id, name_key);

-- Every command the company service sent, so its result finds the stream it is about.
CREATE TABLE company_commands (
    tenant_id  text NOT NULL,
    command_id uuid NOT NULL,
    stream     text NOT NULL,
    verb       text NOT NULL,
    PRIMARY KEY (tenant_id, command_id)
);

-- Sync-run listings as the company service saw them: matching of a run's unlinked records
-- waits until both listings are complete (or quiet).
CREATE TABLE company_sync_runs (
    tenant_id     text        NOT NULL,
    sync_run_id   uuid        NOT NULL,
    revio_seen    integer     NOT NULL DEFAULT 0,
    revio_total   integer,
    rmm_seen      integer     NOT NULL DEFAULT 0,
    rmm_total     integer,
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    matched_at    timestamptz,
    counts        jsonb,
    PRIMARY KEY (tenant_id, sync_run_id)
);
CREATE INDEX company_sync_runs_unmatched ON company_sync_runs (last_seen_at)
    WHERE matched_at IS NULL;

-- One row per asset: stream `asset:<identifier>` (serial number, else the first endpoint id).
CREATE TABLE assets (
    tenant_id         text        NOT NULL,
    identifier        text        NOT NULL,
    endpoint_id       text,                  -- the current RMM endpoint
    rmm_company_id    text,
    category          text,
    hostname          text,
    state             text        NOT NULL,  -- observed skipped parked pending synced retired failed
    rule              text,
    revio_customer_id text,
    revio_asset_id    text,
    last_event        text        NOT NULL,
    version           integer     NOT NULL,
    folded            jsonb       NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, identifier)
);
CREATE INDEX assets_company ON assets (tenant_id, rmm_company_id);
CREATE INDEX assets_endpoint ON assets (tenant_id, endpoint_id);
CREATE INDEX assets_parked ON assets (tenant_id, rmm_company_id) WHERE state = 'parked';

-- Every endpoint id an asset had (a reinstalled agent keeps its asset).
CREATE TABLE asset_endpoints (
    tenant_id   text NOT NULL,
    endpoint_id text NOT NULL,
    identifier  text NOT NULL,
    PRIMARY KEY (tenant_id, endpoint_id)
);

CREATE TABLE asset_commands (
    tenant_id  text NOT NULL,
    command_id uuid NOT NULL,
    stream     text NOT NULL,
    verb       text NOT NULL,
    PRIMARY KEY (tenant_id, command_id)
);
