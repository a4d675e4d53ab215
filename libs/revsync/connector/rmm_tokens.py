"""Where the RMM connector caches the OAuth token of each RMM connection: one token per base
URL and client id for the whole deployment, in a NATS key-value bucket, encrypted
(services/cwrmm_connector/client/token_store.py reads and refreshes it). Named here so that
deleting a tenant can forget its token (services/console/tenant_token.py)."""

import hashlib

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue

BUCKET = "revsync_rmm_tokens"
MISSING = (KeyNotFoundError, KeyDeletedError)


def token_key(base_url: str, client_id: str) -> str:
    """The key of one connection's token (a digest: a client id is not a valid key)."""
    digest = hashlib.blake2b(f"{base_url}|{client_id}".encode(), digest_size=16).hexdigest()
    return f"tok_{digest}"


def lock_key(key: str) -> str:
    """The key of the lock held by the one replica refreshing the token at `key`."""
    return f"lock_{key}"


async def open_bucket(js: JetStreamContext) -> KeyValue:
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        return await js.create_key_value(bucket=BUCKET, history=1)


async def forget_token(js: JetStreamContext, base_url: str, client_id: str) -> bool:
    """Purge the token cached for one connection and its refresh lock, history and all;
    whether a token was cached. NATS errors pass through."""
    try:
        kv = await js.key_value(BUCKET)
    except BucketNotFoundError:
        return False  # no connector ever cached a token
    key = token_key(base_url, client_id)
    try:
        cached = bool((await kv.get(key)).value)
    except MISSING:
        cached = False
    for stale in (key, lock_key(key)):
        await kv.purge(stale)
    return cached


async def token_cached(js: JetStreamContext, base_url: str, client_id: str) -> bool:
    """Whether a token is cached for the connection (what `forget_token` would forget)."""
    try:
        kv = await js.key_value(BUCKET)
        return bool((await kv.get(token_key(base_url, client_id))).value)
    except (BucketNotFoundError, *MISSING):
        return False
