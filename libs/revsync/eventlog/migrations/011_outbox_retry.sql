-- A row the relay could not publish waits and is tried again later, with a growing pause,
-- instead of failing its whole batch again and again: one row whose subject no stream holds
-- (or that JetStream refuses) holds up no other row, and nothing is dropped. The error stays
-- on the row for the operator (console health: `outbox`).
ALTER TABLE outbox
    ADD COLUMN attempts   integer     NOT NULL DEFAULT 0,
    ADD COLUMN retry_at   timestamptz,
    ADD COLUMN last_error text;

CREATE INDEX outbox_waiting ON outbox (retry_at) WHERE retry_at IS NOT NULL;
