"""Instruments of the pipeline bench: raising alerts in the RMM sandbox at a pace, watching
the alert changes the RMM connector publishes, reading the alert service's decisions from
the event log and the tickets from the Rev.io sandbox, and joining them per alert.

Every time is wall-clock seconds since the epoch (all processes run on this machine):
- `raised`: the sandbox answered the bench's `POST /v2/alerts` (it stamps the RMM ticket's
  `createdAt` inside that call, to the second only: too coarse for milliseconds);
- `observed`: the change's `occurred_at`, stamped by the RMM connector when it read the alert;
- `published`: the bench's own NATS subscription received the change (core NATS sees a
  JetStream publish as it is stored, about a millisecond after);
- `requested`, `linked`: `recorded_at` of the alert service's `AlertTicketRequested` and of
  its `AlertTicketLinked` (the Rev.io connector's result, decided);
- `created`: the Rev.io ticket's `created_date` (milliseconds, the account's zone is UTC):
  from then on the ticket is visible in Rev.io.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import nats
import orjson
from nats.aio.msg import Msg
from revsync.contracts.rmm import RmmAlertChanged

from tests.e2e.pipeline_support import source_key
from tests.e2e.stack import E2ETenant

AlertKey = tuple[str, str, str]
"""(tenant, endpoint id, condition id): one alert, opened once in a bench run."""
SEGMENTS = {
    "polling": ("raised", "published"),
    "observed": ("raised", "observed"),
    "deciding": ("published", "requested"),
    "in_pipeline": ("published", "created"),
    "alert_to_ticket": ("raised", "created"),
    "result": ("created", "linked"),
}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


@dataclass
class Timeline:
    """When one alert reached each stage (None: not seen)."""

    raised: float | None = None
    observed: float | None = None
    published: float | None = None
    requested: float | None = None
    created: float | None = None
    linked: float | None = None

    def span(self, segment: str) -> float | None:
        start, end = (getattr(self, name) for name in SEGMENTS[segment])
        return None if start is None or end is None else end - start


def spans_ms(timelines: Iterable[Timeline], segment: str) -> list[float]:
    return [1000 * s for t in timelines if (s := t.span(segment)) is not None]


# --- raising alerts ----------------------------------------------------------------------


class AlertRaiser:
    """One tenant's RMM API as an integrator raising alerts (one HTTP client, one token)."""

    def __init__(self, tenant: E2ETenant) -> None:
        self.tenant = tenant
        self.client = httpx.AsyncClient(base_url=tenant.stack.rmm_url, timeout=60)
        self.token: str | None = None
        self.raised: dict[AlertKey, float] = {}

    async def close(self) -> None:
        await self.client.aclose()

    async def _token(self) -> str:
        if self.token is None:
            answer = await self.client.post("/v1/token", json={
                "grant_type": "client_credentials", "client_id": self.tenant.tenant.rmm.client_id,
                "client_secret": self.tenant.rmm_secret,
            })  # fmt: skip
            self.token = str(answer.raise_for_status().json()["access_token"])
        return self.token

    async def raise_alerts(
        self, alerts: Sequence[tuple[dict[str, Any], str]], severity: str = "High"
    ) -> float:
        """Raise (endpoint, condition) alerts in one call; return when the sandbox answered."""
        items = [
            {"company_id": e["companyID"], "site_id": e["siteID"], "endpoint_id": e["endpointID"],
             "condition_id": condition,
             "alertDetails": {"severity": severity, "summary": f"{condition} on the endpoint",
                              "description": "raised by the pipeline bench"}}
            for e, condition in alerts
        ]  # fmt: skip
        headers = {"Authorization": f"Bearer {await self._token()}"}
        answer = await self.client.post("/v2/alerts", json=items, headers=headers)
        answer.raise_for_status()
        done = time.time()
        for endpoint, condition in alerts:
            self.raised.setdefault((self.tenant.id, endpoint["endpointID"], condition), done)
        return done

    async def steady(
        self, alerts: Sequence[tuple[dict[str, Any], str]], rate: float,
        behind: Callable[[int], Awaitable[bool]] | None = None,
    ) -> tuple[int, float]:  # fmt: skip
        """Raise one alert every 1/`rate` s on a fixed schedule (a late answer does not
        delay the next raise), stopping early once `behind(raised so far)` says the pipeline
        fell behind (asked twice a second); return (alerts raised, rate achieved)."""
        started = time.monotonic()
        calls: list[asyncio.Task[float]] = []
        checked = started
        for index, alert in enumerate(alerts):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if behind is not None and time.monotonic() - checked > 0.5:
                checked = time.monotonic()
                if await behind(index):
                    break
            calls.append(asyncio.create_task(self.raise_alerts([alert])))
        await asyncio.gather(*calls)
        elapsed = time.monotonic() - started
        return len(calls), len(calls) / max(elapsed, 1e-9) if len(calls) > 1 else float(rate)

    async def batches(
        self, alerts: Sequence[tuple[dict[str, Any], str]], size: int, severity: str = "High"
    ) -> None:
        """Raise `alerts` as fast as the sandbox answers, `size` per call, two calls at once."""
        chunks = [alerts[i : i + size] for i in range(0, len(alerts), size)]
        for i in range(0, len(chunks), 2):
            await asyncio.gather(*(self.raise_alerts(c, severity) for c in chunks[i : i + 2]))


# --- watching the RMM connector's changes --------------------------------------------------


@dataclass
class ChangeWatch:
    """A core NATS subscription to the alert changes of some tenants: for each alert, the
    first change about it (connector's `occurred_at`, our receipt), and counts per tenant."""

    nats_url: str
    first: dict[AlertKey, tuple[float, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    received: dict[str, list[float]] = field(default_factory=dict)
    _client: Any = None

    async def start(self) -> None:
        self._client = await nats.connect(self.nats_url)
        await self._client.subscribe("change.*.rmm.alert.*", cb=self._on_message)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.drain()

    async def _on_message(self, message: Msg) -> None:
        at = time.time()
        change = RmmAlertChanged.from_bytes(message.data)
        tenant = change.tenant_id
        self.counts[tenant] = self.counts.get(tenant, 0) + 1
        self.received.setdefault(tenant, []).append(at)
        alert = change.alert
        if change.kind in ("raised", "updated") and alert.endpoint_id:
            key = (tenant, alert.endpoint_id, alert.condition_id)
            self.first.setdefault(key, (change.occurred_at.timestamp(), at))


# --- the event log and Rev.io ---------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    key: AlertKey
    type: str
    recorded_at: float
    data: dict[str, Any]


async def alert_decisions(
    database_url: str, tenant_id: str, types: Sequence[str] | None = None
) -> list[Decided]:
    """The alert service's decision events of one tenant, in log order."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT stream, type, data::text AS data, recorded_at FROM events"
            " WHERE tenant_id = $1 AND category = 'alert'"
            " AND ($2::text[] IS NULL OR type = ANY($2)) ORDER BY global_position",
            tenant_id,
            list(types) if types is not None else None,
        )
    finally:
        await conn.close()
    found = []
    for row in rows:
        _, endpoint_id, condition_id = row["stream"].split(":", 2)
        data = _json(row["data"])
        key = (tenant_id, endpoint_id, condition_id)
        found.append(Decided(key, row["type"], row["recorded_at"].timestamp(), data))
    return found


def _json(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(text)
    return loaded


async def count_decisions(
    database_url: str, tenant_id: str, type_: str, streams_like: str = "%"
) -> int:
    """The tenant's decision events of `type_` in the streams named `LIKE streams_like`."""
    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM events WHERE tenant_id = $1 AND type = $2 AND stream LIKE $3",
            tenant_id,
            type_,
            streams_like,
        )
        return count
    finally:
        await conn.close()


async def revio_alert_tickets(tenant: E2ETenant) -> dict[AlertKey, list[float]]:
    """Creation times of the Rev.io tickets revsync opened for alerts, per alert."""
    found: dict[AlertKey, list[float]] = {}
    for ticket in await tenant.revio_all("/Tickets"):
        marker = source_key(ticket) or ""
        if not marker.startswith("rmm-alert:"):
            continue
        _, endpoint_id, condition_id, _episode = marker.split(":")
        created = datetime.fromisoformat(ticket["created_date"]).replace(tzinfo=UTC)
        found.setdefault((tenant.id, endpoint_id, condition_id), []).append(created.timestamp())
    return found


async def request_counts(
    url: str, account: str, by: str = "template", path_prefix: str | None = None
) -> dict[str, int]:
    """Calls of one account in a sandbox's request log, by template or by status."""
    params = {"account": account, "by": by, **({"path_prefix": path_prefix} if path_prefix else {})}
    async with httpx.AsyncClient(timeout=30) as control:
        answer = await control.get(f"{url}/_sandbox/requests", params=params)
        counts: dict[str, int] = answer.raise_for_status().json()["counts"]
        return counts


def timelines(
    keys: Iterable[AlertKey],
    raised: dict[AlertKey, float],
    watch: ChangeWatch,
    decided: Sequence[Decided],
    tickets: dict[AlertKey, list[float]],
) -> dict[AlertKey, Timeline]:
    """Join what each instrument saw, per alert."""
    requested = {d.key: d.recorded_at for d in decided if d.type == "AlertTicketRequested"}
    linked = {d.key: d.recorded_at for d in decided if d.type == "AlertTicketLinked"}
    joined: dict[AlertKey, Timeline] = {}
    for key in keys:
        seen = watch.first.get(key)
        created = tickets.get(key)
        joined[key] = Timeline(
            raised=raised.get(key),
            observed=seen[0] if seen else None,
            published=seen[1] if seen else None,
            requested=requested.get(key),
            created=min(created) if created else None,
            linked=linked.get(key),
        )
    return joined


async def wait_for(
    database_url: str,
    tenant_id: str,
    type_: str,
    count: int,
    within_s: float,
    streams_like: str = "%",
) -> tuple[int, bool]:
    """Wait until the tenant has `count` decision events of `type_` (in the streams named
    `LIKE streams_like`); (count, reached)."""
    deadline = time.monotonic() + within_s
    while True:
        found = await count_decisions(database_url, tenant_id, type_, streams_like)
        if found >= count:
            return found, True
        if time.monotonic() > deadline:
            return found, False
        await asyncio.sleep(0.5)


async def linked_endpoints(tenant: E2ETenant, wanted: int, within_s: float) -> list[Any]:
    """Platform and network endpoints of companies linked to a Rev.io customer: waits until
    `wanted` exist (or the links stop growing for 10 s); returns what there is."""
    deadline, last, stable_since = time.monotonic() + within_s, -1, time.monotonic()
    while True:
        found = [e for e, _ in await tenant.linked_endpoints(("platform", "network"))]
        if len(found) != last:
            last, stable_since = len(found), time.monotonic()
        now = time.monotonic()
        if len(found) >= wanted or now > deadline or (found and now - stable_since > 10):
            return found
        await asyncio.sleep(1.0)
