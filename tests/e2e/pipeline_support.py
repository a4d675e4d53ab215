"""Helpers for the alert and ticket end-to-end tests: finding what revsync wrote in each
vendor (by the markers it writes), the audit trail of one alert, sandbox faults scoped to one
tenant's account, and re-delivering a message the way a crashed or duplicating producer
would."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
import orjson
from nats.js.api import ConsumerConfig, DeliverPolicy

from tests.e2e.stack import E2EStack, E2ETenant, eventually

SOURCE_KEY_FIELD = "RevSync Source Key"  # services/revio_connector/markers.py
RMM_TICKETS = "/api/platform/v2/service/ticketing/tickets"
RMM_LOOKUPS = "/api/platform/v1/service/ticketing"
WAIT_S = 90.0


async def ready_tenant(stack: E2EStack, seed: int, **settings: Any) -> E2ETenant:
    """A new tenant after its initial sync matched and linked its companies.

    The run itself completes only after 30 s without a decision (`SYNC_QUIET_S`), which would
    double these tests' runtime; they need the links, not the end of the run."""
    tenant = await stack.new_tenant(seed=seed, **settings)
    await sync_until_linked(tenant)
    return tenant


async def sync_until_linked(tenant: E2ETenant) -> None:
    run = await tenant.console("POST", "/api/sync-runs", json={"kind": "initial"})

    async def linked() -> bool:
        progress = await tenant.console("GET", f"/api/sync-runs/{run['id']}")
        assert progress["phase"] not in ("failed", "cancelled"), progress
        if progress["phase"] not in ("deciding", "done"):
            return False
        return bool(await tenant.linked_endpoints())

    await eventually(linked, within_s=120, every_s=0.5)


async def stays(check: Callable[[], Awaitable[Any]], for_s: float, every_s: float = 1.0) -> None:
    """`check` holds now and still holds `for_s` later (each call asserts)."""
    deadline = time.monotonic() + for_s
    while True:
        await check()
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(every_s)


# --- links and endpoints ---------------------------------------------------------------------


async def linked_endpoints(
    tenant: E2ETenant, count: int | None = 1
) -> list[tuple[dict[str, Any], str]]:
    """`count` (None: all) platform endpoints of companies linked to a Rev.io customer, each
    with that customer's id."""
    found = await tenant.linked_endpoints()
    assert found and len(found) >= (count or 1), f"{len(found)} endpoints, {count} wanted"
    return found[:count]


async def unlinked_company(tenant: E2ETenant) -> dict[str, Any] | None:
    linked = await tenant.links()
    return next((c for c in await tenant.rmm_companies() if str(c["id"]) not in linked), None)


# --- Rev.io ------------------------------------------------------------------------------------


def source_key(ticket: dict[str, Any]) -> str | None:
    """The marker revsync writes on every Rev.io ticket it creates."""
    for entry in ticket.get("fields") or []:
        if entry.get("label") == SOURCE_KEY_FIELD:
            return str(entry.get("value"))
    return None


def alert_prefix(endpoint: dict[str, Any] | None = None, condition: str | None = None) -> str:
    if endpoint is None:
        return "rmm-alert:"
    return f"rmm-alert:{endpoint['endpointID']}:{condition}:"


async def revio_tickets(tenant: E2ETenant, customer_id: str | None = None) -> list[dict[str, Any]]:
    params = {"search.customer_id": customer_id} if customer_id else {}
    return await tenant.revio_all("/Tickets", **params)


async def alert_tickets(
    tenant: E2ETenant, endpoint: dict[str, Any] | None = None, condition: str | None = None
) -> list[dict[str, Any]]:
    """Rev.io tickets revsync opened for alerts (of one endpoint and condition if named)."""
    prefix = alert_prefix(endpoint, condition)
    return [t for t in await revio_tickets(tenant) if (source_key(t) or "").startswith(prefix)]


async def journals(tenant: E2ETenant, ticket_id: int | str) -> list[dict[str, Any]]:
    return await tenant.revio_all("/TicketJournals", **{"search.ticket_id": str(ticket_id)})


async def ticket_type_name(tenant: E2ETenant, ticket_type_id: int) -> str:
    types = await tenant.revio_all("/TicketTypes")
    return next(str(t["name"]) for t in types if t["ticket_type_id"] == ticket_type_id)


async def ticket_type_other_than(tenant: E2ETenant, name: str) -> int:
    types = await tenant.revio_all("/TicketTypes")
    return next(int(t["ticket_type_id"]) for t in types if t["active"] and t["name"] != name)


# --- RMM ---------------------------------------------------------------------------------------


async def rmm_lookup_id(tenant: E2ETenant, kind: str, name: str) -> str:
    """The id of a ticketing lookup (`service-boards`, `sources`, ...) by its name."""
    entries = await tenant.rmm("GET", f"{RMM_LOOKUPS}/{kind}")
    entries = entries.get(kind, entries) if isinstance(entries, dict) else entries
    return next(str(e["id"]) for e in entries if e["name"] == name)


async def rmm_tickets(tenant: E2ETenant) -> list[dict[str, Any]]:
    answer = await tenant.rmm("GET", RMM_TICKETS)
    tickets: list[dict[str, Any]] = answer["tickets"]
    return tickets


async def rmm_ticket(tenant: E2ETenant, ticket_id: str) -> dict[str, Any]:
    ticket: dict[str, Any] = await tenant.rmm("GET", f"{RMM_TICKETS}/{ticket_id}")
    return ticket


async def rmm_notes(tenant: E2ETenant, ticket_id: str) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = await tenant.rmm(
        "GET", f"{RMM_LOOKUPS}/tickets/{ticket_id}/notes"
    )
    return notes


# --- the audit trail ---------------------------------------------------------------------------


async def decisions(
    tenant: E2ETenant, *types: str, entity: str | None = None
) -> list[dict[str, Any]]:
    """Decision events of the given types (of one stream or category), newest first."""
    params: dict[str, Any] = {"limit": 500, "type": list(types)}
    if entity:
        params["entity"] = entity
    answer = await tenant.console("GET", "/api/audit", params=params)
    items: list[dict[str, Any]] = answer["items"] if isinstance(answer, dict) else answer
    return items


def alert_stream(endpoint: dict[str, Any], condition: str) -> str:
    return f"alert:{endpoint['endpointID']}:{condition}"


# --- sandbox faults ----------------------------------------------------------------------------


def _account(tenant: E2ETenant, system: str) -> tuple[str, str]:
    if system == "rmm":
        return tenant.stack.rmm_url, tenant.tenant.rmm.client_id
    return tenant.stack.revio_url, tenant.tenant.revio.client_code


@asynccontextmanager
async def faults(tenant: E2ETenant, system: str, *rules: dict[str, Any]) -> AsyncIterator[None]:
    """Install fault rules on one sandbox, each scoped to this tenant's account, and clear
    them on the way out (the sandbox keeps one rule list, so other tenants stay unharmed)."""
    url, account = _account(tenant, system)
    scoped = [{"account": account, **rule} for rule in rules]
    async with httpx.AsyncClient(timeout=10) as control:
        answer = await control.put(f"{url}/_sandbox/faults", json={"rules": scoped, "seed": 6})
        answer.raise_for_status()
        try:
            yield
        finally:
            await control.delete(f"{url}/_sandbox/faults")


async def vendor_call_outcomes(
    stack: E2EStack, tenant: E2ETenant, process: str = "revio_connector", vendor: str = "revio"
) -> dict[str, float]:
    """`revsync_vendor_calls` of one process for this tenant, keyed "endpoint outcome"."""
    port = stack.process(process).port
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("revsync_vendor_calls_total{"):
            continue
        labels, value = line[len("revsync_vendor_calls_total{") :].rsplit("} ", 1)
        parts = dict(p.split("=", 1) for p in labels.split('",') if "=" in p)
        clean = {k.strip(): v.strip('"') for k, v in parts.items()}
        if clean.get("tenant") == tenant.id and clean.get("vendor") == vendor:
            key = f"{clean.get('endpoint')} {clean.get('outcome')}"
            found[key] = found.get(key, 0.0) + float(value)
    return found


# --- re-delivery -------------------------------------------------------------------------------


async def stored_messages(stack: E2EStack, stream: str, subject: str) -> list[Any]:
    """Every message JetStream holds on `subject` (an ephemeral consumer from the start)."""
    client = await nats.connect(stack.nats_url)
    try:
        js = client.jetstream()
        sub = await js.pull_subscribe(
            subject,
            stream=stream,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=30),
        )
        found: list[Any] = []
        while True:
            try:
                batch = await sub.fetch(100, timeout=2)
            except nats.errors.TimeoutError:
                break
            for message in batch:
                await message.ack()
                found.append(message)
            if len(batch) < 100:
                break
        await sub.unsubscribe()
        return found
    finally:
        await client.close()


async def republish(stack: E2EStack, subject: str, body: bytes, new_message_id: bool) -> None:
    """Publish `body` again with a new `Nats-Msg-Id` (so JetStream does not drop it); with
    `new_message_id` also as a new revsync message (so no inbox recognises it either)."""
    if new_message_id:
        data = orjson.loads(body)
        data["message_id"] = str(uuid.uuid4())
        body = orjson.dumps(data)
    client = await nats.connect(stack.nats_url)
    try:
        await client.jetstream().publish(
            subject, body, headers={"Nats-Msg-Id": f"e2e-redelivery-{uuid.uuid4()}"}
        )
    finally:
        await client.close()


async def one_each(
    tenant: E2ETenant, pairs: list[tuple[dict[str, Any], str]], within_s: float = WAIT_S
) -> dict[tuple[str, str], dict[str, Any]]:
    """Wait until every (endpoint, condition) has a ticket; then assert exactly one each."""
    wanted = {(e["endpointID"], c) for e, c in pairs}

    async def all_there() -> dict[tuple[str, str], list[dict[str, Any]]] | None:
        by_alert: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for ticket in await alert_tickets(tenant):
            _, endpoint_id, condition, _episode = (source_key(ticket) or "").split(":")
            by_alert.setdefault((endpoint_id, condition), []).append(ticket)
        return by_alert if wanted <= set(by_alert) else None

    by_alert = await eventually(all_there, within_s=within_s, every_s=1.0)
    extra = {k: v for k, v in by_alert.items() if k in wanted and len(v) != 1}
    assert not extra, f"alerts with more than one ticket: {extra}"
    return {k: v[0] for k, v in by_alert.items() if k in wanted}
