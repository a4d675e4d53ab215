"""The console in real headless Chromium, over the real company and alert services and both
sandboxes: walk the wizard (a bad value shows its field error, then it finishes), start the
initial sync and watch it reach done, see a run whose decisions are taken read `writing` with
the writes it waits for and what it created, confirm and reject suggestions, link an unmatched
customer by search and an unlinked RMM company to a customer, find a skipped alert in the
audit trail, retry a dead letter. Screenshots of each page go to test-output/."""

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from revsync.contracts.rmm import RmmAlert, RmmAlertChanged
from revsync.devservers import DevServers, free_port
from revsync.messaging import make_broker, publish
from revsync.messaging.subscriber import REASON_HEADER
from revsync.outbox import OutboxRelay

from services.console.app import create_app
from services.console.consumers import ConsoleConsumers
from services.console.deps import Console
from services.console.sync_progress import monitor
from services.console.sync_runs import cancel_run
from tests.integration.console.support import (
    FAST,
    HELP_DESK,
    MANUAL,
    Accounts,
    create_accounts,
    fake_connectors,
    make_console,
    new_key,
    sandbox_transport,
    settings_reader,
    small_world,
    start_company_service,
    wait_until,
)
from tests.integration.console.tenant_rows import add_tenant
from tests.integration.console.test_sync_run_progress import (
    created_in_rmm,
    decided_company,
    deciding_run,
    waiting,
)

CHROMIUM = Path("/usr/bin/chromium")
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-output"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: install Debian's chromium (make browser-deps)",
    ),
    pytest.mark.timeout(90),
]


@dataclass
class Site:
    url: str
    tenant: str
    accounts: Accounts
    username: str
    password: str
    js: JetStreamContext
    pool: asyncpg.Pool
    console: Console


@pytest.fixture(scope="module")
async def site(
    servers: DevServers, pool: asyncpg.Pool, js: JetStreamContext
) -> AsyncIterator[Site]:
    """The console served on a free port, with everything a sync run needs running."""
    from services.alert.app import AlertService
    from services.alert.app import register as register_alert

    tenant = f"ui{secrets.token_hex(4)}"
    sandboxes = sandbox_transport()
    accounts = await create_accounts(sandboxes, tenant)
    console = make_console(
        pool, js, sandboxes, new_key(), sync_quiet_s=1.0, jaeger_ui_url="http://jaeger.test"
    )
    username, password = f"alice-{tenant}", "wonderland"
    await console.users.create(username, password, "admin", tenant)

    broker: NatsBroker = make_broker(servers.nats_url)
    consumers = ConsoleConsumers(pool, service=f"consoleui{secrets.token_hex(3)}", policy=FAST)
    consumers.register(broker)
    alerts = AlertService(pool, settings_reader(pool), consumer=f"alertui{secrets.token_hex(3)}")
    register_alert(broker, alerts, name=alerts.consumer, tenant=tenant, policy=FAST, workers=2)
    await broker.start()
    company_broker, company_watch = await start_company_service(servers.nats_url, pool, tenant, 1.0)

    async def pending() -> int:
        return await consumers.pending(js)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(console), host="127.0.0.1", port=port, log_level="warning")
    )
    tasks = [
        asyncio.create_task(server.serve()),
        asyncio.create_task(OutboxRelay(pool, js).run()),
        asyncio.create_task(monitor(pool, 1.0, pending, interval_s=0.2)),
        asyncio.create_task(fake_connectors(js, tenant, small_world(), delay_s=0.05)),
        company_watch,
    ]
    await wait_until(lambda: asyncio.sleep(0, server.started))
    yield Site(f"http://127.0.0.1:{port}", tenant, accounts, username, password, js, pool, console)
    server.should_exit = True
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await company_broker.stop()
    await broker.stop()


@pytest.fixture(scope="module")
async def page(site: Site) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    SHOTS.mkdir(exist_ok=True)
    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(20_000)
    tab = await context.new_page()
    yield tab
    await context.close()
    await browser.close()
    await playwright.stop()


async def shot(tab: Any, name: str) -> None:
    await tab.screenshot(path=str(SHOTS / f"console-{name}.png"), full_page=True)


async def save_step(tab: Any, next_path: str) -> None:
    await tab.click("#wizard-form button[type=submit]")
    await tab.wait_for_url(f"**{next_path}*")


async def test_the_wizard_shows_a_bad_value_by_its_field_then_finishes(page: Any, site: Site):
    accounts = site.accounts
    await page.goto(f"{site.url}/")
    await page.fill("#f-username", site.username)
    await page.fill("#f-password", site.password)
    await shot(page, "01-login")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/wizard/initial")

    await page.fill("#f-name", "Wonderland MSP")
    await page.fill('[id="f-revio.base_url"]', "http://revio.test/v1")
    await page.fill('[id="f-revio.username"]', "integration")
    await page.fill('[id="f-revio.client_code"]', accounts.client_code)
    await page.fill('[id="f-revio.password"]', accounts.revio_password)
    await shot(page, "02-wizard-initial")
    await save_step(page, "/wizard/rmm")

    await page.fill('[id="f-rmm.base_url"]', "http://rmm.test")
    await page.fill('[id="f-rmm.client_id"]', accounts.client_id)
    await page.fill('[id="f-rmm.client_secret"]', "not-the-secret")
    await page.click("#wizard-form button[type=submit]")
    error = page.locator('[id="error-rmm.client_secret"]')
    await error.wait_for()
    assert "refused these credentials" in await error.inner_text()
    assert await page.locator('[data-field="rmm.client_secret"].bad').count() == 1
    await shot(page, "03-wizard-rmm-error")
    await page.fill('[id="f-rmm.client_secret"]', accounts.client_secret)
    await save_step(page, "/wizard/sync")

    profiles = await page.locator('[id="f-bill_profile"] option').all_inner_texts()
    assert "Standard Monthly (1)" in profiles and "Legacy 2019 (4) - inactive" in profiles
    await page.select_option("#f-bill_profile", "1")
    await page.select_option("#f-customer_identity", "BUSINESS")
    await shot(page, "04-wizard-sync")
    await save_step(page, "/wizard/assets")

    await page.check("#f-asset_sync_enabled")
    await page.select_option("#f-asset_type", "RMM Endpoint")
    await shot(page, "05-wizard-assets")
    await save_step(page, "/wizard/tickets")

    await page.check("#f-sync_alerts")
    await page.select_option("#f-alert_ticket_type", "RMM Alert")
    await page.select_option("#f-min_alert_severity", "High")
    await page.check("#f-auto_close_on_alert_clear")
    await page.check("#f-revio_to_rmm_tickets")
    await page.select_option("#f-default_service_board", HELP_DESK)
    await page.select_option("#f-default_ticket_source", MANUAL)
    await shot(page, "06-wizard-tickets")
    await save_step(page, "/wizard/finish")

    await page.locator("#finish-ok").wait_for()
    await shot(page, "07-wizard-finish")


async def test_the_initial_sync_shows_progress_until_done(page: Any, site: Site):
    await page.click("text=Start the initial sync")
    await page.wait_for_url("**/sync/*")
    await page.locator("#phase", has_text="done").wait_for(timeout=40_000)
    rows = page.locator("#progress tbody tr")
    assert await rows.count() >= 2
    customers = await page.locator('#progress tr[data-kind="revio.customer"]').inner_text()
    assert "5 / 5" in customers
    await shot(page, "08-sync-done")


async def test_a_run_waiting_for_its_writes_shows_them_and_what_it_created(page: Any, site: Site):
    # a tenant of its own, with a run set up as read (no connector answers its listings):
    # everything listed, matched and decided, an RMM company created, two writes waiting
    tenant = await add_tenant(site.pool, f"{site.tenant}w")
    username = f"bob-{tenant}"
    await site.console.users.create(username, "wonderland", "admin", tenant)
    run_id = await deciding_run(site.pool, tenant)
    for company_id in ("c1", "c2", "c3"):
        await decided_company(site.pool, tenant, company_id, "exact_name")
    await created_in_rmm(site.pool, tenant, "new")
    await waiting(site.pool, tenant, "asset:rmm.endpoint", 2)
    # its latest activity ahead, so no sync-run monitor completes it as quiet meanwhile
    await site.pool.execute(
        "UPDATE sync_run_seen SET updated_at = now() + interval '1 hour' WHERE tenant_id = $1",
        tenant,
    )
    browser = page.context.browser
    assert browser is not None
    bob = await browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        tab = await bob.new_page()
        await tab.goto(f"{site.url}/login?next=/sync/{run_id}")
        await tab.fill("#f-username", username)
        await tab.fill("#f-password", "wonderland")
        await tab.click("button[type=submit]")
        await tab.wait_for_url(f"**/sync/{run_id}")

        # the activity is the script's, from the run's detail
        await tab.locator("#phase", has_text="writing (2 writes to RMM waiting)").wait_for()
        assert await tab.locator("#eta").inner_text() == "estimating..."
        companies = tab.locator('#progress tr[data-kind="rmm.company"]')
        cells = await companies.locator("td").all_inner_texts()
        assert (cells[0], cells[2], cells[3]) == ("RMM companies", "3 / 3", "3, 1 created")
        await shot(tab, "08b-sync-writing")

        # the writes answered: the run completes and the page follows it
        await site.pool.execute("DELETE FROM command_window WHERE tenant_id = $1", tenant)
        await tab.locator("#phase", has_text="done").wait_for()
    finally:
        await bob.close()
        await site.pool.execute("DELETE FROM command_window WHERE tenant_id = $1", tenant)
        await cancel_run(site.pool, tenant, run_id, username)


async def test_a_suggestion_is_confirmed_and_another_rejected(page: Any, site: Site):
    await page.click("text=Review mappings")
    await page.wait_for_url("**/mappings?state=suggested*")
    globex = page.locator('.mapping[data-mapping="102"]')
    umbrella = page.locator('.mapping[data-mapping="103"]')
    await globex.wait_for()
    assert "Globex Industries" in await globex.inner_text()
    await shot(page, "09-mappings-suggested")

    await globex.locator("button", has_text="Confirm").first.click()
    await page.locator("#flash", has_text="Confirmed 102").wait_for()
    assert await page.locator('.mapping[data-mapping="102"]').count() == 0
    await umbrella.locator("button", has_text="Reject").click()
    await page.locator("#flash", has_text="Rejected 103").wait_for()
    assert await page.locator('.mapping[data-mapping="103"]').count() == 0
    await page.goto(f"{site.url}/mappings?state=linked")
    assert "suggestion confirmed" in await page.locator('.mapping[data-mapping="102"]').inner_text()
    await shot(page, "10-mappings-linked")


async def test_an_unmatched_customer_is_linked_by_search(page: Any, site: Site):
    await page.goto(f"{site.url}/mappings?state=held")
    initech = page.locator('.mapping[data-mapping="104"]')
    await initech.locator("text=Map by hand").click()
    await page.wait_for_url("**/mappings/link*")
    assert await page.locator("#fixed-name").inner_text() == "Initech"
    await page.fill("#f-q", "initrode")
    await page.click("form button[type=submit]:has-text('Search')")
    candidate = page.locator('.candidate[data-id="c4"]')
    await candidate.wait_for()
    await shot(page, "11-mapping-search")
    await candidate.locator("text=Map").click()
    await page.wait_for_url("**/mappings/link/confirm*")
    await shot(page, "12-mapping-confirm")
    await page.click("button:has-text('Confirm')")
    await page.locator("#flash", has_text="Linked Rev.io customer 104").wait_for()
    card = await page.locator('.mapping[data-mapping="104"]').inner_text()
    assert "RMM company c4" in card and "manual link" in card
    await shot(page, "13-mapping-linked-by-hand")


async def test_an_unlinked_rmm_company_is_linked_to_a_customer_by_search(page: Any, site: Site):
    await page.goto(f"{site.url}/mappings")
    await page.select_option("#f-side", "rmm")
    await page.click("#unmatched-search button[type=submit]")
    vandelay = page.locator('.unmatched[data-side="rmm"][data-id="c5"]')
    await vandelay.wait_for()
    assert await page.locator('.unmatched[data-id="c4"]').count() == 0  # linked by hand before
    await shot(page, "13b-mapping-unlinked-companies")
    await vandelay.locator("text=Map...").click()
    await page.wait_for_url("**/mappings/link?rmm=c5*")
    assert await page.locator("#fixed-name").inner_text() == "Vandelay Imports"
    await page.fill("#f-q", "soylent")
    await page.click("form button[type=submit]:has-text('Search')")
    candidate = page.locator('.candidate[data-id="105"]')
    await candidate.locator("text=Map").click()
    await page.wait_for_url("**/mappings/link/confirm*")
    await page.click("button:has-text('Confirm')")
    await page.locator("#flash", has_text="Linked Rev.io customer 105 to RMM company c5").wait_for()
    assert "RMM company c5" in await page.locator('.mapping[data-mapping="105"]').inner_text()


async def test_a_skipped_alert_is_found_in_the_audit_trail(page: Any, site: Site):
    alert = RmmAlert(
        ticket_id="rmm-t-7",
        endpoint_id="e-7",
        company_id="c1",
        condition_id="cpu-high",
        severity="Low",
        summary="CPU above 90% on WONDER-01",
        status_category="New",
        updated_at=datetime.now(UTC),
    )
    # the alert as raised inside a trace: its traceparent travels with the change, and the
    # alert service's decision records the trace id
    remote = SpanContext(TRACE_ID, 0x00F067AA0BA902B7, False, TraceFlags(TraceFlags.SAMPLED))
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(remote)))
    try:
        await publish(site.js, RmmAlertChanged(tenant_id=site.tenant, kind="raised", alert=alert))
    finally:
        context.detach(token)

    async def skipped() -> bool:
        return bool(
            await site.pool.fetchval(
                "SELECT 1 FROM events WHERE tenant_id = $1 AND type = 'AlertSkipped'",
                site.tenant,
            )
        )

    await wait_until(skipped)
    await page.goto(f"{site.url}/audit")
    await page.select_option("#f-type", "AlertSkipped")
    await page.click("#audit-filter button[type=submit]")
    words = page.locator('#audit .words[data-type="AlertSkipped"]')
    await words.first.wait_for()
    assert await words.first.inner_text() == "Skipped: alert severity Low is below the minimum High"
    link = page.locator(f"#audit a[href='http://jaeger.test/trace/{TRACE_ID:032x}']")
    assert await link.count() == 1
    await shot(page, "14-audit-skipped-alert")


async def test_the_health_page_retries_a_dead_letter(page: Any, site: Site):
    await site.js.publish(
        f"dlq.{site.tenant}.cmd.revio.ticket.create",
        b'{"message_id": "00000000-0000-0000-0000-000000000007"}',
        headers={
            REASON_HEADER: "RuntimeError: Rev.io answered 500",
            "Revsync-Consumer": "revio-connector-tickets",
            "Revsync-Deliveries": "8",
            "Revsync-Original-Subject": f"cmd.{site.tenant}.revio.ticket.create",
        },
    )
    await page.goto(f"{site.url}/health")
    assert await page.locator("#dlq-size").inner_text() == "1"
    assert "Rev.io answered 500" in await page.locator("#dlq").inner_text()
    await shot(page, "15-health")
    await page.locator("#dlq button", has_text="Retry").click()
    await page.locator("#flash", has_text="Retried").wait_for()
    assert await page.locator("#dlq-size").inner_text() == "0"
