"""Outgoing webhook traffic: the `X-Hook-Secret` handshake and fire-and-forget notifications.

A notification is `{event_id, event_type, created_date, object_id}` POSTed as JSON to every
active receiver subscribed to the event type, signed with `X-Hook-Signature`: the hex
HMAC-SHA256 of the body under the receiver's hook secret (the one sent in the handshake).
Failed deliveries (transport error or non-2xx answer) are retried a few times, then dropped
with a log line.
"""

import asyncio
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

import httpx
import stamina
import structlog

from services.sandbox.revio.accounts import RevioAccount

log = structlog.get_logger(__name__)

EVENT_TYPES = ("customer.created", "customer.updated", "ticket.created", "ticket.updated")


@dataclass(frozen=True)
class DeliveryPolicy:
    attempts: int = 4
    wait_initial_s: float = 0.5
    wait_max_s: float = 5.0
    wait_jitter_s: float = 1.0
    timeout_s: float = 5.0


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    """Sends webhook requests through one lazily opened httpx client (transport injectable)."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: DeliveryPolicy = DeliveryPolicy(),
    ) -> None:
        self._transport = transport
        self._policy = policy
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=self._policy.timeout_s
            )
        return self._client

    async def confirm(self, url: str, receiver_id: int, secret: str) -> bool:
        """True when the receiver answers the handshake with 200 and the same `X-Hook-Secret`."""
        try:
            response = await self._http().post(
                url, json={"webhook_receiver_id": receiver_id}, headers={"X-Hook-Secret": secret}
            )
        except httpx.HTTPError as exc:
            log.info("webhook handshake failed", url=url, error=repr(exc))
            return False
        return response.status_code == 200 and response.headers.get("X-Hook-Secret") == secret

    def publish(self, account: RevioAccount, event_type: str, object_id: int) -> None:
        """Schedule the event's delivery to each active receiver subscribed to its type."""
        store = account.store
        event = {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "created_date": account.now(),
            "object_id": object_id,
        }
        for subscription in store.webhook_subscriptions.rows.values():
            receiver = store.webhook_receivers.get(subscription["webhook_receiver_id"])
            if subscription["event_type"] == event_type and receiver and receiver["active"]:
                task = asyncio.create_task(
                    self._deliver(receiver["url"], receiver["secret"], event)
                )
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def _deliver(self, url: str, secret: str, event: dict[str, object]) -> None:
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json", "X-Hook-Signature": sign(secret, body)}
        policy = self._policy
        try:
            async for attempt in stamina.retry_context(
                on=httpx.HTTPError,
                attempts=policy.attempts,
                timeout=None,
                wait_initial=policy.wait_initial_s,
                wait_max=policy.wait_max_s,
                wait_jitter=policy.wait_jitter_s,
            ):
                with attempt:
                    response = await self._http().post(url, content=body, headers=headers)
                    response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning(
                "webhook notification dropped", url=url, notification=event, error=repr(exc)
            )

    async def drain(self) -> None:
        """Wait until every scheduled notification was delivered or dropped."""
        while self._pending:
            await asyncio.gather(*self._pending)

    async def aclose(self) -> None:
        for task in self._pending:
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
