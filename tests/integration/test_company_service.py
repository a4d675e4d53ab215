"""The company service against real NATS and PostgreSQL: changes in as the connectors
publish them, commands out through the outbox to the COMMANDS stream, results back."""

from collections.abc import AsyncIterator
from types import SimpleNamespace
from uuid import uuid4

import asyncpg
import pytest
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from revsync.command_window import DEFAULT_WINDOW, CommandWindow
from revsync.contracts import Subjects
from revsync.contracts.base import ResultStatus
from revsync.contracts.revio import (
    CreateRevioCustomer,
    RevioAddress,
    RevioCustomer,
    RevioCustomerChanged,
    UpdateRevioCustomer,
)
from revsync.contracts.rmm import (
    CreateRmmCompany,
    CreateRmmSite,
    RmmCompany,
    RmmCompanyChanged,
    RmmSite,
    UpdateRmmCompany,
)
from revsync.devservers import DevServers
from revsync.eventlog import EventStore
from revsync.messaging import publish
from revsync.messaging.backlog import changes_waiting
from revsync.projection import replay

from services.asset.projections import PROJECTIONS as ASSET_PROJECTIONS
from services.company import events as E
from services.company import manual
from services.company.decide import customer_party, rmm_party
from services.company.naming import company_description
from services.company.projections import PROJECTIONS as COMPANY_PROJECTIONS
from services.company.state import fold_link
from services.company.store import CompanyTx
from tests.integration.domain_harness import Background, Harness, background, eventually, harness

pytestmark = pytest.mark.timeout(60)


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


def customer_changed(
    tenant: str, customer: RevioCustomer, kind: str = "changed", **run: object
) -> RevioCustomerChanged:
    return RevioCustomerChanged(tenant_id=tenant, kind=kind, customer=customer, **run)  # type: ignore[arg-type]


def company_changed(
    tenant: str, company: RmmCompany, kind: str = "changed", **run: object
) -> RmmCompanyChanged:
    return RmmCompanyChanged(tenant_id=tenant, kind=kind, company=company, **run)  # type: ignore[arg-type]


ACME = RevioCustomer(
    id="1001",
    name="Acme, Inc.",
    email="ops@acme.test",
    addresses=(
        RevioAddress(
            id="a1",
            first_name="Jane",
            last_name="Doe",
            line_1="1 Main St",
            city="Tampa",
            postal_code="33601",
        ),
        RevioAddress(id="a2", line_1="9 Harbor Dr", city="Tampa", postal_code="33602"),
    ),
)


async def linked_pair(h: Harness, customer: RevioCustomer, company_id: str) -> RmmCompany:
    """A customer and an RMM company already in sync, linked by their exact name."""
    sites = tuple(
        RmmSite(
            id=f"{company_id}-{a.id}",
            company_id=company_id,
            name=a.city or "site",
            address_line_1=a.line_1,
            city=a.city,
            postal_code=a.postal_code,
        )
        for a in customer.addresses
    )
    company = RmmCompany(
        id=company_id, name=customer.name, description=company_description(customer), sites=sites
    )
    await h.publish(customer_changed(h.tenant, customer))
    await h.publish(company_changed(h.tenant, company))
    await h.wait_link(customer.id, "linked")
    await h.settle(0.3)
    return company


async def test_create_mode_on_creates_the_company_then_its_sites_when_the_result_comes(
    start, tenant
):
    async with start(create_mode=True) as h:
        await h.initial_sync()
        await h.publish(customer_changed(tenant, ACME))
        (create,) = await h.wait_for(CreateRmmCompany)
        assert create.name == "Acme, Inc." and create.active and create.revio_customer_id == "1001"
        assert create.description == "Rev.io ID: 1001\nContact: Jane Doe, ops@acme.test"
        assert (await h.link("1001"))["state"] == "creating"

        await h.answer(create, {"company_id": "rmm-100"})
        row = await h.wait_link("1001", "linked")
        assert (row["rmm_company_id"], row["rule"]) == ("rmm-100", "created_in_rmm")
        sites = await h.wait_for(CreateRmmSite, count=2)
        assert {s.revio_address_id for s in sites} == {"a1", "a2"}
        assert {s.company_id for s in sites} == {"rmm-100"}
        assert {s.site.address_line_1 for s in sites} == {"1 Main St", "9 Harbor Dr"}

        for n, site in enumerate(sites):
            await h.answer(site, {"site_id": f"site-{n}"})
        await eventually(lambda: _sites_mapped(h, "1001", 2))
        # the connector then reports the company as created: nothing more to do
        reported = RmmCompany(
            id="rmm-100",
            name="Acme, Inc.",
            description=create.description,
            sites=tuple(
                RmmSite(id=f"site-{n}", company_id="rmm-100", name=s.site.name, **_address(s.site))
                for n, s in enumerate(sites)
            ),
        )
        await h.publish(company_changed(tenant, reported))
        await h.settle()
        assert len(h.received) == 3  # one company, two sites
        types = [t for t, _ in await h.events(E.link_stream("1001"))]
        assert types[:3] == [E.CUSTOMER_OBSERVED, E.RMM_CREATE_REQUESTED, E.RMM_CREATED]
        assert E.LINKED in types and types.count(E.SITE_CREATED) == 2


def _address(site: RmmSite) -> dict[str, object]:
    return site.model_dump(
        include={"address_line_1", "address_line_2", "city", "state", "postal_code", "country"}
    )


async def _sites_mapped(h: Harness, customer_id: str, count: int) -> bool:
    row = await h.link(customer_id)
    return row is not None and len(row["folded"]["sites"]) == count


async def test_create_mode_off_holds_the_customer_and_the_log_says_why(start, tenant):
    async with start(create_mode=False) as h:
        await h.publish(customer_changed(tenant, ACME))
        row = await h.wait_link("1001", "held")
        assert row["rule"] == "create_mode_off"
        await h.settle()
        assert h.received == []
        (_, held) = (await h.events(E.link_stream("1001")))[-1]
        assert held["rule"] == "create_mode_off" and held["create_mode"] is False
        assert held["name"] == "Acme, Inc." and held["match"]["normalized_name"] == "acme"

        # its company shows up in RMM later under the same name: linked then
        await h.publish(company_changed(tenant, RmmCompany(id="rmm-7", name="ACME INC")))
        row = await h.wait_link("1001", "linked")
        assert (row["rmm_company_id"], row["rule"]) == ("rmm-7", "exact_name")
        (update,) = await h.wait_for(UpdateRmmCompany)
        assert update.company_id == "rmm-7" and update.name == "Acme, Inc."


async def test_an_rmm_company_carrying_the_revio_id_as_external_id_is_linked_by_strong_key(
    start, tenant
):
    async with start(create_mode=False) as h:
        await h.publish(customer_changed(tenant, ACME))
        await h.wait_link("1001", "held")
        # another product's id and the Rev.io customer id, under a name nothing like Acme's
        stamped = RmmCompany(id="rmm-51", name="Zeta Holdings", external_ids=("1001", "PSA-77"))
        await h.publish(company_changed(tenant, stamped))
        row = await h.wait_link("1001", "linked")
        assert (row["rmm_company_id"], row["rule"]) == ("rmm-51", "strong_key")
        (update,) = await h.wait_for(UpdateRmmCompany)  # Rev.io wins: its name and marker
        assert (update.company_id, update.name) == ("rmm-51", "Acme, Inc.")
        assert update.description == company_description(ACME)
        left = await h.row("rmm_companies", "rmm_company_id", "rmm-51")
        assert left is not None and left["revio_ref"] == "1001 PSA-77"


async def test_before_the_first_sync_run_nothing_is_created_only_held_until_a_run_matches(
    start, tenant
):
    """The connectors poll as soon as the tenant is saved: a customer is reported before RMM
    was listed. Linking happens at once; creating waits for the first run to match."""
    globex = RevioCustomer(id="1002", name="Globex")
    async with start(create_mode=True) as h:
        await h.publish(customer_changed(tenant, ACME))
        row = await h.wait_link("1001", "held")
        assert row["rule"] == "waiting_for_initial_sync"
        (_, held) = (await h.events(E.link_stream("1001")))[-1]
        assert (held["rule"], held["create_mode"], held["listed"]) == (
            "waiting_for_initial_sync",
            True,
            False,
        )
        assert held["match"]["normalized_name"] == "acme"
        # an exact name is linked without waiting for the run
        await h.publish(customer_changed(tenant, globex))
        await h.publish(company_changed(tenant, RmmCompany(id="rmm-8", name="GLOBEX LLC")))
        linked = await h.wait_link("1002", "linked")
        assert (linked["rmm_company_id"], linked["rule"]) == ("rmm-8", "exact_name")
        await h.settle()
        assert h.sent(CreateRmmCompany) == []

        # the first run lists other records only: the waiting customer is decided by it
        await h.initial_sync()
        (create,) = await h.wait_for(CreateRmmCompany)
        assert create.revio_customer_id == "1001"
        assert (await h.link("1001"))["state"] == "creating"


async def test_a_customer_seen_before_its_company_was_listed_is_linked_by_the_run_not_created(
    start, tenant
):
    run = uuid4()
    async with start(create_mode=True) as h:
        await h.publish(customer_changed(tenant, ACME))
        await h.wait_link("1001", "held")
        await h.publish(customer_changed(tenant, ACME, "seen", sync_run_id=run, total=1))
        await h.publish(
            company_changed(
                tenant, RmmCompany(id="rmm-9", name="ACME INC"), "seen", sync_run_id=run, total=1
            )
        )
        await eventually(lambda: h.run_matched(run))
        row = await h.link("1001")
        assert (row["state"], row["rmm_company_id"], row["rule"]) == (
            "linked",
            "rmm-9",
            "exact_name",
        )
        await h.settle()
        assert h.sent(CreateRmmCompany) == []


async def test_a_record_polled_while_a_run_is_listing_is_left_to_the_runs_batch(start, tenant):
    """A poll's observation (no run id) of an unlinked record while a run lists is not
    matched at once (that takes the exclusive matching lock and stalls the run's own
    observations): it is recorded as left to the run, whose batch matches it even though
    the run's listing never had it."""
    run = uuid4()
    globex = RevioCustomer(id="1002", name="Globex")
    async with start(create_mode=True) as h:
        await h.publish(customer_changed(tenant, ACME, "seen", sync_run_id=run, total=2))
        await h.wait_link("1001", "unlinked")
        await h.publish(company_changed(tenant, RmmCompany(id="rmm-9", name="ACME INC")))
        await eventually(lambda: h.row("rmm_companies", "rmm_company_id", "rmm-9"))
        (_, observed) = (await h.events(E.rmm_stream("rmm-9")))[-1]
        assert (observed["sync_run_id"], observed["left_for_run"]) == (None, str(run))
        assert (await h.link("1001"))["state"] == "unlinked"  # not matched yet

        await h.publish(customer_changed(tenant, globex, "seen", sync_run_id=run, total=2))
        await h.publish(
            company_changed(
                tenant, RmmCompany(id="rmm-8", name="GLOBEX LLC"), "seen", sync_run_id=run, total=1
            )
        )
        matched = await eventually(lambda: h.run_matched(run))
        assert matched["counts"] == {"linked": 2}
        acme, linked_globex = await h.link("1001"), await h.link("1002")
        assert (acme["state"], acme["rmm_company_id"]) == ("linked", "rmm-9")
        assert (linked_globex["state"], linked_globex["rmm_company_id"]) == ("linked", "rmm-8")
        await h.settle()
        assert h.sent(CreateRmmCompany) == []


async def test_initial_sync_links_confident_matches_and_suggests_the_rest(start, tenant):
    run = uuid4()
    customers = [
        RevioCustomer(id="1", name="Acme, Inc."),
        RevioCustomer(id="2", name="Smith & Sons"),
        RevioCustomer(id="3", name="Harbor Dental LLC"),
        RevioCustomer(id="4", name="Globex"),
        RevioCustomer(id="5", name="GLOBEX LLC"),
        RevioCustomer(id="7", name="Zeta Labs"),
    ]
    companies = [
        RmmCompany(id="r1", name="ACME INC"),
        RmmCompany(id="r2", name="Smith and Sons"),
        RmmCompany(id="r3", name="Harbour Dental"),
        RmmCompany(id="r4", name="Globex"),
        RmmCompany(id="r7", name="ZL Networks", description="Managed since 2019\nRev.io ID: 7"),
    ]
    async with start(create_mode=True) as h:
        for n in range(max(len(customers), len(companies))):
            if n < len(companies):
                await h.publish(
                    company_changed(
                        tenant, companies[n], "seen", sync_run_id=run, total=len(companies)
                    )
                )
            if n < len(customers):
                await h.publish(
                    customer_changed(
                        tenant, customers[n], "seen", sync_run_id=run, total=len(customers)
                    )
                )

        matched = await eventually(lambda: h.run_matched(run))
        assert matched["counts"] == {"linked": 3, "suggested": 3, "rmm_left_unlinked": 2}
        rows = {cid: await h.link(cid) for cid in ("1", "2", "3", "4", "5", "7")}
        assert {cid: (r["state"], r["rule"], r["rmm_company_id"]) for cid, r in rows.items()} == {
            "1": ("linked", "exact_name", "r1"),
            "2": ("linked", "exact_name", "r2"),
            "3": ("suggested", "fuzzy_name", "r3"),
            "4": ("suggested", "ambiguous_name", "r4"),
            "5": ("suggested", "ambiguous_name", "r4"),
            "7": ("linked", "strong_key", "r7"),
        }
        assert rows["3"]["score"] > 90 and rows["4"]["score"] == 100
        # create mode is on, yet nothing suggested or ambiguous is created in RMM
        updates = await h.wait_for(UpdateRmmCompany, count=3)
        await h.settle()
        assert h.sent(CreateRmmCompany) == []
        assert {u.company_id: u.name for u in updates} == {
            "r1": "Acme, Inc.",
            "r2": "Smith & Sons",
            "r7": "Zeta Labs",
        }
        left = await h.row("rmm_companies", "rmm_company_id", "r3")
        assert (left["state"], left["rule"]) == ("unlinked", "suggested_for_review")
        await parties_read_from_columns_are_those_of_the_states(h.pool, tenant)

        report = await manual.confirm_all(h.pool, tenant, run, actor="alice")
        assert report.confirmed == ["4", "3"]
        assert report.skipped == {"5": "RMM company r4 is linked already"}
        confirmed = await h.link("3")
        assert (confirmed["state"], confirmed["rule"], confirmed["decided_by"]) == (
            "linked",
            "suggestion_confirmed",
            "alice",
        )
        await manual.reject(h.pool, tenant, "5", actor="alice")
        rejected = await h.link("5")
        assert rejected["state"] == "rejected" and rejected["excluded"] == ["r4"]
        await parties_read_from_columns_are_those_of_the_states(h.pool, tenant)


async def parties_read_from_columns_are_those_of_the_states(pool: asyncpg.Pool, tenant: str):
    """A steady-state match reads the parties from the projections' columns; they must be
    what `rmm_party` / `customer_party` make of the folded states (strong keys from a
    description marker, exclusions, claimable or not)."""
    async with pool.acquire() as conn:
        tx = CompanyTx(SimpleNamespace(conn=conn, tenant_id=tenant))  # type: ignore[arg-type]
        rmms = [rmm_party(r) for r in await tx.open_rmm_companies()]
        customers = [(customer_party(c), c.excluded) for c in await tx.open_links()]
        assert rmms or customers
        assert await tx.open_rmm_parties() == rmms
        assert await tx.open_customer_parties() == customers


async def test_a_manual_link_survives_a_later_sync_run(start, tenant):
    initech = RevioCustomer(id="2001", name="Initech")
    async with start() as h:
        await h.publish(customer_changed(tenant, initech))
        await h.publish(company_changed(tenant, RmmCompany(id="r-20", name="Initrode Holdings")))
        await h.wait_link("2001", "held")
        await eventually(lambda: h.row("rmm_companies", "rmm_company_id", "r-20"))
        await h.processed()

        await manual.link(h.pool, tenant, "2001", "r-20", actor="alice")
        row = await h.link("2001")
        assert (row["state"], row["rule"], row["decided_by"]) == ("linked", "manual_link", "alice")
        (rename,) = await h.wait_for(UpdateRmmCompany)
        assert rename.name == "Initech"

        run = uuid4()  # a later sync run lists an RMM company with the customer's exact name
        await h.publish(customer_changed(tenant, initech, "seen", sync_run_id=run, total=1))
        for company in (
            RmmCompany(id="r-20", name="Initech"),
            RmmCompany(id="r-21", name="Initech"),
        ):
            await h.publish(company_changed(tenant, company, "seen", sync_run_id=run, total=2))
        await eventually(lambda: h.run_matched(run))
        row = await h.link("2001")
        assert (row["state"], row["rmm_company_id"], row["decided_by"]) == (
            "linked",
            "r-20",
            "alice",
        )
        other = await h.row("rmm_companies", "rmm_company_id", "r-21")
        assert (other["state"], other["rule"]) == ("unlinked", "rmm_to_revio_sync_off")


async def test_a_runs_company_updates_wait_their_turn_and_a_persons_link_does_not(
    services: Background, start, tenant
):
    services.company.window = CommandWindow(size=1)
    run = uuid4()
    customers = [RevioCustomer(id=str(n), name=f"Firm {n}") for n in range(1, 4)]
    companies = [RmmCompany(id=f"r{n}", name=f"FIRM {n} LLC") for n in range(1, 4)]
    try:
        async with start() as h:
            await h.publish(customer_changed(tenant, RevioCustomer(id="9", name="Lone")))
            await h.publish(company_changed(tenant, RmmCompany(id="r9", name="Other")))
            for customer, company in zip(customers, companies, strict=True):
                await h.publish(company_changed(tenant, company, "seen", sync_run_id=run, total=3))
                await h.publish(
                    customer_changed(tenant, customer, "seen", sync_run_id=run, total=3)
                )
            matched = await eventually(lambda: h.run_matched(run))
            assert matched["counts"]["linked"] == 3
            await h.settle()
            assert len(h.sent(UpdateRmmCompany)) == 1  # the other two wait for its answer

            await manual.link(h.pool, tenant, "9", "r9", actor="alice")
            await h.wait_for(UpdateRmmCompany, where=lambda u: u.company_id == "r9")

            for _ in range(10):
                waiting = [u for u in h.sent(UpdateRmmCompany) if u.message_id not in h.answered]
                for update in waiting:
                    await h.answer(update, {"company_id": update.company_id})
                await h.settle(0.3)
                if len(h.sent(UpdateRmmCompany)) == 4:
                    break
            renamed = sorted(u.name for u in h.sent(UpdateRmmCompany))
            assert renamed == ["Firm 1", "Firm 2", "Firm 3", "Lone"]  # each once
    finally:
        services.company.window = DEFAULT_WINDOW


async def test_inbound_sync_off_puts_an_rmm_edit_back(start, tenant):
    async with start(rmm_to_revio_sync=False) as h:
        company = await linked_pair(h, ACME, "rmm-30")
        assert h.received == []  # in sync already
        await h.publish(
            company_changed(tenant, company.model_copy(update={"name": "Acme Renamed"}))
        )
        (revert,) = await h.wait_for(UpdateRmmCompany)
        assert revert.name == "Acme, Inc."
        await h.settle()
        assert h.sent(UpdateRevioCustomer) == []
        (_, requested) = (await h.events(E.link_stream("1001")))[-1]
        assert requested["changes"]["name"]["rule"] == "rmm_to_revio_sync_off"


async def test_inbound_sync_on_flows_back_and_revio_wins_conflicting_edits(start, tenant):
    async with start(rmm_to_revio_sync=True) as h:
        company = await linked_pair(h, ACME, "rmm-31")
        # an edit in RMM alone flows back to Rev.io
        await h.publish(
            company_changed(tenant, company.model_copy(update={"name": "Acme Holdings"}))
        )
        (inbound,) = await h.wait_for(UpdateRevioCustomer)
        assert (inbound.customer_id, inbound.name) == ("1001", "Acme Holdings")

        # while that write is in flight, Rev.io is edited too: a conflict, Rev.io wins
        await h.publish(customer_changed(tenant, ACME.model_copy(update={"name": "Acme Revio"})))
        (to_rmm,) = await h.wait_for(UpdateRmmCompany)
        assert (to_rmm.company_id, to_rmm.name) == ("rmm-31", "Acme Revio")
        (_, again) = await h.wait_for(UpdateRevioCustomer, count=2)
        assert again.name == "Acme Revio"  # our in-flight write is overruled in Rev.io too
        conflicts = [
            d for t, d in await h.events(E.link_stream("1001")) if t == E.CONFLICT_RESOLVED
        ]
        assert [(c["rule"], c["field"], c["revio_value"]) for c in conflicts] == [
            ("revio_wins", "name", "Acme Revio")
        ]
        for command in (inbound, to_rmm, again):
            await h.answer(command)
        await h.settle()

        # the other way round: Rev.io edited, and RMM edited before our write landed
        await h.publish(customer_changed(tenant, ACME.model_copy(update={"name": "Acme Two"})))
        (_, push) = await h.wait_for(UpdateRmmCompany, count=2)
        assert push.name == "Acme Two"
        await h.publish(
            company_changed(tenant, company.model_copy(update={"name": "Acme RMM Edit"}))
        )
        (_, _, repeat) = await h.wait_for(UpdateRmmCompany, count=3)
        assert repeat.name == "Acme Two"
        await h.settle()
        assert len(h.sent(UpdateRevioCustomer)) == 2  # the RMM edit did not flow back


async def test_an_rmm_edit_refused_by_revio_as_stale_is_not_retried_and_revio_wins(start, tenant):
    async with start(rmm_to_revio_sync=True) as h:
        company = await linked_pair(h, ACME, "rmm-32")
        await h.publish(
            company_changed(tenant, company.model_copy(update={"name": "Acme RMM Edit"}))
        )
        (inbound,) = await h.wait_for(UpdateRevioCustomer)
        assert (inbound.name, inbound.expected) == ("Acme RMM Edit", {"name": "Acme, Inc."})
        # a person renamed the customer in Rev.io meanwhile: its connector refuses the write
        await h.answer(inbound, status=ResultStatus.CONFLICT)
        await h.settle()
        refused = [d for t, d in await h.events(E.link_stream("1001")) if t == E.INBOUND_CONFLICTED]
        assert [(d["rule"], d["fields"], d["status"]) for d in refused] == [
            ("revio_wins", ["name"], "conflict")
        ]
        assert len(h.sent(UpdateRevioCustomer)) == 1  # not retried

        # the person's edit is then reported: both sides changed, Rev.io wins in RMM
        await h.publish(customer_changed(tenant, ACME.model_copy(update={"name": "Acme Revio"})))
        (to_rmm,) = await h.wait_for(UpdateRmmCompany)
        assert (to_rmm.company_id, to_rmm.name) == ("rmm-32", "Acme Revio")
        await h.settle()
        assert len(h.sent(UpdateRevioCustomer)) == 1


async def test_an_unmatched_rmm_company_becomes_a_revio_customer_with_inbound_sync_on(
    start, tenant
):
    """Once Rev.io was listed in full: before the first sync run it waits for it."""
    settings = {"rmm_to_revio_sync": True, "bill_profile": "12", "customer_identity": "BUSINESS"}
    site = RmmSite(
        id="s-1", company_id="rmm-40", name="HQ", address_line_1="4 Oak Ave", city="Austin"
    )
    async with start(**settings) as h:
        await h.publish(
            company_changed(tenant, RmmCompany(id="rmm-40", name="Zeta Labs", sites=(site,)))
        )
        row = await eventually(lambda: _with_rule(h, "rmm-40"))
        assert (row["state"], row["rule"]) == ("unlinked", "waiting_for_initial_sync")
        (_, waiting) = (await h.events(E.rmm_stream("rmm-40")))[-1]
        assert waiting["rmm_to_revio_sync"] is True and waiting["listed"] is False
        await h.settle()
        assert h.sent(CreateRevioCustomer) == []

        await h.initial_sync()  # lists a pair in sync; rmm-40 is decided by the run anyway
        (create,) = await h.wait_for(CreateRevioCustomer)
        assert (create.rmm_company_id, create.name) == ("rmm-40", "Zeta Labs")
        assert (create.bill_profile_id, create.customer_class) == ("12", "BUSINESS")
        assert create.address and create.address.line_1 == "4 Oak Ave"
        await h.answer(create, {"customer_id": "4001"})
        row = await h.wait_link("4001", "linked")
        assert (row["rmm_company_id"], row["rule"]) == ("rmm-40", "created_in_revio")
        (describe,) = await h.wait_for(UpdateRmmCompany)  # the strong key goes into RMM
        assert describe.description and describe.description.startswith("Rev.io ID: 4001")


async def test_inbound_sync_off_leaves_a_new_rmm_company_unlinked_for_review(start, tenant):
    async with start() as h:
        await h.publish(company_changed(tenant, RmmCompany(id="rmm-41", name="Zeta Labs")))
        row = await eventually(lambda: h.row("rmm_companies", "rmm_company_id", "rmm-41"))
        row = await eventually(lambda: _with_rule(h, "rmm-41"))
        assert (row["state"], row["rule"]) == ("unlinked", "rmm_to_revio_sync_off")
        await h.settle()
        assert h.received == []


async def _with_rule(h: Harness, rmm_company_id: str) -> dict | None:
    row = await h.row("rmm_companies", "rmm_company_id", rmm_company_id)
    return row if row and row["rule"] else None


async def test_a_failed_creation_holds_the_customer(start, tenant):
    async with start(create_mode=True) as h:
        await h.initial_sync()
        await h.publish(customer_changed(tenant, ACME))
        (create,) = await h.wait_for(CreateRmmCompany)
        await h.answer(create, status=ResultStatus.REJECTED)
        row = await h.wait_link("1001", "held")
        assert row["rule"] == "rmm_company_creation_failed"


async def test_duplicate_deliveries_decide_nothing_twice(start, tenant):
    async with start(create_mode=True) as h:
        await h.initial_sync()
        change = customer_changed(tenant, ACME)
        await h.publish(change)
        await h.redeliver(change)
        (create,) = await h.wait_for(CreateRmmCompany)
        result = await h.answer(create, {"company_id": "rmm-50"})
        await h.redeliver(result)
        await h.wait_link("1001", "linked")
        await h.settle()
        types = [t for t, _ in await h.events(E.link_stream("1001"))]
        assert types.count(E.CUSTOMER_OBSERVED) == 1 and types.count(E.LINKED) == 1
        assert len(h.sent(CreateRmmCompany)) == 1 and len(h.sent(CreateRmmSite)) == 2


async def test_read_models_are_folds_of_the_log_and_replay_rebuilds_them(start, tenant):
    async with start(create_mode=True) as h:
        await h.initial_sync()
        await h.publish(customer_changed(tenant, ACME))
        (create,) = await h.wait_for(CreateRmmCompany)
        await h.answer(create, {"company_id": "rmm-60"})
        await h.wait_for(CreateRmmSite, count=2)
        await h.publish(company_changed(tenant, RmmCompany(id="rmm-61", name="Unrelated Ltd")))
        await eventually(lambda: _with_rule(h, "rmm-61"))
        await h.settle()

        recorded = await EventStore(h.pool).read_stream(tenant, E.link_stream("1001"))
        row = await h.link("1001")
        assert fold_link("1001", recorded).model_dump(mode="json") == row["folded"]

        before = await _read_models(h)
        await replay(h.pool, [*COMPANY_PROJECTIONS, *ASSET_PROJECTIONS])
        assert await _read_models(h) == before


async def test_a_linked_rmm_company_deleted_in_rmm_shows_on_its_link_until_seen_again(
    start, tenant
):
    """Its observations go to the link's stream, so the company's own row never sees the
    deletion: the link's row says it (`rmm_deleted`), replay gives the same rows, and a
    later observation of the company (or an unlink) clears it."""
    async with start() as h:
        company = await linked_pair(h, ACME, "rmm-70")
        assert (await h.link("1001"))["rmm_deleted"] is False

        await h.publish(company_changed(tenant, company, "deleted"))
        await eventually(lambda: _link_where(h, "1001", rmm_deleted=True))
        await h.settle()
        row = await h.link("1001")
        assert (row["state"], row["rmm_company_id"], row["deleted"]) == ("linked", "rmm-70", False)
        assert row["folded"]["rmm_deleted"] is True
        rmm = await h.row("rmm_companies", "rmm_company_id", "rmm-70")
        assert (rmm["state"], rmm["deleted"]) == ("linked", False)  # never saw it

        before = await _read_models(h)
        await replay(h.pool, [*COMPANY_PROJECTIONS, *ASSET_PROJECTIONS])
        assert await _read_models(h) == before

        await h.publish(company_changed(tenant, company))  # there again after all
        await eventually(lambda: _link_where(h, "1001", rmm_deleted=False))
        await h.settle()
        assert (await h.link("1001"))["state"] == "linked"

        await h.publish(company_changed(tenant, company, "deleted"))
        await eventually(lambda: _link_where(h, "1001", rmm_deleted=True))
        await h.settle()
        await manual.unlink(h.pool, tenant, "1001", actor="alice")
        row = await h.link("1001")
        assert (row["state"], row["rmm_deleted"]) == ("unlinked", False)
        # released, the company is known deleted: out of matching and the unlinked search
        rmm = await h.row("rmm_companies", "rmm_company_id", "rmm-70")
        assert (rmm["state"], rmm["deleted"]) == ("unlinked", True)


async def _link_where(h: Harness, customer_id: str, **expected: object) -> bool:
    row = await h.link(customer_id)
    return row is not None and all(row[k] == v for k, v in expected.items())


async def _read_models(h: Harness) -> dict[str, list]:
    tables = ("company_links", "rmm_companies", "company_commands", "company_sync_runs", "assets")
    found = {}
    for table in tables:
        rows = await h.pool.fetch(
            f"SELECT * FROM {table} WHERE tenant_id = $1 ORDER BY 2", h.tenant
        )
        found[table] = [dict(row) for row in rows]
    return found


async def test_changes_waiting_follows_a_consumers_pending_and_unacked_messages(
    js: JetStreamContext, tenant: str
):
    """What holds a quiet-only sync run back: a change not yet delivered to, or not yet
    acknowledged by, the service's consumers."""
    durable = f"company-quiet-{tenant}"
    subject = Subjects.filter("change", tenant, "revio", "customer")
    await js.add_consumer(
        "CHANGES", ConsumerConfig(durable_name=durable, filter_subject=subject, ack_wait=30)
    )
    try:
        assert not await changes_waiting(js, "CHANGES", [durable])
        assert not await changes_waiting(js, "CHANGES", [f"not-deployed-{tenant}"])
        await publish(js, customer_changed(tenant, ACME))
        assert await changes_waiting(js, "CHANGES", [durable])  # pending
        sub = await js.pull_subscribe_bind(durable, stream="CHANGES")
        (message,) = await sub.fetch(1, timeout=5)
        assert await changes_waiting(js, "CHANGES", [durable])  # delivered, not acknowledged
        await message.ack_sync()
        assert not await changes_waiting(js, "CHANGES", [durable])
    finally:
        await js.delete_consumer("CHANGES", durable)
