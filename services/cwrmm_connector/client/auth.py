"""OAuth2 client credentials (`POST /v1/token`, JSON body): one cached token per client id,
refreshed before it expires, requested by one replica at a time.

A refused token request (locked out, bad credentials) blocks further requests for a while,
for every replica, so that retries never deepen a vendor lock-out.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from revsync.logs import get_logger
from revsync.vendor import VendorError, VendorErrorKind

from services.cwrmm_connector.client.token_store import CachedToken, KvTokenStore

log = get_logger(__name__)
VENDOR = "cwrmm"
BLOCK_AFTER_REFUSAL_S = {
    VendorErrorKind.RATE_LIMITED: 60.0,
    VendorErrorKind.UNAUTHORIZED: 60.0,
    VendorErrorKind.REJECTED: 60.0,
}
WAIT_FOR_PEER_S = 150.0
STILL_USABLE_S = 10.0
Fetch = Callable[[], Awaitable[CachedToken]]


class TokenProvider:
    def __init__(
        self, store: KvTokenStore, key: str, fetch: Fetch, refresh_margin_s: float, tenant_id: str
    ) -> None:
        self.store, self.key, self.fetch = store, key, fetch
        self.margin_s, self.tenant_id = refresh_margin_s, tenant_id
        self.holder = f"{uuid.uuid4()}"
        self._local: CachedToken | None = None

    def _fresh(self, token: CachedToken | None) -> bool:
        return bool(token and token.value and token.expires_at - self.margin_s > time.time())

    @staticmethod
    def _usable(token: CachedToken | None) -> bool:
        return bool(token and token.value and token.expires_at - time.time() > STILL_USABLE_S)

    async def token(self) -> str:
        if self._fresh(self._local):
            return self._local.value  # type: ignore[union-attr,return-value]
        deadline = time.monotonic() + WAIT_FOR_PEER_S
        while True:
            cached = await self.store.read(self.key)
            if self._fresh(cached) or (self._blocked(cached) and self._usable(cached)):
                self._local = cached if self._fresh(cached) else None
                return cached.value  # type: ignore[union-attr,return-value]
            self._raise_if_blocked(cached)
            async with self.store.refresh_lock(self.key, self.holder) as mine:
                if mine:
                    return await self._refresh()
            if self._usable(cached):  # a peer is refreshing; the current token works meanwhile
                return cached.value  # type: ignore[union-attr,return-value]
            if time.monotonic() > deadline:
                raise VendorError(
                    VendorErrorKind.UNAVAILABLE, VENDOR, "token", "token refresh did not finish"
                )
            await asyncio.sleep(0.2)

    async def _refresh(self) -> str:
        cached = await self.store.read(self.key)  # a peer may have refreshed before we locked
        if self._fresh(cached) or (self._blocked(cached) and self._usable(cached)):
            return cached.value  # type: ignore[union-attr,return-value]
        self._raise_if_blocked(cached)
        still_usable = cached if self._usable(cached) else None
        try:
            token = await self.fetch()
        except VendorError as error:
            block_s = BLOCK_AFTER_REFUSAL_S.get(error.kind)
            if block_s is not None:
                blocked = CachedToken(
                    still_usable.value if still_usable else None,
                    still_usable.expires_at if still_usable else 0.0,
                    time.time() + block_s,
                    error.kind.value,
                    str(error),
                )
                await self.store.write(self.key, blocked)
            log.warning("RMM token request failed", tenant_id=self.tenant_id, error=str(error))
            if still_usable is not None:
                return still_usable.value  # type: ignore[return-value]
            raise
        await self.store.write(self.key, token)
        self._local = token
        return token.value  # type: ignore[return-value]

    @staticmethod
    def _blocked(cached: CachedToken | None) -> bool:
        return cached is not None and cached.blocked_until > time.time()

    def _raise_if_blocked(self, cached: CachedToken | None) -> None:
        if cached is None or not self._blocked(cached):
            return
        kind = VendorErrorKind(cached.blocked_kind or VendorErrorKind.RATE_LIMITED.value)
        left = cached.blocked_until - time.time()
        raise VendorError(
            kind,
            VENDOR,
            "token",
            f"token requests paused {left:.0f}s more: {cached.blocked_reason}",
        )

    async def invalidate(self, value: str) -> None:
        """The vendor refused `value` (401): forget it here and for every replica."""
        if self._local is not None and self._local.value == value:
            self._local = None
        await self.store.discard(self.key, value)
