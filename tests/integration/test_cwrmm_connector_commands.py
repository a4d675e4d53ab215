"""RMM command handlers through real NATS and PostgreSQL against the sandbox: results name
what was created, a command processed twice reaches the vendor once, creates find what a
crashed attempt made, permanent refusals are answered with classified failures, and under
429 storms, 5xx bursts and malformed JSON no command is lost and nothing is duplicated."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from nats.js import JetStreamContext
from revsync.contracts import ResultStatus
from revsync.contracts.rmm import (
    AddRmmTicketNote,
    CloseRmmTicket,
    CreateRmmCompany,
    CreateRmmSite,
    CreateRmmTicket,
    RmmSite,
    SetRmmEndpointCustomField,
    UpdateRmmCompany,
    UpdateRmmSite,
    UpdateRmmTicket,
)
from revsync.devservers import DevServers
from revsync.messaging import publish
from revsync.runtime import ServiceContext
from revsync.vendor.metrics import calls_made

from services.cwrmm_connector import markers
from services.sandbox.common.faults import FaultRule, Storm429
from tests.integration.cwrmm_connector_support import (
    RmmTenant,
    Sandbox,
    make_connector,
    make_tenant,
    results,
    rmm_sandbox_fixture,  # noqa: F401
    running_connector,
)

POST_COMPANIES = "POST /api/platform/v1/company/companies"


@pytest.fixture(autouse=True)
def no_faults_left(rmm_sandbox: Sandbox) -> Iterator[None]:
    yield
    rmm_sandbox.control.faults.clear()


@pytest.fixture
async def rmm(pool: asyncpg.Pool, tenant: str, rmm_sandbox: Sandbox) -> RmmTenant:
    return await make_tenant(pool, rmm_sandbox, tenant)


@pytest.fixture
async def app(
    servers: DevServers, database_url: str, tenant: str, rmm: RmmTenant
) -> AsyncIterator[ServiceContext]:
    async with running_connector(
        servers.nats_url, database_url, tenant, rmm_command_workers=4
    ) as ctx:
        yield ctx


def lookup(rmm: RmmTenant, kind: str, name: str) -> str:
    return next(e["id"] for e in rmm.store.lookups[kind] if e["name"] == name)


def companies_marked(rmm: RmmTenant, revio_id: str) -> list[dict]:
    return [
        c
        for c in rmm.store.companies.values()
        if markers.revio_customer_id(c.get("description")) == revio_id
    ]


async def test_commands_through_nats_are_answered_with_what_they_created(
    app: ServiceContext, js: JetStreamContext, tenant: str, rmm: RmmTenant
):
    create = CreateRmmCompany(
        tenant_id=tenant, revio_customer_id="C-1", name="Harbor Dental", description="Dentist"
    )
    await publish(js, create)
    (created,) = await results(js, tenant, 1)
    assert created.ok and created.command_id == create.message_id
    company_id = created.external_ids["company_id"]
    assert rmm.store.companies[company_id]["description"] == "Dentist\nRev.io ID: C-1"

    endpoint_id = next(iter(rmm.store.endpoints))
    site = RmmSite(id="", company_id=company_id, name="Main", city="Tampa", country="US")
    ticket = CreateRmmTicket(
        tenant_id=tenant, revio_ticket_id="R-9", company_id=company_id, summary="No e-mail",
        description="Outlook fails", board_id=lookup(rmm, "serviceBoards", "Help Desk"),
        source_id=lookup(rmm, "sources", "Manual"),
    )  # fmt: skip
    for command in (
        UpdateRmmCompany(tenant_id=tenant, company_id=company_id, name="Harbor Dental LLC"),
        CreateRmmSite(tenant_id=tenant, company_id=company_id, revio_address_id="A-1", site=site),
        SetRmmEndpointCustomField(
            tenant_id=tenant, endpoint_id=endpoint_id, field_name="Rev.io asset", value="9"
        ),
        ticket,
    ):
        await publish(js, command)
    answers = {r.subject.split(".", 3)[3]: r for r in await results(js, tenant, 5)}
    assert all(r.ok for r in answers.values()), answers
    assert rmm.store.companies[company_id]["name"] == "Harbor Dental LLC"
    site_id = answers["site.create"].external_ids["site_id"]
    assert rmm.store.sites[site_id]["primaryAddress"]["locality"] == "Tampa"
    assert answers["endpoint.set_custom_field"].external_ids["written"] == "true"
    ticket_id = answers["ticket.create"].external_ids["ticket_id"]
    assert rmm.store.tickets[ticket_id]["company"] == {"id": company_id}

    moved = site.model_copy(update={"id": site_id, "city": "Orlando"})
    for answered, command in enumerate(
        (
            UpdateRmmSite(tenant_id=tenant, site=moved),
            UpdateRmmTicket(tenant_id=tenant, ticket_id=ticket_id, status_category="InProgress"),
            AddRmmTicketNote(
                tenant_id=tenant, ticket_id=ticket_id, text="On it", source_note_id="n"
            ),
            CloseRmmTicket(tenant_id=tenant, ticket_id=ticket_id),
        ),
        start=6,
    ):
        await publish(js, command)  # one at a time: their order matters
        assert len(await results(js, tenant, answered)) == answered
    everything = await results(js, tenant, 9)
    assert [r.status for r in everything] == [ResultStatus.OK] * 9
    assert rmm.store.sites[site_id]["primaryAddress"]["locality"] == "Orlando"
    assert rmm.store.tickets[ticket_id]["status"]["name"] == "Closed"
    assert [n["detail"] for n in rmm.store.notes[ticket_id]] == ["On it\n\n[revsync note n]"]


async def test_a_command_processed_twice_calls_the_vendor_once(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str, rmm: RmmTenant
):
    handlers = (await make_connector(pool, js, tenant)).handlers()
    command = CreateRmmCompany(
        tenant_id=tenant, revio_customer_id="C-2", name="Twice Co", description=""
    )
    await handlers.handle(command)
    await handlers.handle(command)

    assert rmm.calls()[POST_COMPANIES] == 1
    assert len(companies_marked(rmm, "C-2")) == 1
    outcomes = await pool.fetch("SELECT * FROM command_outcomes WHERE tenant_id = $1", tenant)
    assert len(outcomes) == 1


async def test_a_redelivered_command_is_answered_once(
    app: ServiceContext, js: JetStreamContext, tenant: str, rmm: RmmTenant
):
    command = CreateRmmCompany(
        tenant_id=tenant, revio_customer_id="C-3", name="Again Inc", description=""
    )
    for copy in ("first", "second"):  # the same command, published twice (ids of this test
        # alone: the server's duplicate window outlives a test run)
        headers = {"Nats-Msg-Id": f"{command.message_id}-{copy}"}
        await js.publish(command.subject, command.to_bytes(), headers=headers)

    answers = await results(js, tenant, 2, within_s=3)
    assert len(answers) == 1 and answers[0].ok
    assert rmm.calls()[POST_COMPANIES] == 1


async def test_a_create_adopts_the_object_a_crashed_attempt_made(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str, rmm: RmmTenant
):
    existing = next(iter(rmm.store.companies.values()))
    existing["description"] = "Made before the crash\nRev.io ID: C-4"
    handlers = (await make_connector(pool, js, tenant)).handlers()

    await handlers.handle(
        CreateRmmCompany(tenant_id=tenant, revio_customer_id="C-4", name="X", description="")
    )

    assert POST_COMPANIES not in rmm.calls()
    row = await pool.fetchrow("SELECT result FROM command_outcomes WHERE tenant_id = $1", tenant)
    assert f'"company_id":"{existing["id"]}"' in bytes(row["result"]).decode()


async def test_permanent_refusals_are_answered_with_classified_failures(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str, rmm: RmmTenant
):
    handlers = (await make_connector(pool, js, tenant)).handlers()
    bad_board = CreateRmmTicket(
        tenant_id=tenant, revio_ticket_id="R-1", company_id=next(iter(rmm.store.companies)),
        summary="S", description="D", board_id="00000000-0000-0000-0000-000000000000",
        source_id=lookup(rmm, "sources", "Manual"),
    )  # fmt: skip
    missing = UpdateRmmCompany(tenant_id=tenant, company_id="no-such-company", name="N")
    for command in (bad_board, missing):
        await handlers.handle(command)
    every_tenant = (await make_connector(pool, js, tenant, rmm_tenants="")).handlers()
    await every_tenant.handle(UpdateRmmCompany(tenant_id="tnobody", company_id="c", name="N"))

    rows = await pool.fetch(
        "SELECT tenant_id, status, result FROM command_outcomes"
        " WHERE tenant_id = ANY($1::text[]) ORDER BY decided_at",
        [tenant, "tnobody"],
    )
    assert [r["status"] for r in rows] == ["rejected", "not_found", "rejected"]
    assert "serviceBoard" in bytes(rows[0]["result"]).decode()
    assert "unknown, disabled" in bytes(rows[2]["result"]).decode()


async def test_no_command_is_lost_or_duplicated_under_storms_bursts_and_bad_json(
    app: ServiceContext, js: JetStreamContext, tenant: str, rmm: RmmTenant, rmm_sandbox: Sandbox
):
    rules = [
        FaultRule(account=rmm.client_id, storm_429=Storm429(retry_after_s=1, count=4)),
        FaultRule(account=rmm.client_id, error_rate=0.2, error_status=502, malformed_json_rate=0.2),
    ]
    rmm_sandbox.control.faults.replace(rules, seed=11)
    commands = [
        CreateRmmCompany(
            tenant_id=tenant, revio_customer_id=f"S-{n}", name=f"Storm {n}", description=""
        )
        for n in range(8)
    ]
    for command in commands:
        await publish(js, command)

    answers = await results(js, tenant, len(commands), within_s=60)

    assert sorted(a.command_id for a in answers) == sorted(c.message_id for c in commands)
    statuses = Counter(a.status for a in answers)
    assert statuses[ResultStatus.OK] == len(commands), answers
    for n in range(8):
        assert len(companies_marked(rmm, f"S-{n}")) == 1, f"S-{n} created twice or never"
    faults = Counter(rmm_sandbox.statuses(rmm.client_id))
    assert faults[429] == 4 and faults[502] > 0


async def test_a_create_that_timed_out_is_looked_for_then_made_once(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str, rmm: RmmTenant, rmm_sandbox: Sandbox
):
    connector = await make_connector(pool, js, tenant, rmm_http_timeout_s=0.3)
    handlers = connector.handlers()
    await (await connector.handle()).client.companies()  # token in hand
    hang = FaultRule(path_prefix="/api/platform/v1/company/companies", method="POST", timeout_s=1)
    rmm_sandbox.control.faults.replace([hang])
    asyncio.get_running_loop().call_later(0.5, rmm_sandbox.control.faults.clear)

    await handlers.handle(
        CreateRmmCompany(tenant_id=tenant, revio_customer_id="T-1", name="Slow", description="")
    )

    assert len(companies_marked(rmm, "T-1")) == 1
    assert calls_made(tenant, "cwrmm")[f"cwrmm {POST_COMPANIES} ReadTimeout"] == 1
    row = await pool.fetchrow("SELECT status FROM command_outcomes WHERE tenant_id = $1", tenant)
    assert row["status"] == "ok"
