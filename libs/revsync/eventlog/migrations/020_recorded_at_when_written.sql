-- An event's `recorded_at` is when its row was written, not when its transaction began.
-- `now()` is the transaction's start: a unit of work that waited (on a stream's row lock, on
-- the writers' lock while a replay ran) recorded its events with the time it began waiting,
-- behind events written meanwhile, so the audit trail (newest first, by global position) read
-- times that went back and forth. `clock_timestamp()` is read per row, when the row's global
-- position is taken too, so the two agree but for writers racing within microseconds.
-- Events already recorded keep their time. Changing a default rewrites no row.
ALTER TABLE events ALTER COLUMN recorded_at SET DEFAULT clock_timestamp();
