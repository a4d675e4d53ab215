-- Vendor rate limits shared by every replica of a connector (revsync.vendor.limiter).
CREATE TABLE rate_limiter (
    tenant_id text        NOT NULL,
    vendor    text        NOT NULL,
    bucket    text        NOT NULL,
    tat       timestamptz NOT NULL,  -- theoretical arrival time of the next free slot
    PRIMARY KEY (tenant_id, vendor, bucket)
);
CREATE TABLE rate_daily (
    tenant_id text    NOT NULL,
    vendor    text    NOT NULL,
    bucket    text    NOT NULL,
    day       date    NOT NULL,
    used      integer NOT NULL,
    PRIMARY KEY (tenant_id, vendor, bucket, day)
);
