"""Rev.io watchers against the sandbox: a change surfaces as exactly one change event, an
unchanged object as none, our own writes not at all; webhooks make it prompt; vanished
objects are reported deleted; listings tag everything with the run; state survives restarts
and replicas never poll the same resource together (real NATS and PostgreSQL)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from nats.js import JetStreamContext
from revsync.connector import ObjectHashes
from revsync.contracts.revio import (
    AddRevioJournalEntry,
    CreateRevioTicket,
    ListRevioEverything,
    UpdateRevioCustomer,
    UpdateRevioTicket,
)
from revsync.devservers import DevServers
from revsync.messaging import publish

from services.revio_connector import echo
from services.revio_connector.metrics import INVALID
from tests.integration.revio_connector_support import (
    ChangeTap,
    Sandbox,
    connector_settings,
    disable_tenant,
    of,
    outcome,
    running_connector,
    running_sandbox,
    save_tenant,
    wait_for,
)
from tests.integration.round_trips import counted_round_trips

pytestmark = pytest.mark.timeout(60)
CUSTOMERS = 11  # in Rev.io, in the tiny world of seed 7


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
async def tap(js: JetStreamContext, revio_tenant: str) -> AsyncIterator[ChangeTap]:
    started = await ChangeTap(js, revio_tenant).start()
    yield started
    await started.stop()


def customers_changed(changes: list[dict[str, Any]]) -> int:
    return sum(1 for c in changes if c["_subject"].endswith(".revio.customer.changed"))


async def baseline(tap: ChangeTap) -> int:
    """Wait for the first full poll (every customer is new to us); how many changes so far."""
    await tap.until(lambda changes: customers_changed(changes) >= CUSTOMERS)
    return len(tap.seen)


async def test_a_change_surfaces_once_and_unchanged_objects_stay_quiet(
    servers: DevServers, database_url: str, sandbox: Sandbox, tap: ChangeTap
):
    async with running_connector(connector_settings(servers, database_url)) as connector:
        counted = await baseline(tap)
        watcher = connector.registry.served[tap.tenant].watcher
        polls = watcher.polls["customers.poll"]
        await wait_for(lambda: watcher.polls["customers.poll"] >= polls + 3)
        assert len(await tap.drain()) == counted  # several polls, nothing new

        await sandbox.rename(10003, "Renamed Co")
        await tap.until(lambda changes: len(of(changes, "customer", "10003")) == 2)
        ticket_id = await sandbox.new_ticket(10003, "Fan noise")
        await tap.until(lambda changes: len(of(changes, "ticket", ticket_id)) == 1)
        polls = watcher.polls["tickets.poll"]
        await wait_for(lambda: watcher.polls["tickets.poll"] >= polls + 3)

    changes = await tap.drain()
    renamed = of(changes, "customer", "10003")
    assert len(renamed) == 2 and renamed[-1]["customer"]["name"] == "Renamed Co"
    assert len(of(changes, "ticket", ticket_id)) == 1
    assert len(changes) == counted + 2


async def test_our_own_writes_produce_no_change_events(
    servers: DevServers, database_url: str, js: JetStreamContext, pool: asyncpg.Pool,
    tap: ChangeTap, sandbox: Sandbox,
):  # fmt: skip
    tenant = tap.tenant
    settings = connector_settings(servers, database_url)
    settings.revio_webhook_public_url = f"http://127.0.0.1:{settings.revio_connector_port}"
    async with running_connector(settings) as connector:  # polls and webhooks both listening
        counted = await baseline(tap)
        await wait_for(lambda: len(sandbox.store().webhook_subscriptions.rows) == 4)
        commands: list[Any] = [
            UpdateRevioCustomer(tenant_id=tenant, customer_id="10002", name="Written By Us"),
            CreateRevioTicket(tenant_id=tenant, source_key="k-1", customer_id="10002",
                              title="From RMM", description="Created by revsync"),
        ]  # fmt: skip
        for command in commands:
            await publish(js, command)
        results = [await outcome(pool, tenant, c.message_id) for c in commands]
        ticket_id = results[1].external_ids["ticket_id"]
        note = AddRevioJournalEntry(tenant_id=tenant, ticket_id=ticket_id, text="From RMM",
                                    source_note_id="rmm-note-1")  # fmt: skip
        await publish(js, note)
        assert (await outcome(pool, tenant, note.message_id)).ok
        watcher = connector.registry.served[tenant].watcher
        polls = watcher.polls["tickets.poll"]
        await wait_for(lambda: watcher.polls["tickets.poll"] >= polls + 3)
        refreshed = watcher.polls["ticket.refresh"] + watcher.polls["customer.refresh"]
        assert refreshed >= 3  # the webhooks of our writes were fetched, and found to be ours

    assert all(r.ok for r in results)
    assert sandbox.store().addresses.rows[
        sandbox.store().customers.rows[10002]["service_address_id"]
    ]["company_name"] == "Written By Us"  # fmt: skip
    assert len(await tap.drain()) == counted, "our own write came back as a change"
    # the create was not read back: its ticket's hash was recorded when it was first read
    assert await recorded_hash(pool, tenant, ticket_id) not in (None, echo.CREATED)


async def recorded_hash(pool: asyncpg.Pool, tenant: str, ticket_id: str) -> str | None:
    found: str | None = await pool.fetchval(
        "SELECT hash FROM object_hashes WHERE tenant_id = $1 AND system = 'revio'"
        " AND entity = 'ticket' AND object_id = $2",
        tenant,
        ticket_id,
    )
    return found


async def test_a_persons_journal_entry_right_after_our_write_is_reported_not_taken_for_our_echo(
    servers: DevServers, database_url: str, js: JetStreamContext, pool: asyncpg.Pool,
    tap: ChangeTap, sandbox: Sandbox,
):  # fmt: skip
    """Someone replies in Rev.io to the note revsync just carried (or right after revsync
    updated the ticket), before the handler reads the ticket back: the reply is news, so the
    ticket is reported with it (our own entries flagged), once."""
    tenant = tap.tenant
    ticket_id = await sandbox.new_ticket(10002, "Printer jams")
    async with running_connector(connector_settings(servers, database_url)) as connector:
        await tap.until(lambda changes: len(of(changes, "ticket", ticket_id)) == 1)
        api = connector.registry.served[tenant].runtime.api
        written: dict[str, Any] = {"add_journal": api.add_journal,
                                   "update_ticket": api.update_ticket}  # fmt: skip

        def person_replies_after(name: str, reply: str) -> Any:
            async def write(command: Any) -> Any:
                answer = await written[name](command)
                body = {"ticket_id": int(ticket_id), "message": reply}
                (await sandbox.person.post("/v1/TicketJournals", json=body)).raise_for_status()
                return answer

            return write

        api.add_journal = person_replies_after("add_journal", "Toner ordered")  # type: ignore[method-assign]
        api.update_ticket = person_replies_after("update_ticket", "Back on Monday")  # type: ignore[method-assign]
        commands: list[Any] = [
            AddRevioJournalEntry(tenant_id=tenant, ticket_id=ticket_id, text="Tray 2 swapped",
                                 source_note_id="rmm-note-7"),
            UpdateRevioTicket(tenant_id=tenant, ticket_id=ticket_id, status="INWORK"),
        ]  # fmt: skip
        for command in commands:
            await publish(js, command)
            assert (await outcome(pool, tenant, command.message_id)).ok
            await asyncio.sleep(1.0)  # a few polls

    reported = of(await tap.drain(), "ticket", ticket_id)
    journals = [[e["text"] for e in c["ticket"]["journal"]] for c in reported]
    assert any("Toner ordered" in texts for texts in journals), journals
    assert any("Back on Monday" in texts for texts in journals), journals
    last = reported[-1]["ticket"]
    assert last["status"] == "INWORK"
    assert [(e["text"], e["written_by_revsync"]) for e in last["journal"]] == [
        ("Tray 2 swapped", True), ("Toner ordered", False), ("Back on Monday", False),
    ]  # fmt: skip
    assert len(reported) == len({str(c["ticket"]) for c in reported})  # each state once


async def create_then(
    connector: Any, js: JetStreamContext, pool: asyncpg.Pool, tenant: str, source_key: str,
    person: Callable[[str], Awaitable[None]],
) -> str:  # fmt: skip
    """Create a ticket through the connector, a person doing `person(ticket_id)` in Rev.io
    right after the create, before the handler is done with it; the ticket's id."""
    api = connector.registry.served[tenant].runtime.api
    create = api.create_ticket

    async def create_and_let_the_person_in(command: Any, type_id: str) -> str:
        ticket_id: str = await create(command, type_id)
        await person(ticket_id)
        return ticket_id

    api.create_ticket = create_and_let_the_person_in
    command = CreateRevioTicket(tenant_id=tenant, source_key=source_key, customer_id="10002",
                                title="Disk full", description="C: is full")  # fmt: skip
    await publish(js, command)
    result = await outcome(pool, tenant, command.message_id)
    assert result.ok, result
    return result.external_ids["ticket_id"]


async def test_a_persons_reply_on_a_ticket_we_just_created_is_reported_not_taken_for_our_echo(
    servers: DevServers, database_url: str, js: JetStreamContext, pool: asyncpg.Pool,
    tap: ChangeTap, sandbox: Sandbox,
):  # fmt: skip
    """Someone replies to a ticket revsync created before anything read it (or the ticket a
    retried create finds already has a reply): the reply is news, so the ticket is reported
    with it instead of being taken for our own echo."""
    tenant = tap.tenant
    async with running_connector(connector_settings(servers, database_url)) as connector:
        counted = await baseline(tap)

        async def person_replies(ticket_id: str) -> None:
            body = {"ticket_id": int(ticket_id), "message": "Looking into it"}
            (await sandbox.person.post("/v1/TicketJournals", json=body)).raise_for_status()

        ticket_id = await create_then(connector, js, pool, tenant, "k-reply", person_replies)
        await tap.until(lambda changes: len(of(changes, "ticket", ticket_id)) == 1)

    reported = of(await tap.drain(), "ticket", ticket_id)
    assert [[e["text"] for e in c["ticket"]["journal"]] for c in reported] == [["Looking into it"]]
    assert len(tap.seen) == counted + 1


async def test_a_persons_edit_of_a_ticket_we_just_created_is_reported_not_taken_for_our_echo(
    servers: DevServers, database_url: str, js: JetStreamContext, pool: asyncpg.Pool,
    tap: ChangeTap, sandbox: Sandbox,
):  # fmt: skip
    """A ticket revsync creates is not read back; its first read takes it for our echo only
    while it is as its create left it. Someone who edits it before that read (no journal
    entry, just a field) made news: the ticket is reported with the edit, once."""
    tenant = tap.tenant
    async with running_connector(connector_settings(servers, database_url)) as connector:
        counted = await baseline(tap)

        async def person_edits(ticket_id: str) -> None:
            await asyncio.sleep(0.005)  # Rev.io's dates have milliseconds
            operations = [{"op": "replace", "path": "/status", "value": "INWORK"}]
            (await sandbox.person.patch(
                f"/v1/Tickets/{ticket_id}", json=operations,
                headers={"Content-Type": "application/json-patch+json"},
            )).raise_for_status()  # fmt: skip

        ticket_id = await create_then(connector, js, pool, tenant, "k-edit", person_edits)
        await tap.until(lambda changes: len(of(changes, "ticket", ticket_id)) == 1)
        watcher = connector.registry.served[tenant].watcher
        polls = watcher.polls["tickets.poll"]
        await wait_for(lambda: watcher.polls["tickets.poll"] >= polls + 3)

    reported = of(await tap.drain(), "ticket", ticket_id)
    assert [c["ticket"]["status"] for c in reported] == ["INWORK"]
    assert len(tap.seen) == counted + 1


async def test_a_read_that_began_before_a_write_of_ours_reports_nothing_of_it(
    servers: DevServers, database_url: str, pool: asyncpg.Pool, tap: ChangeTap,
    sandbox: Sandbox,
):  # fmt: skip
    """A read of Rev.io that began before a write of ours was recorded may hold the state
    before that write: it is not reported (the next read is). A hash written before a read
    began is compared as usual, so a state that differs from it is news. Telling the two
    costs one number taken before the read, not a read of every hash of the tenant."""
    tenant = tap.tenant
    ticket_id = await sandbox.new_ticket(10002, "Printer jams")
    settings = connector_settings(servers, database_url)
    async with running_connector(settings, watch=False) as connector:
        served = await connector.registry.get(tenant)
        assert served is not None
        observer, api = served.runtime.observer, served.runtime.api
        read = await api.ticket(ticket_id)
        assert read is not None
        began = await observer.read_begins("ticket")
        # a write of ours lands in Rev.io and its hash is recorded while the read is in hand
        await ObjectHashes(pool, tenant, "revio", "ticket").put(ticket_id, "ours")
        with counted_round_trips() as trips:
            assert await observer.changed("ticket", [read], began) == 0
        began = await observer.read_begins("ticket")  # a read after our write was recorded
        assert await observer.changed("ticket", [read], began) == 1
        with counted_round_trips() as poll:
            await served.watcher.poll("tickets")

    reported = of(await tap.drain(), "ticket", ticket_id)
    assert len(reported) == 1 and reported[0]["ticket"]["description"] == "Printer jams"
    by_ids = "SELECT object_id, hash, written > $5 AS later FROM object_hashes"
    for counted in (trips, poll):
        hash_reads = [t for t in counted if "FROM object_hashes" in t]
        assert hash_reads and all(t.startswith(by_ids) for t in hash_reads), counted


async def test_a_webhook_notification_fetches_the_object_before_the_next_poll(
    servers: DevServers, database_url: str, sandbox: Sandbox, tap: ChangeTap
):
    settings = connector_settings(servers, database_url, revio_poll_interval_s=60)
    settings.revio_webhook_public_url = f"http://127.0.0.1:{settings.revio_connector_port}"
    store = sandbox.store()
    async with running_connector(settings) as connector:
        await baseline(tap)
        await wait_for(lambda: len(store.webhook_subscriptions.rows) == 4)
        (receiver,) = store.webhook_receivers.rows.values()
        assert receiver["active"]

        await sandbox.rename(10004, "Pushed Co")
        changes = await tap.until(lambda seen: len(of(seen, "customer", "10004")) == 2, 5)
        assert of(changes, "customer", "10004")[-1]["customer"]["name"] == "Pushed Co"
        watcher = connector.registry.served[tap.tenant].watcher
        assert watcher.polls["customers.poll"] == 0 and watcher.polls["customer.refresh"] == 1

        async with httpx.AsyncClient() as client:
            event = {"event_type": "customer.updated", "object_id": 10005}
            forged = await client.post(
                receiver["url"], json=event, headers={"X-Hook-Signature": "0" * 64}
            )
            unknown = await client.post(receiver["url"].rsplit("/", 1)[0] + "/guess", json={})
            base = settings.revio_webhook_public_url
            health = [(await client.get(f"{base}/{path}")) for path in ("healthz", "readyz")]
            metrics = (await client.get(f"{base}/metrics")).text
        assert (forged.status_code, unknown.status_code) == (401, 404)
        assert [answer.status_code for answer in health] == [200, 200]
        assert (
            f'revsync_vendor_calls_total{{endpoint="Customers",outcome="200",tenant="{tap.tenant}"'
            in metrics
        )
        assert (
            f'revsync_revio_webhooks_total{{outcome="bad_signature",tenant="{tap.tenant}"}} 1.0'
            in metrics
        )


async def test_reconciliation_reports_what_polls_missed_and_vanished_customers(
    servers: DevServers, database_url: str, sandbox: Sandbox, tap: ChangeTap
):
    settings = connector_settings(servers, database_url, revio_reconcile_interval_s=0.5)
    async with running_connector(settings):
        await baseline(tap)
        gone = await sandbox.control.delete("/_sandbox/revio/accounts/SANDBOX/Customers/10006")
        assert gone.status_code == 204
        # changed without its updated_date moving: invisible to the watermark polls
        sandbox.store().customers.rows[10007]["email"] = "quiet@example.com"
        # schema drift: a status the contracts do not know
        sandbox.store().customers.rows[10008]["status"] = "ARCHIVED"
        changes = await tap.until(
            lambda seen: (
                bool(of(seen, "customer", "10006", "deleted"))
                and len(of(seen, "customer", "10007")) == 2
            )
        )
        await wait_for(lambda: invalid(tap.tenant) >= 2)  # reported at every reconciliation
    assert len(of(changes, "customer", "10006", "deleted")) == 1
    assert of(changes, "customer", "10007")[-1]["customer"]["email"] == "quiet@example.com"
    assert of(await tap.drain(), "customer", "10008", "deleted") == []  # drift is not deletion


def invalid(tenant: str) -> float:
    return sum(
        sample.value
        for metric in INVALID.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels["tenant"] == tenant
    )


async def test_a_sync_run_listing_tags_every_object_with_the_run_and_its_total(
    servers: DevServers, database_url: str, sandbox: Sandbox, tap: ChangeTap,
    js: JetStreamContext, pool: asyncpg.Pool,
):  # fmt: skip
    tickets = [await sandbox.new_ticket(10001), await sandbox.new_ticket(10002)]
    item = {"inventory_type_id": 1, "identifier": "ep-9", "customer_id": 10001}
    assert (await sandbox.person.post("/v1/InventoryItem", json=item)).status_code == 201
    command = ListRevioEverything(tenant_id=tap.tenant, run_id=uuid4())
    async with running_connector(connector_settings(servers, database_url), watch=False):
        await publish(js, command)
        result = await outcome(pool, tap.tenant, command.message_id)
    assert result.external_ids == {"customers": str(CUSTOMERS), "tickets": "2", "assets": "1"}
    seen = [c for c in await tap.drain() if c["_subject"].endswith(".seen")]
    assert len(seen) == CUSTOMERS + 3
    assert {c["sync_run_id"] for c in seen} == {str(command.run_id)}
    totals = {c["_subject"].split(".")[3]: c["total"] for c in seen}
    assert totals == {"customer": CUSTOMERS, "ticket": 2, "asset": 1}
    assert sorted(c["ticket"]["id"] for c in seen if "ticket" in c) == sorted(tickets)


async def test_state_survives_a_restart_and_replicas_never_poll_the_same_resource(
    servers: DevServers, database_url: str, sandbox: Sandbox, tap: ChangeTap
):
    async with running_connector(connector_settings(servers, database_url)):
        counted = await baseline(tap)
    await sandbox.rename(10005, "Changed While Down")
    first = connector_settings(servers, database_url)
    second = connector_settings(servers, database_url)
    async with running_connector(first) as one, running_connector(second) as two:
        await tap.until(lambda seen: len(of(seen, "customer", "10005")) == 2)
        watchers = [c.registry.served[tap.tenant].watcher for c in (one, two)]
        await asyncio.sleep(1.0)
    polled = [sum(n for key, n in w.polls.items() if key.startswith("customers")) for w in watchers]
    assert sorted(polled)[0] == 0 and sorted(polled)[1] >= 2, polled
    assert len(await tap.drain()) == counted + 1  # only the change made while we were down
