-- When each content hash was last written, in the order of the writes (a sequence, not a
-- clock: no clock step can reorder it). A watcher takes a number before it reads its
-- vendor and, once it has read, leaves alone every object whose hash was written after
-- that (`ObjectHashes.get_many_written_after`): it used to read every hash of the entity
-- before each poll to tell, tens of thousands of rows a poll for a tenant with years of
-- tickets. Rows already there count as written before any mark (0): adding the column with
-- a constant default rewrites no row, however large the table.
CREATE SEQUENCE object_hash_writes MINVALUE 1;
ALTER TABLE object_hashes ADD COLUMN written bigint NOT NULL DEFAULT 0;
ALTER TABLE object_hashes ALTER COLUMN written SET DEFAULT nextval('object_hash_writes');
