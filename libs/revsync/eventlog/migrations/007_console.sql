-- The console (services/console): users, tokens and sessions, sync runs and their
-- progress.

-- Console users. An operator sees every tenant (tenant_id NULL); anyone else belongs to one.
CREATE TABLE console_users (
    username      text        PRIMARY KEY,
    tenant_id     text,
    password_hash text        NOT NULL,  -- scrypt$<n>$<r>$<p>$<salt>$<hash>
    role          text        NOT NULL CHECK (role IN ('operator', 'admin', 'viewer')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (role = 'operator' OR tenant_id IS NOT NULL)
);

-- Bearer tokens of the API and session cookies of the UI, stored as their SHA-256 only.
CREATE TABLE api_tokens (
    token_hash      text        PRIMARY KEY,
    username        text        NOT NULL REFERENCES console_users ON DELETE CASCADE,
    kind            text        NOT NULL CHECK (kind IN ('api', 'session')),
    label           text,
    csrf_token      text,        -- sessions only: what every unsafe request must echo
    selected_tenant text,        -- sessions of operators: the tenant the UI is looking at
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    last_used_at    timestamptz
);
CREATE INDEX api_tokens_username ON api_tokens (username);

-- Projection of the `sync-run:<id>` streams (rebuilt by `revsync replay`).
CREATE TABLE sync_runs (
    tenant_id        text        NOT NULL,
    run_id           uuid        NOT NULL,
    version          integer     NOT NULL,
    kind             text        NOT NULL,  -- initial or full
    phase            text        NOT NULL,  -- listing, deciding, done, failed, cancelled
    started_at       timestamptz NOT NULL,
    started_by       text        NOT NULL,
    rmm_command_id   uuid,
    revio_command_id uuid,
    listings         jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- system -> {status, reason}
    errors           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    counts           jsonb,                                      -- final counts, when done
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL,  -- when the run's last event was recorded
    PRIMARY KEY (tenant_id, run_id)
);
-- At most one run in progress per tenant: a second start is refused, never duplicated.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (tenant_id)
    WHERE phase IN ('listing', 'deciding');

-- `seen` changes received per run and entity kind (consumer state, like the inbox: counted
-- once per message id; not a projection, so `replay` leaves it alone).
CREATE TABLE sync_run_seen (
    tenant_id  text        NOT NULL,
    run_id     uuid        NOT NULL,
    kind       text        NOT NULL,  -- <system>.<entity>, e.g. rmm.company
    seen       integer     NOT NULL,
    total      integer,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, run_id, kind)
);

-- Decisions of a sync run (the run's "decided" progress) are found by their sync_run_id.
CREATE INDEX events_sync_run ON events (tenant_id, (data ->> 'sync_run_id'))
    WHERE data ? 'sync_run_id';
