"""The OAuth token of each RMM client id, shared by every replica through a NATS KV bucket.

The vendor locks an API key that asks for too many tokens (423), so there is one token per
client id for the whole deployment: replicas read it from the bucket, and only the holder of
the key's refresh lock asks the vendor for a new one. Tokens are encrypted at rest (Fernet,
`REVSYNC_SECRET_KEY`). A lock whose holder stopped renewing it is taken over.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

import orjson
from nats.js.errors import BadRequestError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from revsync.connector.rmm_tokens import MISSING, lock_key
from revsync.secrets_box import SecretBox

LOCK_STALE_S = 30.0
LOCK_RENEW_S = 10.0


@dataclass(frozen=True)
class CachedToken:
    value: str | None
    expires_at: float = 0.0  # epoch seconds
    blocked_until: float = 0.0  # no token requests before this (after a refusal)
    blocked_kind: str | None = None
    blocked_reason: str | None = None


class KvTokenStore:
    def __init__(self, kv: KeyValue, box: SecretBox) -> None:
        self.kv, self.box = kv, box

    async def read(self, key: str) -> CachedToken | None:
        try:
            entry = await self.kv.get(key)
        except MISSING:
            return None
        if not entry.value:
            return None
        return CachedToken(**orjson.loads(self.box.open(entry.value)))

    async def write(self, key: str, token: CachedToken) -> None:
        await self.kv.put(key, self.box.seal(orjson.dumps(asdict(token)).decode()))

    async def discard(self, key: str, value: str) -> None:
        """Forget the token `value` (refused by the vendor), unless it was replaced already."""
        try:
            entry = await self.kv.get(key)
        except MISSING:
            return
        current = CachedToken(**orjson.loads(self.box.open(entry.value))) if entry.value else None
        if current is not None and current.value == value:
            with contextlib.suppress(BadRequestError):  # wrong last sequence: replaced
                await self.kv.delete(key, last=entry.revision)

    @contextlib.asynccontextmanager
    async def refresh_lock(self, key: str, holder: str) -> AsyncIterator[bool]:
        """Yields True to the one caller that may ask the vendor for a token now."""
        lock = lock_key(key)
        taken = await self._take(lock, holder)
        if not taken:
            yield False
            return
        renew = asyncio.create_task(self._renew(lock, holder))
        try:
            yield True
        finally:
            renew.cancel()
            with contextlib.suppress(Exception):
                await self.kv.delete(lock)

    async def _take(self, lock: str, holder: str) -> bool:
        stamp = orjson.dumps({"holder": holder, "at": time.time()})
        try:
            await self.kv.create(lock, stamp)
            return True
        except KeyWrongLastSequenceError:
            pass
        try:
            entry = await self.kv.get(lock)
        except MISSING:
            return False  # released meanwhile: the caller tries again shortly
        held = orjson.loads(entry.value or b"{}")
        if time.time() - float(held.get("at", 0)) < LOCK_STALE_S:
            return False
        try:  # the holder stopped renewing: take the lock over
            await self.kv.update(lock, stamp, last=entry.revision)
            return True
        except KeyWrongLastSequenceError:
            return False

    async def _renew(self, lock: str, holder: str) -> None:
        while True:
            await asyncio.sleep(LOCK_RENEW_S)
            await self.kv.put(lock, orjson.dumps({"holder": holder, "at": time.time()}))
