"""Rev.io command handlers against the sandbox, over real NATS and PostgreSQL: each command
runs at most once in Rev.io, names what it created, and classifies what went wrong."""

import secrets
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import orjson
import pytest
from nats.js import JetStreamContext
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from revsync.contracts import ResultStatus
from revsync.contracts.revio import (
    AddRevioJournalEntry,
    CreateRevioCustomer,
    CreateRevioTicket,
    RevioAddress,
    UpdateRevioCustomer,
    UpdateRevioTicket,
    UpsertRevioAsset,
)
from revsync.devservers import DevServers
from revsync.messaging import publish

from services.revio_connector import markers
from tests.integration.revio_connector_support import (
    Sandbox,
    connector_settings,
    disable_tenant,
    outcome,
    running_connector,
    running_sandbox,
    save_tenant,
    wait_for,
)
from tests.integration.round_trips import counted_round_trips

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox() as running:
        yield running


@pytest.fixture
async def revio_tenant(pool: asyncpg.Pool, tenant: str, sandbox: Sandbox) -> AsyncIterator[str]:
    saved = await save_tenant(pool, tenant, sandbox.url, asset_sync_enabled=True,
                              asset_type="RMM Endpoint")  # fmt: skip
    yield tenant
    await disable_tenant(pool, saved)


@pytest.fixture
async def connector(
    servers: DevServers, database_url: str, revio_tenant: str
) -> AsyncIterator[Any]:
    settings = connector_settings(servers, database_url)
    async with running_connector(settings, watch=False) as running:
        yield running


def tickets_with_key(sandbox: Sandbox, key: str) -> list[dict[str, Any]]:
    rows = sandbox.store().tickets.rows.values()
    return [t for t in rows if any(f["value"] == key for f in t["fields"]
                                   if f["label"] == markers.SOURCE_KEY_FIELD)]  # fmt: skip


async def test_a_ticket_command_delivered_twice_creates_one_ticket_and_names_it(
    connector: Any, sandbox: Sandbox, js: JetStreamContext, pool: asyncpg.Pool, revio_tenant: str
):
    command = CreateRevioTicket(
        tenant_id=revio_tenant, source_key="alert:42", customer_id="10001", title="Disk full",
        description="C: is 99% full", ticket_type="RMM Alert", priority="High",
        rmm_ticket_id="rmm-42",
    )  # fmt: skip
    await publish(js, command)
    # the same command again under another NATS message id: JetStream cannot drop it
    again = {"Nats-Msg-Id": f"{command.message_id}-again"}
    await js.publish(command.subject, command.to_bytes(), headers=again)
    result = await outcome(pool, revio_tenant, command.message_id)
    assert result.status is ResultStatus.OK
    created = tickets_with_key(sandbox, "alert:42")
    assert len(created) == 1
    assert result.external_ids == {"ticket_id": str(created[0]["ticket_id"])}
    assert created[0]["priority"] == "HIGH" and created[0]["ticket_type_id"] == 2
    assert sandbox.statuses("POST", "/v1/Tickets") == [201]

    # a new command for the same source (e.g. reissued after a lost result) finds it
    again = command.model_copy(update={"message_id": CreateRevioTicket(
        tenant_id=revio_tenant, source_key="x", customer_id="1", title="", description=""
    ).message_id})  # fmt: skip
    await publish(js, again)
    second = await outcome(pool, revio_tenant, again.message_id)
    assert second.external_ids == result.external_ids
    assert len(tickets_with_key(sandbox, "alert:42")) == 1


async def run(
    js: JetStreamContext, pool: asyncpg.Pool, command: Any, within_s: float = 20.0
) -> Any:
    await publish(js, command)
    return await outcome(pool, command.tenant_id, command.message_id, within_s)


async def test_customer_asset_ticket_and_journal_commands_each_land_once(
    connector: Any, sandbox: Sandbox, js: JetStreamContext, pool: asyncpg.Pool, revio_tenant: str
):
    store = sandbox.store()
    address = RevioAddress(id="", line_1="9 Harbour Rd", city="Portland", state="ME",
                           postal_code="04101", country="US")  # fmt: skip
    create = CreateRevioCustomer(
        tenant_id=revio_tenant, rmm_company_id="co-7", name="Northwind Traders",
        bill_profile_id="1", customer_class="business", address=address,
    )  # fmt: skip
    created = await run(js, pool, create)
    customer_id = created.external_ids["customer_id"]
    record = store.customers.rows[int(customer_id)]
    service = store.addresses.rows[record["service_address_id"]]
    assert (service["company_name"], service["city"]) == ("Northwind Traders", "Portland")
    assert record["profile"]["class"] == "BUSINESS"
    # the same RMM company again (a new command): Rev.io keeps one customer
    again = await run(js, pool, create.model_copy(update={"message_id": uuid4()}))
    assert again.external_ids == created.external_ids
    named = [c for c in store.customers.rows.values()
             if any(f["value"] == "co-7" for f in c["fields"])]  # fmt: skip
    assert len(named) == 1

    update = UpdateRevioCustomer(tenant_id=revio_tenant, customer_id=customer_id,
                                 name="Northwind Ltd", description="RMM: co-7")  # fmt: skip
    assert (await run(js, pool, update)).ok
    assert store.addresses.rows[record["service_address_id"]]["company_name"] == "Northwind Ltd"
    assert {"label": markers.DESCRIPTION_FIELD, "value": "RMM: co-7"}.items() <= {
        k: v for f in record["fields"] if f["label"] == markers.DESCRIPTION_FIELD
        for k, v in f.items()
    }.items()  # fmt: skip

    upsert = UpsertRevioAsset(tenant_id=revio_tenant, customer_id=customer_id,
                              identifier="ep-1", asset_type_id="1",
                              fields={"Hostname": "pc-1"})  # fmt: skip
    first = await run(js, pool, upsert)
    moved = upsert.model_copy(update={"message_id": uuid4(), "status": "RETIRED"})
    second = await run(js, pool, moved)
    assert first.external_ids == second.external_ids
    items = [i for i in store.inventory_items.rows.values() if i["identifier"] == "ep-1"]
    assert len(items) == 1 and items[0]["status"] == "RETIRED"
    assert items[0]["fields"][0]["value"] == "pc-1"

    ticket = await run(js, pool, CreateRevioTicket(
        tenant_id=revio_tenant, source_key="manual:1", customer_id=customer_id, title="Help",
        description="VPN down",
    ))  # fmt: skip
    ticket_id = ticket.external_ids["ticket_id"]
    why = "Auto-closed by revsync: the RMM alert cpu-high on GRAN-LT-001 cleared."
    closed = await run(js, pool, UpdateRevioTicket(
        tenant_id=revio_tenant, ticket_id=ticket_id, custom_status="auto-closed", resolution=why
    ))  # fmt: skip
    assert closed.ok
    held = store.tickets.rows[int(ticket_id)]
    assert (held["status"], held["custom_status"]) == ("CLOSED", "auto-closed")
    assert held["resolution"] == why  # in the same PATCH as the status
    assert sandbox.statuses("PATCH", f"/v1/Tickets/{ticket_id}") == [200]

    note = AddRevioJournalEntry(tenant_id=revio_tenant, ticket_id=ticket_id,
                                text="Cleared in RMM", source_note_id="n-9")  # fmt: skip
    added = await run(js, pool, note)
    repeated = await run(js, pool, note.model_copy(update={"message_id": uuid4()}))
    assert added.external_ids == repeated.external_ids
    journals = [j for j in store.ticket_journals.rows.values() if j["ticket_id"] == int(ticket_id)]
    assert len(journals) == 1 and journals[0]["message"].startswith("Cleared in RMM")


async def test_a_customer_update_expecting_values_a_person_changed_since_writes_nothing(
    connector: Any, sandbox: Sandbox, js: JetStreamContext, pool: asyncpg.Pool, revio_tenant: str
):
    created = await run(js, pool, CreateRevioCustomer(
        tenant_id=revio_tenant, rmm_company_id="co-8", name="Contoso", bill_profile_id="1",
        customer_class="business",
    ))  # fmt: skip
    customer_id = created.external_ids["customer_id"]
    store = sandbox.store()
    record = store.customers.rows[int(customer_id)]
    await sandbox.rename(int(customer_id), "Contoso Revio Edit")  # a person, meanwhile
    path = f"/v1/Customers/{customer_id}"
    patches = len(sandbox.statuses("PATCH", path))

    stale = UpdateRevioCustomer(tenant_id=revio_tenant, customer_id=customer_id,
                                name="Contoso RMM Edit", expected={"name": "Contoso"})  # fmt: skip
    refused = await run(js, pool, stale)
    assert refused.status is ResultStatus.CONFLICT
    assert "name is 'Contoso Revio Edit' in Rev.io, expected 'Contoso'" in (refused.reason or "")
    assert store.addresses.rows[record["service_address_id"]]["company_name"] == (
        "Contoso Revio Edit"
    )
    assert len(sandbox.statuses("PATCH", path)) == patches  # nothing written

    current = stale.model_copy(
        update={"message_id": uuid4(), "expected": {"name": "Contoso Revio Edit"}}
    )
    assert (await run(js, pool, current)).ok
    assert store.addresses.rows[record["service_address_id"]]["company_name"] == "Contoso RMM Edit"


async def test_vendor_refusals_are_classified_with_the_vendors_words(
    connector: Any, sandbox: Sandbox, js: JetStreamContext, pool: asyncpg.Pool, revio_tenant: str
):
    ticket_id = await sandbox.new_ticket()
    unknown_status = await run(js, pool, UpdateRevioTicket(
        tenant_id=revio_tenant, ticket_id=ticket_id, custom_status="no-such-status"
    ))  # fmt: skip
    assert unknown_status.status is ResultStatus.REJECTED
    assert "Ticket status 'no-such-status' does not exist." in (unknown_status.reason or "")

    missing = await run(js, pool, UpdateRevioTicket(
        tenant_id=revio_tenant, ticket_id="29999", status="CLOSED"
    ))  # fmt: skip
    assert missing.status is ResultStatus.NOT_FOUND

    inactive = await run(js, pool, CreateRevioCustomer(
        tenant_id=revio_tenant, rmm_company_id="co-x", name="X", bill_profile_id="4",
        customer_class="BUSINESS",
    ))  # fmt: skip
    assert inactive.status is ResultStatus.REJECTED and "inactive" in (inactive.reason or "")


async def test_bad_credentials_and_missing_permissions_are_classified(
    servers: DevServers,
    database_url: str,
    sandbox: Sandbox,
    js: JetStreamContext,
    pool: asyncpg.Pool,
    tenant: str,
):
    ticket_id = await sandbox.new_ticket()
    wrong = await save_tenant(pool, tenant, sandbox.url, password="wrong")
    settings = connector_settings(servers, database_url)
    try:
        async with running_connector(settings, watch=False) as connector:
            denied = await run(js, pool, UpdateRevioTicket(
                tenant_id=tenant, ticket_id=ticket_id, status="CLOSED"
            ))  # fmt: skip
            assert denied.status is ResultStatus.REJECTED
            assert "unauthorized" in (denied.reason or "") and "401" in (denied.reason or "")

            await save_tenant(pool, tenant, sandbox.url)

            def password_changed() -> bool:
                served = connector.registry.served.get(tenant)
                secret = served.runtime.tenant.revio.password if served else None
                return secret is not None and secret.get_secret_value() == "sandbox"

            await wait_for(password_changed)
            await sandbox.control.put(
                "/_sandbox/revio/accounts/SANDBOX/permissions",
                json={"permissions": ["Tickets:read"]},
            )
            forbidden = await run(js, pool, UpdateRevioTicket(
                tenant_id=tenant, ticket_id=ticket_id, status="CLOSED"
            ))  # fmt: skip
            assert forbidden.status is ResultStatus.REJECTED
            assert "403" in (forbidden.reason or "") and "no write permission" in (
                forbidden.reason or ""
            )
    finally:
        await disable_tenant(pool, wrong)


async def test_new_assets_cost_one_search_one_create_and_one_read_back_each(
    connector: Any, sandbox: Sandbox, js: JetStreamContext, pool: asyncpg.Pool, revio_tenant: str
):
    """The inventory type is looked up once, not per asset, and an asset not found is not
    looked for a second time before it is created (an initial sync makes thousands)."""
    await sandbox.control.delete("/_sandbox/requests")
    for n in range(3):
        created = await run(js, pool, UpsertRevioAsset(
            tenant_id=revio_tenant, customer_id="10001", identifier=f"ep-cost-{n}",
            asset_type_id="RMM Endpoint", fields={"Hostname": f"pc-{n}"},
        ))  # fmt: skip
        assert created.ok, created
    calls = await sandbox.requests("/v1/Inventory")
    assert calls == {
        "GET /v1/InventoryTypes": 1,
        "GET /v1/InventoryItem": 3,
        "POST /v1/InventoryItem": 3,
        "GET /v1/InventoryItem/{inventory_item_id}": 3,
    }, calls


async def test_new_tickets_cost_one_create_each(
    connector: Any, sandbox: Sandbox, js: JetStreamContext, pool: asyncpg.Pool, revio_tenant: str
):
    """A ticket whose source key was never tried is created without searching for it first
    (`first_try`) and not read back (its first read takes it for our echo, see `echo`), and
    the ticket types are looked up once (alert storms make many). A second command with a
    source key already tried (a retry after a failed result) searches first, finds it, and
    reads it back (an earlier attempt made it: it may have changed since)."""
    await sandbox.control.delete("/_sandbox/requests")
    commands = [
        CreateRevioTicket(
            tenant_id=revio_tenant, source_key=f"alert:cost-{uuid4()}", customer_id="10001",
            title="Disk full", description=f"C: is 9{n}% full", ticket_type="RMM Alert",
        )
        for n in range(3)
    ]  # fmt: skip
    results = [await run(js, pool, command) for command in commands]
    assert all(result.ok for result in results), results
    calls = await sandbox.requests("/v1/Ticket")
    assert calls == {"GET /v1/TicketTypes": 1, "POST /v1/Tickets": 3}, calls

    await sandbox.control.delete("/_sandbox/requests")
    again = await run(js, pool, commands[0].model_copy(update={"message_id": uuid4()}))
    assert again.ok and again.external_ids == results[0].external_ids, again
    calls = await sandbox.requests("/v1/Ticket")
    assert calls == {"GET /v1/Tickets": 1, "GET /v1/Tickets/{ticket_id}": 1}, calls


async def test_two_upserts_of_one_asset_at_once_leave_it_whole_as_one_of_them(
    connector: Any, sandbox: Sandbox, js: JetStreamContext, pool: asyncpg.Pool, revio_tenant: str
):
    """Each upsert reads the asset and patches what differs from its read. Two at once (an
    endpoint deleted while its reinstall is seen) must not each patch against the state
    before the other: the asset would hold the retirement of one and the fields of the other."""
    base = UpsertRevioAsset(
        tenant_id=revio_tenant, customer_id="10001", identifier="ep-race",
        asset_type_id="RMM Endpoint", fields={"Hostname": "old-pc"},
    )  # fmt: skip
    created = await run(js, pool, base)
    base = base.model_copy(update={"asset_id": created.external_ids["asset_id"]})
    # writes are slow to apply: both commands read the asset before either patch lands
    await sandbox.faults({"path_prefix": "/v1/InventoryItem", "method": "PATCH", "latency_ms": 400})
    retire = base.model_copy(update={"message_id": uuid4(), "status": "RETIRED"})
    follow = base.model_copy(update={"message_id": uuid4(), "fields": {"Hostname": "new-pc"}})
    await publish(js, retire)
    await publish(js, follow)
    for command in (retire, follow):
        assert (await outcome(pool, revio_tenant, command.message_id)).ok
    (item,) = [i for i in sandbox.store().inventory_items.rows.values()
               if i["identifier"] == "ep-race"]  # fmt: skip
    hostname = next(f["value"] for f in item["fields"] if f["label"] == "Hostname")
    assert (item["status"], hostname) in {("RETIRED", "old-pc"), ("ACTIVE", "new-pc")}, item


# -- what a ticket create costs in database round trips (the alert -> ticket path's latency
# is mostly client CPU per round trip on a busy machine), and that the one statement answering
# a command writes what the unit of work would have


def ticket(tenant: str, key: str) -> CreateRevioTicket:
    return CreateRevioTicket(
        tenant_id=tenant, source_key=key, customer_id="10001", title="Disk full",
        description="C: is 99% full", ticket_type="RMM Alert", priority="High",
    )  # fmt: skip


async def test_a_ticket_create_costs_at_most_eight_round_trips(
    connector: Any, pool: asyncpg.Pool, revio_tenant: str
):
    """BEGIN, the inbox claim, the echo lock, the create attempt, the limiter's slot of the
    create, the record of our create, the answer (outcome + event + outbox), COMMIT (it was
    eleven, three for the answer; then nine, with the read-back's slot)."""
    await connector.commands.create_ticket(ticket(revio_tenant, "alert:warm-up"))
    command = ticket(revio_tenant, "alert:counted")
    with counted_round_trips() as trips:
        await connector.commands.create_ticket(command)
    assert (await outcome(pool, revio_tenant, command.message_id)).status is ResultStatus.OK
    assert len(trips) <= 8, "\n".join(trips)


async def test_the_answer_to_a_command_carries_the_units_metadata_and_trace(
    connector: Any, pool: asyncpg.Pool, revio_tenant: str
):
    command = ticket(revio_tenant, "alert:traced")
    trace_id = secrets.token_hex(16)
    remote = SpanContext(int(trace_id, 16), int(secrets.token_hex(8), 16), is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED))  # fmt: skip
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        await connector.commands.create_ticket(command)
    finally:
        context.detach(token)
    result = await outcome(pool, revio_tenant, command.message_id)
    event = await pool.fetchrow(
        "SELECT type, data, metadata FROM events WHERE tenant_id = $1 AND stream = $2",
        revio_tenant,
        f"command:{command.message_id}",
    )
    assert event["type"] == "CommandExecuted"
    assert event["data"] == {"subject": command.subject, "status": "ok",
                             "external_ids": result.external_ids, "reason": None}  # fmt: skip
    assert event["metadata"] == {
        "service": "revio-connector", "actor": "system", "trace_id": trace_id,
        "correlation_id": str(command.correlation_id), "causation_id": str(command.message_id),
    }  # fmt: skip
    sent = await pool.fetchrow(
        "SELECT subject, payload, headers FROM outbox WHERE tenant_id = $1 AND id = $2",
        revio_tenant,
        result.message_id,
    )
    assert sent is not None, "relayed already"  # the relay does not run in this test
    assert sent["subject"] == result.subject
    assert orjson.loads(sent["payload"]) == orjson.loads(result.to_bytes())
    assert trace_id in sent["headers"]["traceparent"]
