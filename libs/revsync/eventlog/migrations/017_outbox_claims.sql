-- The relay claims a batch by setting its rows' `retry_at` for a few seconds (revsync.outbox:
-- one statement instead of a transaction held while publishing). No query looks rows up by
-- `retry_at`, and while it is indexed no claim can be a heap-only update: each would add an
-- entry to every index of the table. The index goes.
DROP INDEX IF EXISTS outbox_waiting;
