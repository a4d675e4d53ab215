"""Rev.io sandbox: webhook receivers (X-Hook-Secret handshake), subscriptions, notifications."""

import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from services.sandbox.revio import create_app
from services.sandbox.revio.notifier import DeliveryPolicy

HOOK_URL = "http://receiver.test/hooks"
FAST_RETRIES = DeliveryPolicy(attempts=3, wait_initial_s=0.01, wait_max_s=0.02, wait_jitter_s=0)
NEW_CUSTOMER = {
    "service_address": {"company_name": "Contoso"},
    "finance": {"bill_profile_id": 1, "billing_method": "EMAIL"},
    "profile": {"class": "BUSINESS"},
}


@dataclass
class Receiver:
    """An MSP-side webhook endpoint: answers handshakes, fails the first `failures` posts."""

    echo_secret: bool = True
    failures: int = 0
    secrets: list[str] = field(default_factory=list)
    attempts: int = 0
    delivered: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            secret = request.headers.get("X-Hook-Secret")
            if secret is not None:
                self.secrets.append(secret)
                echoed = {"X-Hook-Secret": secret} if self.echo_secret else {}
                return Response(status_code=200, headers=echoed)
            self.attempts += 1
            if self.attempts <= self.failures:
                return Response(status_code=503)
            self.delivered.append((dict(request.headers), await request.body()))
            return Response(status_code=200)

        return app

    def events(self) -> list[dict[str, object]]:
        return [json.loads(body) for _, body in self.delivered]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def revio_app(receiver: Receiver) -> FastAPI:
    transport = httpx.ASGITransport(app=receiver.app())
    return create_app(
        seed=7, size="tiny", webhook_transport=transport, delivery_policy=FAST_RETRIES
    )


@pytest.fixture
async def notifier_closed(revio_app: FastAPI) -> AsyncIterator[None]:
    yield
    await revio_app.state.revio.notifier.aclose()


async def register(revio: httpx.AsyncClient, *event_types: str) -> int:
    created = await revio.post(
        "/v1/WebhookReceivers", json={"url": HOOK_URL, "description": "revsync"}
    )
    assert created.status_code == 201
    receiver_id = int(created.json()["id"])
    for event_type in event_types:
        subscription = {"webhook_receiver_id": receiver_id, "event_type": event_type}
        response = await revio.post("/v1/WebhookSubscriptions", json=subscription)
        assert response.status_code == 201
    return receiver_id


async def test_a_receiver_echoing_the_secret_is_activated(
    revio: httpx.AsyncClient, receiver: Receiver, notifier_closed: None
) -> None:
    receiver_id = await register(revio)

    shown = (await revio.get(f"/v1/WebhookReceivers/{receiver_id}")).json()

    assert len(receiver.secrets) == 1
    assert re.fullmatch(r"[0-9a-f]{32}", receiver.secrets[0])
    assert shown["active"] is True
    assert shown["url"] == HOOK_URL
    assert "secret" not in shown


async def test_a_receiver_not_echoing_stays_inactive_until_activated(
    revio: httpx.AsyncClient, receiver: Receiver, notifier_closed: None
) -> None:
    receiver.echo_secret = False
    receiver_id = await register(revio)

    before = (await revio.get(f"/v1/WebhookReceivers/{receiver_id}")).json()
    activated = await revio.post(f"/v1/WebhookReceivers/{receiver_id}/activate")

    assert before["active"] is False
    assert activated.status_code == 200
    assert activated.json()["active"] is True


async def test_changes_are_posted_signed_to_subscribed_receivers(
    revio_app: FastAPI, revio: httpx.AsyncClient, receiver: Receiver, notifier_closed: None
) -> None:
    await register(revio, "customer.created", "customer.updated", "ticket.created")

    customer_id = (await revio.post("/v1/Customers", json=NEW_CUSTOMER)).json()["id"]
    await revio.patch(
        f"/v1/Customers/{customer_id}",
        json=[{"op": "replace", "path": "/email", "value": "it@contoso.example"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    ticket = {"customer_id": customer_id, "ticket_type_id": 1, "description": "Hello"}
    ticket_id = (await revio.post("/v1/Tickets", json=ticket)).json()["id"]
    await revio_app.state.revio.notifier.drain()

    events = sorted(receiver.events(), key=lambda event: str(event["event_type"]))
    assert [(event["event_type"], event["object_id"]) for event in events] == [
        ("customer.created", customer_id),
        ("customer.updated", customer_id),
        ("ticket.created", ticket_id),
    ]
    assert len({event["event_id"] for event in events}) == 3
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", str(event["created_date"]))
        for event in events
    )
    for headers, body in receiver.delivered:
        expected = hmac.new(receiver.secrets[0].encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-hook-signature"] == expected


async def test_nothing_is_sent_for_other_events_or_inactive_receivers(
    revio_app: FastAPI, revio: httpx.AsyncClient, receiver: Receiver, notifier_closed: None
) -> None:
    await register(revio, "ticket.updated")
    receiver.echo_secret = False
    await register(revio, "customer.created")

    await revio.post("/v1/Customers", json=NEW_CUSTOMER)
    await revio_app.state.revio.notifier.drain()

    assert receiver.delivered == []
    assert receiver.attempts == 0


async def test_a_failed_delivery_is_retried(
    revio_app: FastAPI, revio: httpx.AsyncClient, receiver: Receiver, notifier_closed: None
) -> None:
    await register(revio, "customer.created")
    receiver.failures = 2

    await revio.post("/v1/Customers", json=NEW_CUSTOMER)
    await revio_app.state.revio.notifier.drain()

    assert receiver.attempts == 3
    assert [event["event_type"] for event in receiver.events()] == ["customer.created"]


async def test_delivery_gives_up_after_the_last_attempt(
    revio_app: FastAPI, revio: httpx.AsyncClient, receiver: Receiver, notifier_closed: None
) -> None:
    await register(revio, "customer.created")
    receiver.failures = 99

    response = await revio.post("/v1/Customers", json=NEW_CUSTOMER)
    await revio_app.state.revio.notifier.drain()

    assert response.status_code == 201
    assert receiver.attempts == FAST_RETRIES.attempts
    assert receiver.delivered == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/WebhookReceivers", {"url": "ftp://receiver.test/hooks"}),
        ("/v1/WebhookReceivers", {"url": "http://\u0080/hooks"}),
        ("/v1/WebhookReceivers", {"url": "http://127.0.0.1:99999/hooks"}),
        ("/v1/WebhookReceivers", {"description": "no url"}),
        ("/v1/WebhookSubscriptions", {"webhook_receiver_id": 99, "event_type": "ticket.created"}),
        ("/v1/WebhookSubscriptions", {"webhook_receiver_id": 1, "event_type": "customer.deleted"}),
    ],
)
async def test_invalid_receivers_and_subscriptions_are_400(
    revio: httpx.AsyncClient, path: str, body: dict[str, object], notifier_closed: None
) -> None:
    await register(revio)

    response = await revio.post(path, json=body)

    assert response.status_code == 400
    assert response.json()["ok"] is False
