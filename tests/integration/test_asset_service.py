"""The asset service against real NATS and PostgreSQL (with the company service linking the
companies): endpoints in, asset commands out, results back."""

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import asyncpg
import pytest
from nats.js import JetStreamContext
from revsync.command_window import DEFAULT_WINDOW, CommandWindow
from revsync.contracts.base import utc_now
from revsync.contracts.revio import RevioCustomer, RevioCustomerChanged, UpsertRevioAsset
from revsync.contracts.rmm import (
    RmmCompany,
    RmmCompanyChanged,
    RmmEndpoint,
    RmmEndpointChanged,
    SetRmmEndpointCustomField,
)
from revsync.decision import DecisionContext
from revsync.devservers import DevServers
from revsync.tenancy import SyncSettings
from revsync.unit_of_work import UnitOfWork

from services.asset import events as E
from services.asset.decide import REVIO_ASSET_ID_FIELD, decide_asset
from services.asset.identity import observe_endpoint
from services.asset.store import AssetTx
from services.company.naming import company_description
from tests.integration.domain_harness import Background, Harness, background, eventually, harness
from tests.integration.round_trips import counted_round_trips

pytestmark = pytest.mark.timeout(60)
ON = {"asset_sync_enabled": True, "asset_type": "7", "endpoint_categories": ["platform"]}


@pytest.fixture(scope="module")
async def services(pool: asyncpg.Pool, js: JetStreamContext) -> AsyncIterator[Background]:
    async with background(pool, js) as running:
        yield running


@pytest.fixture
def start(
    services: Background, pool: asyncpg.Pool, js: JetStreamContext, servers: DevServers, tenant: str
):
    def starter(**settings: object):
        return harness(services, pool, js, servers.nats_url, tenant, **settings)

    return starter


def endpoint(endpoint_id: str, company_id: str = "rmm-1", **fields: object) -> RmmEndpoint:
    values: dict[str, object] = {
        "category": "platform",
        "hostname": f"{endpoint_id}.acme.local",
        "endpoint_type": "Laptop",
        "os": "Windows 11",
        **fields,
    }
    return RmmEndpoint(id=endpoint_id, company_id=company_id, **values)  # type: ignore[arg-type]


def changed(tenant: str, item: RmmEndpoint, kind: str = "changed") -> RmmEndpointChanged:
    return RmmEndpointChanged(tenant_id=tenant, kind=kind, endpoint=item)  # type: ignore[arg-type]


async def link_company(h: Harness, customer_id: str = "1001", company_id: str = "rmm-1") -> None:
    customer = RevioCustomer(id=customer_id, name=f"Customer {customer_id}")
    company = RmmCompany(
        id=company_id, name=customer.name, description=company_description(customer)
    )
    await h.publish(RevioCustomerChanged(tenant_id=h.tenant, kind="changed", customer=customer))
    await h.publish(RmmCompanyChanged(tenant_id=h.tenant, kind="changed", company=company))
    await h.wait_link(customer_id, "linked")


async def test_asset_sync_off_sends_nothing_and_records_nothing(start, tenant):
    async with start(asset_sync_enabled=False, asset_type="7", write_revio_id_to_rmm=True) as h:
        await link_company(h)
        for n in range(3):
            await h.publish(changed(tenant, endpoint(f"ep-{n}", serial_number=f"SN-{n}")))
        await h.publish(changed(tenant, endpoint("ep-0"), "deleted"))
        await h.settle()
        assert h.sent(UpsertRevioAsset) == [] and h.sent(SetRmmEndpointCustomField) == []
        rows = await h.pool.fetchval("SELECT count(*) FROM assets WHERE tenant_id = $1", tenant)
        events = await h.pool.fetchval(
            "SELECT count(*) FROM events WHERE tenant_id = $1 AND category = 'asset'", tenant
        )
        assert (rows, events) == (0, 0)


async def test_only_selected_categories_sync_and_a_skip_says_why(start, tenant):
    async with start(**ON) as h:
        await link_company(h)
        await h.publish(changed(tenant, endpoint("ep-1", serial_number="SN-1")))
        await h.publish(changed(tenant, endpoint("ep-2", category="network", serial_number="SN-2")))
        (upsert,) = await h.wait_for(UpsertRevioAsset)
        assert (upsert.customer_id, upsert.identifier, upsert.asset_type_id) == (
            "1001",
            "SN-1",
            "7",
        )
        assert upsert.asset_id is None and upsert.status == "ACTIVE"
        assert upsert.fields == {
            "hostname": "ep-1.acme.local",
            "category": "platform",
            "endpoint_type": "Laptop",
            "os": "Windows 11",
            "serial_number": "SN-1",
            "rmm_endpoint_id": "ep-1",
        }
        skipped = await h.wait_asset("SN-2", "skipped")
        assert skipped["rule"] == "category_not_selected"
        await h.settle()
        assert len(h.sent(UpsertRevioAsset)) == 1
        (_, data) = (await h.events(E.asset_stream("SN-2")))[-1]
        assert (data["category"], data["selected_categories"]) == ("network", ["platform"])


async def test_a_parked_endpoint_syncs_as_soon_as_its_company_links(start, tenant):
    async with start(**ON) as h:
        await h.publish(changed(tenant, endpoint("ep-9", company_id="rmm-9")))
        parked = await h.wait_asset("ep-9", "parked")  # no serial: identified by endpoint id
        assert parked["rule"] == "company_not_linked"
        await h.settle()
        assert h.sent(UpsertRevioAsset) == []

        await link_company(h, customer_id="9009", company_id="rmm-9")
        (upsert,) = await h.wait_for(UpsertRevioAsset)
        assert (upsert.customer_id, upsert.identifier) == ("9009", "ep-9")
        assert (await h.wait_asset("ep-9", "pending"))["revio_customer_id"] == "9009"


async def test_the_revio_id_is_written_back_only_when_rmm_holds_something_else(start, tenant):
    async with start(**ON, write_revio_id_to_rmm=True) as h:
        await link_company(h)
        await h.publish(changed(tenant, endpoint("ep-1", serial_number="SN-1")))
        (upsert,) = await h.wait_for(UpsertRevioAsset)
        await h.answer(upsert, {"asset_id": "A-1"})
        (write,) = await h.wait_for(SetRmmEndpointCustomField)
        assert (write.endpoint_id, write.field_name, write.value) == (
            "ep-1",
            REVIO_ASSET_ID_FIELD,
            "A-1",
        )
        await h.answer(write)
        assert (await h.wait_asset("SN-1", "synced"))["revio_asset_id"] == "A-1"

        # RMM now reports the value (and a new hostname): the asset is updated, no write
        renamed = endpoint(
            "ep-1", serial_number="SN-1", hostname="new.acme.local", revio_asset_id="A-1"
        )
        await h.publish(changed(tenant, renamed))
        (_, update) = await h.wait_for(UpsertRevioAsset, count=2)
        assert update.asset_id == "A-1" and update.fields["hostname"] == "new.acme.local"
        # an endpoint whose field already holds its asset id is not written either
        await h.publish(
            changed(tenant, endpoint("ep-5", serial_number="SN-5", revio_asset_id="A-5"))
        )
        (first,) = await h.wait_for(UpsertRevioAsset, where=lambda u: u.identifier == "SN-5")
        await h.answer(first, {"asset_id": "A-5"})
        await h.wait_asset("SN-5", "synced")
        # someone clears the field in RMM: written again
        await h.publish(
            changed(tenant, endpoint("ep-5", serial_number="SN-5", revio_asset_id=None))
        )
        rewrite = await h.wait_for(SetRmmEndpointCustomField, count=2)
        await h.settle()
        assert [(w.endpoint_id, w.value) for w in rewrite] == [("ep-1", "A-1"), ("ep-5", "A-5")]
        assert len(h.sent(SetRmmEndpointCustomField)) == 2


async def synced_asset(h: Harness, endpoint_id: str, serial: str, asset_id: str) -> None:
    await h.publish(changed(h.tenant, endpoint(endpoint_id, serial_number=serial)))
    (upsert,) = await h.wait_for(UpsertRevioAsset)
    await h.answer(upsert, {"asset_id": asset_id})
    (write,) = await h.wait_for(SetRmmEndpointCustomField)
    await h.answer(write)
    await h.wait_asset(serial, "synced")


async def only_asset(h: Harness, serial: str, endpoint_id: str, asset_id: str) -> None:
    rows = await h.pool.fetch(
        "SELECT identifier, endpoint_id, revio_asset_id, state FROM assets WHERE tenant_id = $1",
        h.tenant,
    )
    assert [tuple(r) for r in rows] == [(serial, endpoint_id, asset_id, "synced")]
    assert {(u.identifier, u.asset_id) for u in h.sent(UpsertRevioAsset)[1:]} == {
        (serial, asset_id)
    }


async def test_reinstalling_an_agent_keeps_one_asset(start, tenant):
    async with start(**ON, write_revio_id_to_rmm=True) as h:
        await link_company(h)
        await synced_asset(h, "ep-old", "SN-77", "A-77")

        await h.publish(
            changed(tenant, endpoint("ep-new", serial_number="SN-77", hostname="re.local"))
        )
        (_, moved) = await h.wait_for(UpsertRevioAsset, count=2)
        assert (moved.asset_id, moved.identifier, moved.status) == ("A-77", "SN-77", "ACTIVE")
        assert moved.fields["rmm_endpoint_id"] == "ep-new"
        await h.answer(moved, {"asset_id": "A-77"})
        (_, rewrite) = await h.wait_for(SetRmmEndpointCustomField, count=2)
        assert (rewrite.endpoint_id, rewrite.value) == ("ep-new", "A-77")
        await h.answer(rewrite)

        # the old agent's endpoint is deleted afterwards: the asset follows the new one
        await h.publish(changed(tenant, endpoint("ep-old", serial_number="SN-77"), "deleted"))
        await h.settle()
        assert len(h.sent(UpsertRevioAsset)) == 2  # no retirement, no second asset
        await only_asset(h, "SN-77", "ep-new", "A-77")
        types = [t for t, _ in await h.events(E.asset_stream("SN-77"))]
        # the write-back's result and the deletion race: order between those two is free
        assert E.REPLACED in types
        assert E.DELETE_IGNORED in types[types.index(E.REPLACED) :]


async def test_an_agent_removed_before_its_reinstall_retires_then_revives_the_same_asset(
    start, tenant
):
    async with start(**ON) as h:
        await link_company(h)
        await h.publish(changed(tenant, endpoint("ep-a", serial_number="SN-88")))
        (upsert,) = await h.wait_for(UpsertRevioAsset)
        await h.answer(upsert, {"asset_id": "A-88"})
        await h.wait_asset("SN-88", "synced")
        await h.publish(changed(tenant, endpoint("ep-a", serial_number="SN-88"), "deleted"))
        (_, retire) = await h.wait_for(UpsertRevioAsset, count=2)
        assert retire.status == "RETIRED"
        await h.answer(retire, {"asset_id": "A-88"})
        await h.publish(changed(tenant, endpoint("ep-b", serial_number="SN-88")))
        (_, _, revive) = await h.wait_for(UpsertRevioAsset, count=3)
        assert (revive.asset_id, revive.status) == ("A-88", "ACTIVE")
        assert revive.fields["rmm_endpoint_id"] == "ep-b"
        await h.answer(revive, {"asset_id": "A-88"})
        # whatever order the results come back in, the asset ends active on the new endpoint
        # (an older write applied last is sent again: answer that too)
        await eventually(lambda: _synced_after(h, "SN-88", {"asset_id": "A-88"}))
        await only_asset(h, "SN-88", "ep-b", "A-88")


async def _synced_after(h: Harness, identifier: str, ids: dict[str, str]) -> bool:
    await h.answer_rest(UpsertRevioAsset, ids)
    row = await h.asset(identifier)
    return bool(row and row["state"] == "synced" and not row["folded"]["pending"])


async def test_a_deleted_endpoint_retires_its_asset(start, tenant):
    async with start(**ON) as h:
        await link_company(h)
        await h.publish(changed(tenant, endpoint("ep-3", serial_number="SN-3")))
        (upsert,) = await h.wait_for(UpsertRevioAsset)
        await h.answer(upsert, {"asset_id": "A-3"})
        await h.wait_asset("SN-3", "synced")
        await h.publish(changed(tenant, endpoint("ep-3", serial_number="SN-3"), "deleted"))
        (_, retire) = await h.wait_for(UpsertRevioAsset, count=2)
        assert (retire.asset_id, retire.status, retire.customer_id) == ("A-3", "RETIRED", "1001")
        await h.answer(retire, {"asset_id": "A-3"})
        row = await eventually(lambda: _recorded_retired(h, "SN-3"))
        assert row["revio_asset_id"] == "A-3"


async def _recorded_retired(h: Harness, identifier: str) -> dict | None:
    row = await h.asset(identifier)
    return row if row and row["state"] == "retired" and not row["folded"]["pending"] else None


async def test_duplicate_endpoint_deliveries_upsert_once(start, tenant):
    async with start(**ON) as h:
        await link_company(h)
        change = changed(tenant, endpoint("ep-4", serial_number="SN-4"))
        await h.publish(change)
        await h.redeliver(change)
        await h.wait_for(UpsertRevioAsset)
        await h.settle()
        assert len(h.sent(UpsertRevioAsset)) == 1


async def test_a_tenants_asset_commands_wait_their_turn_in_its_window(
    services: Background, start, tenant
):
    services.asset.window = CommandWindow(size=2)
    try:
        async with start(**ON, write_revio_id_to_rmm=True) as h:
            await link_company(h)
            for n in range(5):
                await h.publish(changed(tenant, endpoint(f"ep-{n}", serial_number=f"SN-{n}")))
            await h.wait_asset("SN-4", "pending")
            await h.settle()
            first = h.sent(UpsertRevioAsset)
            assert len(first) == 2  # 3 decided upserts wait for room
            held = await h.pool.fetchval(
                "SELECT count(*) FROM command_window WHERE tenant_id = $1 AND sent_at IS NULL",
                tenant,
            )
            assert held == 3

            # each answer lets one more through, upserts and write-backs in their own windows
            for _ in range(10):
                await h.answer_rest(UpsertRevioAsset, {"asset_id": "A-1"})
                await h.answer_rest(SetRmmEndpointCustomField, {})
                await h.settle(0.3)
                if (
                    len(h.sent(UpsertRevioAsset)) == 5
                    and len(h.sent(SetRmmEndpointCustomField)) == 5
                ):
                    break
            upserted = sorted(c.identifier for c in h.sent(UpsertRevioAsset))
            assert upserted == [f"SN-{n}" for n in range(5)]  # each once, none lost
            assert len(h.sent(SetRmmEndpointCustomField)) == 5
            for n in range(5):
                assert (await h.asset(f"SN-{n}") or {}).get("state") == "synced"
    finally:
        services.asset.window = DEFAULT_WINDOW


async def test_recording_gives_the_state_the_projection_holds(pool: asyncpg.Pool, tenant: str):
    """`AssetTx.record` folds what it appended instead of reading the row back: the two must
    be the same state, and an endpoint finds its asset again, by serial or by id."""
    settings = SyncSettings(write_revio_id_to_rmm=True, **ON)  # type: ignore[arg-type]
    item = endpoint("ep-fold", serial_number="SN-FOLD-1")
    change = changed(tenant, item)
    async with UnitOfWork(pool, tenant, "asset-fold-test", cause=change) as uow:
        tx = AssetTx(uow)
        asset = await tx.asset_of(item)
        assert (asset.identifier, asset.version) == ("SN-FOLD-1", 0)
        ctx = DecisionContext.of(change, utc_now())
        observed = await tx.record(asset, observe_endpoint(ctx, asset, change))
        decided = await tx.record(observed, decide_asset(ctx, observed, settings, "1001"))
        assert decided.state == "pending" and decided.version == 2
        assert decided.latest_upsert is not None
        assert decided == await tx.asset("SN-FOLD-1")
    async with UnitOfWork(pool, tenant, "asset-fold-test") as uow:
        tx = AssetTx(uow)
        again = await tx.asset_of(item.model_copy(update={"serial_number": None}))
        assert again == decided  # by the endpoint id it was recorded with
        # a result finds the asset that sent the command, and the command's verb
        assert await tx.commanded(UUID(decided.latest_upsert)) == (decided, E.UPSERT_VERB)
        assert await tx.commanded(uuid4()) is None


async def test_a_new_endpoint_is_observed_and_decided_in_at_most_thirteen_round_trips(
    services: Background, start, tenant
):
    """The tenant's settings (this harness reads them each time), BEGIN, the inbox claim,
    the asset, the company's link (its lock, then the row), one append of the observation
    and the upsert together, the projection's load and its three writes (asset, endpoint,
    command), the command window, COMMIT. It was 16: an append each, folded one by one."""
    async with start(**ON) as h:
        await link_company(h)
        await services.asset.on_endpoint(changed(tenant, endpoint("ep-w", serial_number="SN-W")))
        change = changed(tenant, endpoint("ep-c", serial_number="SN-C"))
        with counted_round_trips() as trips:
            await services.asset.on_endpoint(change)
        assert (await h.asset("SN-C") or {}).get("state") == "pending"
        assert len(trips) <= 13, "\n".join(trips)
