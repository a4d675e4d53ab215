"""Registering this service with Rev.io for webhooks, once per tenant, and keeping it so.

`POST /v1/WebhookReceivers {url, description}` makes Rev.io confirm the URL at once with an
`X-Hook-Secret` the receiver echoes (`webhooks.receive`); that secret, encrypted, then signs
every notification. The receiver URL carries a random token, so a handshake is accepted
only for a registration this service started. What was registered is kept per tenant in the
`watermarks` table (resource `webhook`), shared by replicas and kept across restarts; the
subscriptions to customer and ticket events are checked every reconciliation interval.
"""

import secrets
import time

import orjson
from pydantic import BaseModel
from revsync.connector import Lease, Watermarks
from revsync.logs import get_logger
from revsync.vendor import VendorError

from services.revio_connector.client.hooks import EVENT_TYPES
from services.revio_connector.tenants import TenantRuntime

log = get_logger(__name__)
STATE = "webhook"
RETRY_S = 60.0


class WebhookState(BaseModel):
    base_url: str
    token: str
    receiver_id: str | None = None
    sealed_secret: str | None = None  # Fernet token of the hook secret


async def load_state(watermarks: Watermarks) -> WebhookState | None:
    raw = await watermarks.get(STATE)
    return WebhookState.model_validate(orjson.loads(raw)) if raw else None


async def save_state(watermarks: Watermarks, state: WebhookState) -> None:
    await watermarks.set(STATE, state.model_dump_json())


def receiver_url(base_url: str, tenant_id: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/webhooks/revio/{tenant_id}/{token}"


class WebhookSetup:
    def __init__(self, runtime: TenantRuntime, watermarks: Watermarks, lease: Lease) -> None:
        self.runtime, self.watermarks, self.lease = runtime, watermarks, lease
        self.base_url = runtime.settings.revio_webhook_public_url
        self._next = 0.0

    async def maintain(self) -> None:
        """Called between polls: (re)register when due; failures wait a minute."""
        if not self.base_url or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.runtime.settings.revio_reconcile_interval_s
        try:
            await self.ensure()
        except VendorError as error:
            self._next = time.monotonic() + RETRY_S
            log.warning("Rev.io webhook set-up failed", tenant_id=self.runtime.tenant.id,
                        error=str(error), payload=error.payload)  # fmt: skip

    async def ensure(self) -> bool:
        """An active receiver with every subscription; False if not (polling remains)."""
        tenant_id, api = self.runtime.tenant.id, self.runtime.api
        if not self.base_url or not await self.lease.acquire(f"revio:{tenant_id}:webhook", 120):
            return False
        state = await load_state(self.watermarks)
        if state and state.base_url == self.base_url and state.receiver_id and state.sealed_secret:
            active = await api.receiver_active(state.receiver_id)
            if active is False:
                await api.activate_receiver(state.receiver_id)
            if active is not None:
                await self._subscribe(state.receiver_id)
                return True
        state = WebhookState(base_url=self.base_url, token=secrets.token_urlsafe(18))
        await save_state(self.watermarks, state)
        url = receiver_url(self.base_url, tenant_id, state.token)
        receiver_id = await api.register_receiver(url, f"revsync {tenant_id}")
        confirmed = await load_state(self.watermarks)
        if confirmed is None or not confirmed.sealed_secret:
            self._next = time.monotonic() + RETRY_S
            log.warning("Rev.io webhook handshake never reached us; relying on polling",
                        tenant_id=tenant_id, url=url)  # fmt: skip
            return False
        await save_state(self.watermarks, confirmed.model_copy(update={"receiver_id": receiver_id}))
        await self._subscribe(receiver_id)
        log.info("Rev.io webhooks registered", tenant_id=tenant_id, receiver_id=receiver_id)
        return True

    async def _subscribe(self, receiver_id: str) -> None:
        have = await self.runtime.api.subscribed_events(receiver_id)
        for event_type in EVENT_TYPES:
            if event_type not in have:
                await self.runtime.api.subscribe(receiver_id, event_type)
