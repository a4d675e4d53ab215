"""`/api/audit` (decisions newest first, in plain words, with reason and trace),
`/api/dead-letters` and their retry, and `/api/health`."""

from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from revsync.contracts.revio import CreateRevioTicket
from revsync.eventlog import EventStore, NewEvent
from revsync.messaging.subscriber import REASON_HEADER
from revsync.unit_of_work import UnitOfWork

from services.console.deps import Console
from tests.integration.console.support import Accounts, alert_skipped, bearer
from tests.integration.console.tenant_rows import add_tenant, known  # noqa: F401  (a fixture)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def record(console: Console, tenant: str, stream: str, type_: str, data: dict) -> None:
    async with UnitOfWork(console.pool, tenant, consumer="alert") as uow:
        await uow.append(stream, [NewEvent(type_, data, metadata={"trace_id": TRACE})])


@pytest.mark.usefixtures("known")
async def test_audit_lists_decisions_newest_first_in_plain_words(
    api: httpx.AsyncClient, admin: dict[str, str], console: Console, tenant: str
):
    await record(
        console,
        tenant,
        "alert:e1:cpu",
        "AlertSkipped",
        alert_skipped("t9", "Low"),
    )
    await record(console, tenant, "company-link:7", "CustomerHeld", {"rule": "create_mode_off"})

    entries = (await api.get("/api/audit", headers=admin)).json()

    assert [e["type"] for e in entries] == ["CustomerHeld", "AlertSkipped"]
    skipped = entries[1]
    assert skipped["words"] == "Skipped: alert severity Low is below the minimum High"
    assert skipped["reason"] == "below_threshold"
    assert skipped["entity"] == "alert:e1:cpu"
    assert skipped["trace_id"] == TRACE
    assert skipped["trace_url"] == f"http://jaeger.test:16686/trace/{TRACE}"
    assert skipped["service"] == "alert"
    assert entries[0]["words"] == "Held: create mode is off, so it waits to be linked by hand"


@pytest.mark.usefixtures("known")
async def test_audit_filters_by_entity_type_time_and_words(
    api: httpx.AsyncClient, admin: dict[str, str], console: Console, tenant: str
):
    for number in range(3):
        await record(
            console,
            tenant,
            f"alert:e{number}:disk",
            "AlertSkipped",
            alert_skipped(f"t{number}", "Info", summary=f"host-{number}"),
        )
    await record(
        console,
        tenant,
        "asset:SN1",
        "EndpointSkipped",
        {
            "rule": "category_not_selected",
            "endpoint_id": "e1",
            "category": "cloud",
            "selected_categories": ["platform"],
            "asset_type": "RMM Endpoint",
        },
    )

    def get(**params):
        return api.get("/api/audit", params=params, headers=admin)

    assert len((await get(entity="alert")).json()) == 3
    assert len((await get(entity="alert:e1:disk")).json()) == 1
    only = (await get(type="EndpointSkipped")).json()
    assert [e["words"] for e in only] == [
        "Skipped: endpoint category cloud (synced: platform) is not synced"
    ]
    assert len((await get(type="EndpointSkipped,AlertSkipped")).json()) == 4
    assert (await get(q="host-2")).json()[0]["entity"] == "alert:e2:disk"
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert (await get(since=later)).json() == []
    first_page = (await get(limit=2)).json()
    second_page = (await get(limit=2, before=first_page[-1]["position"])).json()
    assert len(first_page) == 2 and len(second_page) == 2
    assert first_page[-1]["position"] > second_page[0]["position"]
    assert "AlertSkipped" in (await api.get("/api/audit/types", headers=admin)).json()
    misspelt = await get(category="alert", entity="alert")
    assert misspelt.status_code == 422
    assert [e["field"] for e in misspelt.json()["errors"]] == ["category"]
    assert "no such filter" in misspelt.json()["errors"][0]["message"]


@pytest.mark.usefixtures("known")
async def test_audit_of_one_tenant_is_invisible_to_another(
    api: httpx.AsyncClient, admin: dict[str, str], console: Console, tenant: str
):
    await record(console, tenant, "alert:e1:cpu", "AlertSkipped", alert_skipped("t1", "Low"))
    other = await bearer(
        console, f"aud-{tenant}", "admin", await add_tenant(console.pool, f"{tenant}x")
    )

    theirs = await api.get("/api/audit", headers={"Authorization": f"Bearer {other}"})

    assert theirs.json() == []


async def dead_letter(js: JetStreamContext, tenant: str) -> tuple[int, CreateRevioTicket]:
    command = CreateRevioTicket(
        tenant_id=tenant, source_key="k", customer_id="1", title="Disk full", description="d"
    )
    ack = await js.publish(
        f"dlq.{tenant}.cmd.revio.ticket.create",
        command.to_bytes(),
        headers={
            REASON_HEADER: "RuntimeError: Rev.io said no",
            "Revsync-Consumer": "revio-connector-tickets",
            "Revsync-Deliveries": "8",
            "Revsync-Original-Subject": command.subject,
            "Nats-Msg-Id": f"dlq-test-{command.message_id}",
        },
    )
    return ack.seq, command


@pytest.mark.usefixtures("known")
async def test_dead_letters_are_listed_and_retried_to_their_subject(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    console: Console,
    tenant: str,
    js: JetStreamContext,
):
    seq, command = await dead_letter(js, tenant)
    tap = await js.pull_subscribe(command.subject, stream="COMMANDS")

    listed = (await api.get("/api/dead-letters", headers=admin)).json()
    retried = await api.post(f"/api/dead-letters/{seq}/retry", headers=admin)

    assert [d["id"] for d in listed] == [seq]
    assert listed[0]["reason"] == "RuntimeError: Rev.io said no"
    assert listed[0]["original_subject"] == command.subject
    assert listed[0]["deliveries"] == 8
    assert listed[0]["message_id"] == str(command.message_id)
    assert retried.status_code == 200, retried.text
    again = (await tap.fetch(1, timeout=3))[0]
    await tap.unsubscribe()
    assert CreateRevioTicket.from_bytes(again.data).message_id == command.message_id
    assert REASON_HEADER not in (again.headers or {})
    assert (await api.get("/api/dead-letters", headers=admin)).json() == []
    try:
        await js.get_msg("DLQ", seq=seq)
        raise AssertionError("the dead letter should be gone")
    except NotFoundError:
        pass
    events = await EventStore(console.pool).read_stream(tenant, f"dead-letter:{seq}")
    assert [e.type for e in events] == ["DeadLetterRetried"]
    assert events[0].metadata["actor"] == f"admin-{tenant}"
    assert (await api.post(f"/api/dead-letters/{seq}/retry", headers=admin)).status_code == 404


@pytest.mark.usefixtures("known")
async def test_a_dead_letter_of_another_tenant_cannot_be_seen_or_retried(
    api: httpx.AsyncClient, admin: dict[str, str], tenant: str, js: JetStreamContext
):
    seq, _ = await dead_letter(js, f"{tenant}x")

    assert (await api.get("/api/dead-letters", headers=admin)).json() == []
    assert (await api.post(f"/api/dead-letters/{seq}/retry", headers=admin)).status_code == 404


async def test_health_reports_lag_polls_quota_and_dead_letters(
    api: httpx.AsyncClient,
    admin: dict[str, str],
    configured: Accounts,
    console: Console,
    js: JetStreamContext,
):
    tenant = configured.tenant
    await console.pool.execute(
        "INSERT INTO watermarks (tenant_id, system, resource, value) VALUES ($1, 'rmm',"
        " 'tickets', '2026-01-01')",
        tenant,
    )
    await console.pool.execute(
        "INSERT INTO rate_daily (tenant_id, vendor, bucket, day, used)"
        " VALUES ($1, 'revio', 'default', (now() AT TIME ZONE 'utc')::date, 1234)",
        tenant,
    )
    await dead_letter(js, tenant)

    mine = (await api.get("/api/health", headers=admin)).json()
    anonymous = (await api.get("/api/health")).json()

    assert mine["status"] == "degraded" and mine["tenant"] == tenant  # its dead letter
    assert any("dead letter" in p for p in mine["problems"])
    assert mine["dead_letters"] == 1
    assert [p["resource"] for p in mine["polls"]] == ["tickets"]
    assert mine["quota"] == [
        {
            "vendor": "revio",
            "bucket": "default",
            "used_today": 1234,
            "daily_limit": 150000,
            "used_fraction": 0.0082,
            "queued_seconds": 0.0,
        }
    ]
    assert any(key.startswith("cwrmm ") for key in mine["console_calls"])  # the live checks
    assert isinstance(mine["consumers"], list)
    assert anonymous["tenant"] is None
    assert anonymous["dead_letters"] >= 1
    assert tenant not in orjson.dumps(anonymous).decode()


@pytest.mark.usefixtures("known")
async def test_observations_are_left_out_unless_asked_for(
    api: httpx.AsyncClient, admin: dict[str, str], console: Console, tenant: str
):
    await record(console, tenant, "probe:1", "ProbeObserved", {"kind": "seen"})
    await record(console, tenant, "probe:1", "ProbeDecided", {"rule": "probe_rule"})

    default = await api.get("/api/audit", headers=admin)
    everything = await api.get("/api/audit?observations=true", headers=admin)
    named = await api.get("/api/audit?type=ProbeObserved", headers=admin)

    assert [e["type"] for e in default.json()] == ["ProbeDecided"]
    assert [e["words"] for e in default.json()] == ["Probe decided: probe rule"]
    assert [e["type"] for e in everything.json()] == ["ProbeDecided", "ProbeObserved"]
    assert [e["type"] for e in named.json()] == ["ProbeObserved"]
