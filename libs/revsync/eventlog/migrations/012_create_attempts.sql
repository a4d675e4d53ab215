-- Every marker a connector has tried to create a vendor record under (a ticket's source key,
-- a customer's RMM company id, a journal entry's note tag), committed before the vendor call
-- and outside the command's transaction. A create whose marker is not here has never been
-- tried, so no earlier attempt can have left a record behind and the look for the marker
-- (one vendor call, a search) can be skipped; a marker that is here (a crash or a lost answer
-- after the call, a retry after a failure) is looked for first, as before.
CREATE TABLE create_attempts (
    tenant_id text        NOT NULL,
    vendor    text        NOT NULL,
    marker    text        NOT NULL,
    first_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, vendor, marker)
);
