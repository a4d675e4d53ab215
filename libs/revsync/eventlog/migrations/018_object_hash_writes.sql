-- When each content hash was last written, in the order of the writes (a sequence, not a
-- clock: no clock step can reorder it). A watcher takes a number before it reads its
-- vendor and, once it has read, leaves alone every object whose hash was written after
-- that (`ObjectHashes.written_after`): it used to read every hash of the entity before each
-- poll to tell, tens of thousands of rows a poll for a tenant with years of tickets.
CREATE SEQUENCE object_hash_writes;
ALTER TABLE object_hashes
    ADD COLUMN written bigint NOT NULL DEFAULT nextval('object_hash_writes');
