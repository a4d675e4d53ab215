"""`/v1/WebhookReceivers` (with the `X-Hook-Secret` handshake) and `/v1/WebhookSubscriptions`.

A new receiver is confirmed at once: the sandbox POSTs to its URL with `X-Hook-Secret`; an
answer of 200 echoing that header activates it, anything else leaves it inactive until
`POST /v1/WebhookReceivers/{id}/activate`. The secret is never shown again.
"""

import secrets
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict
from starlette.requests import Request

from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.auth import require
from services.sandbox.revio.bodies import json_body, parse_as
from services.sandbox.revio.envelopes import created, single
from services.sandbox.revio.errors import RevioError
from services.sandbox.revio.notifier import EVENT_TYPES
from services.sandbox.revio.sandbox import sandbox_of
from services.sandbox.revio.search import Searchable, search_page
from services.sandbox.revio.store import Record

router = APIRouter(prefix="/v1")
ReceiverReader = Annotated[RevioAccount, Depends(require("WebhookReceivers", "read"))]
ReceiverWriter = Annotated[RevioAccount, Depends(require("WebhookReceivers", "write"))]
SubscriptionReader = Annotated[RevioAccount, Depends(require("WebhookSubscriptions", "read"))]
SubscriptionWriter = Annotated[RevioAccount, Depends(require("WebhookSubscriptions", "write"))]

RECEIVER_SEARCHABLES = [Searchable("webhook_receiver_id", "id"), Searchable("active", "bool")]
SUBSCRIPTION_SEARCHABLES = [
    Searchable("webhook_subscription_id", "id"),
    Searchable("webhook_receiver_id", "id"),
    Searchable("event_type", "exact"),
]


def _http_url(url: str) -> str:
    """`url` if the sandbox can POST to it: absolute, http(s), a valid host and port."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("must be an absolute http(s) URL")
    if parsed.port is not None and not 0 < parsed.port < 65_536:
        raise ValueError("has a port out of range")
    return url


class ReceiverFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, AfterValidator(_http_url)]
    description: str = ""


class SubscriptionFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_receiver_id: int
    event_type: str


def receiver_view(record: Record) -> Record:
    return {name: value for name, value in record.items() if name != "secret"}


@router.get("/WebhookReceivers")
async def list_receivers(request: Request, account: ReceiverReader) -> dict[str, Any]:
    rows = list(account.store.webhook_receivers.rows.values())
    zone = account.time_zone
    return search_page(request.query_params, rows, RECEIVER_SEARCHABLES, zone, receiver_view)


@router.get("/WebhookReceivers/{webhook_receiver_id}")
async def get_receiver(
    request: Request, webhook_receiver_id: int, account: ReceiverReader
) -> Record:
    receiver = account.store.webhook_receivers.require(webhook_receiver_id, "Webhook receiver")
    return single(request, f"WebhookReceivers/{webhook_receiver_id}", receiver_view(receiver))


@router.post("/WebhookReceivers")
async def post_receiver(request: Request, account: ReceiverWriter) -> JSONResponse:
    fields = parse_as(ReceiverFields, await json_body(request))
    secret = secrets.token_hex(16)
    receiver = account.store.webhook_receivers.insert(
        {**fields.model_dump(), "active": False, "created_date": account.now(), "secret": secret}
    )
    receiver_id = receiver["webhook_receiver_id"]
    notifier = sandbox_of(request).notifier
    receiver["active"] = await notifier.confirm(fields.url, receiver_id, secret)
    return created(request, "WebhookReceivers", receiver_id)


@router.post("/WebhookReceivers/{webhook_receiver_id}/activate")
async def activate_receiver(
    request: Request, webhook_receiver_id: int, account: ReceiverWriter
) -> Record:
    receiver = account.store.webhook_receivers.require(webhook_receiver_id, "Webhook receiver")
    receiver["active"] = True
    return single(request, f"WebhookReceivers/{webhook_receiver_id}", receiver_view(receiver))


@router.get("/WebhookSubscriptions")
async def list_subscriptions(request: Request, account: SubscriptionReader) -> dict[str, Any]:
    rows = list(account.store.webhook_subscriptions.rows.values())
    zone = account.time_zone
    return search_page(request.query_params, rows, SUBSCRIPTION_SEARCHABLES, zone, dict)


@router.get("/WebhookSubscriptions/{webhook_subscription_id}")
async def get_subscription(
    request: Request, webhook_subscription_id: int, account: SubscriptionReader
) -> Record:
    subscription = account.store.webhook_subscriptions.require(
        webhook_subscription_id, "Subscription"
    )
    return single(request, f"WebhookSubscriptions/{webhook_subscription_id}", dict(subscription))


@router.post("/WebhookSubscriptions")
async def post_subscription(request: Request, account: SubscriptionWriter) -> JSONResponse:
    fields = parse_as(SubscriptionFields, await json_body(request))
    if fields.webhook_receiver_id not in account.store.webhook_receivers.rows:
        raise RevioError(400, f"Webhook receiver {fields.webhook_receiver_id} does not exist.")
    if fields.event_type not in EVENT_TYPES:
        raise RevioError(400, f"event_type must be one of: {', '.join(EVENT_TYPES)}.")
    subscription = account.store.webhook_subscriptions.insert(
        {**fields.model_dump(), "created_date": account.now()}
    )
    return created(request, "WebhookSubscriptions", subscription["webhook_subscription_id"])
