"""The RMM client against the rmm_sandbox over real HTTP: one shared token, refresh, lock-out,
429 storms, 5xx bursts, timeouts, malformed JSON, paging cost and learned rate limits."""

import asyncio
import time
from collections.abc import Iterator

import asyncpg
import pytest
import stamina
from nats.js import JetStreamContext
from revsync.vendor import VendorError, VendorErrorKind
from revsync.vendor.metrics import calls_made

from services.cwrmm_connector import observe
from services.sandbox.common import clock
from services.sandbox.common.faults import FaultRule, Storm429
from tests.integration.cwrmm_connector_support import (
    Sandbox,
    make_connector,
    make_tenant,
    rmm_sandbox_fixture,  # noqa: F401
)

COMPANIES = "/api/platform/v1/company/companies"
TOKEN = "POST /v1/token"


@pytest.fixture(autouse=True)
def no_faults_left(rmm_sandbox: Sandbox) -> Iterator[None]:
    yield
    rmm_sandbox.control.faults.clear()
    clock.reset()


async def test_replicas_share_one_token_per_client_id(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    replicas = [await make_connector(pool, js, tenant) for _ in range(5)]
    handles = [await replica.handle() for replica in replicas]

    await asyncio.gather(*(h.client.companies() for h in handles for _ in range(3)))

    assert rmm.calls()[TOKEN] == 1
    assert rmm.calls()[f"GET {COMPANIES}"] == 15


async def test_a_token_the_vendor_expired_is_replaced_once(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    handle = await (await make_connector(pool, js, tenant)).handle()
    await handle.client.companies()
    clock.set_source(lambda: time.time() + 4000)  # the vendor's clock: the token has expired

    await asyncio.gather(*(handle.client.companies() for _ in range(3)))

    assert rmm.calls()[TOKEN] == 2
    assert calls_made(tenant, "cwrmm")[f"cwrmm GET {COMPANIES} 401"] >= 1


async def test_a_token_is_refreshed_before_it_expires(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    # tokens live 3599 s: with this margin one is due for refresh 1.5 s after it was issued
    connector = await make_connector(pool, js, tenant, rmm_token_refresh_margin_s=3597.5)
    handle = await connector.handle()
    await handle.client.companies()
    await asyncio.sleep(1.6)
    await handle.client.companies()

    assert rmm.calls()[TOKEN] == 2
    assert 401 not in rmm_sandbox.statuses(rmm.client_id)


async def test_token_lock_out_is_waited_out_with_retry_after(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    rmm_sandbox.control.faults.replace([FaultRule(account=rmm.client_id, token_lockout_s=1.0)])
    handle = await (await make_connector(pool, js, tenant)).handle()

    assert len(await handle.client.companies()) == 11
    token_statuses = [
        e.status for e in rmm_sandbox.control.request_log.entries(rmm.client_id, "/v1/token")
    ]
    assert token_statuses[0] == 423 and token_statuses[-1] == 200


async def test_a_lasting_lock_out_pauses_token_requests_for_every_replica(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    rmm_sandbox.control.faults.replace([FaultRule(account=rmm.client_id, token_lockout_s=300)])
    stamina.set_testing(True, attempts=1)  # no waiting 300 s for the Retry-After here
    try:
        first = await (await make_connector(pool, js, tenant)).handle()
        second = await (await make_connector(pool, js, tenant)).handle()
        for handle in (first, second, first):
            with pytest.raises(VendorError) as raised:
                await handle.client.companies()
            assert raised.value.kind is VendorErrorKind.RATE_LIMITED
    finally:
        stamina.set_testing(False)

    assert rmm.calls().get(TOKEN, 0) == 1, "the lock-out must not be deepened by retries"
    assert rmm.calls().get(f"GET {COMPANIES}", 0) == 0


async def test_429_storm_is_ridden_out_with_retry_after_and_counted(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    storm = Storm429(retry_after_s=1, count=2)
    rmm_sandbox.control.faults.replace([FaultRule(path_prefix=COMPANIES, storm_429=storm)])
    handle = await (await make_connector(pool, js, tenant)).handle()

    snapshot = await observe.companies(handle)

    assert len(snapshot.objects) == 11
    assert rmm_sandbox.statuses(rmm.client_id).count(429) == 2
    assert calls_made(tenant, "cwrmm")[f"cwrmm GET {COMPANIES} 429"] == 2


async def test_5xx_burst_is_retried_until_the_vendor_recovers(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    handle = await (await make_connector(pool, js, tenant)).handle()
    await handle.client.companies()  # the token is in hand
    burst = FaultRule(path_prefix=COMPANIES, error_rate=1.0, error_status=502)
    rmm_sandbox.control.faults.replace([burst])
    asyncio.get_running_loop().call_later(0.5, rmm_sandbox.control.faults.clear)

    assert len(await handle.client.companies()) == 11
    assert 502 in rmm_sandbox.statuses(rmm.client_id)


async def test_timeouts_end_as_a_classified_unavailable_error(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    await make_tenant(pool, rmm_sandbox, tenant)
    connector = await make_connector(
        pool, js, tenant, rmm_http_timeout_s=0.3, rmm_http_attempts=2, rmm_retry_budget_s=3
    )
    handle = await connector.handle()
    await handle.client.companies()
    rmm_sandbox.control.faults.replace([FaultRule(path_prefix=COMPANIES, timeout_s=2.0)])

    with pytest.raises(VendorError) as raised:
        await handle.client.companies()
    assert raised.value.kind is VendorErrorKind.UNAVAILABLE
    assert "Timeout" in raised.value.message


async def test_malformed_json_is_read_again_then_classified_with_its_payload(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    handle = await (await make_connector(pool, js, tenant)).handle()
    await handle.client.companies()
    rule = FaultRule(path_prefix=COMPANIES, method="GET", malformed_json_rate=1.0)
    rmm_sandbox.control.faults.replace([rule])

    with pytest.raises(VendorError) as raised:
        await handle.client.companies()
    assert raised.value.kind is VendorErrorKind.INVALID_RESPONSE
    assert raised.value.payload and raised.value.payload.startswith('[{"id"')
    assert len(raised.value.payload) <= 2000
    assert rmm.calls()[f"GET {COMPANIES}"] == 1 + 3

    rmm_sandbox.control.faults.replace([rule.model_copy(update={"malformed_json_rate": 0.5})], 3)
    assert len(await handle.client.companies()) == 11  # a bad read is simply read again


async def test_a_full_listing_costs_the_fewest_calls_paging_allows(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant)
    world = rmm.store
    records = list(world.endpoints.values())
    clones = []  # 1,200 endpoints: three listing pages of 500
    for n in range(1200 - len(records)):
        record = records[n % len(records)]
        clones.append({**record, "document": {**record["document"], "endpointID": f"x{n}"}})
    world.add_endpoints(clones)
    handle = await (await make_connector(pool, js, tenant)).handle()

    everything = await observe.endpoints(handle, ["platform", "network", "cloud"])
    some = await observe.endpoints(handle, ["network"])

    assert sum(len(s.objects) for s in everything.values()) == 1200
    network = sum(1 for r in world.endpoints.values() if r["category"] == "network")
    assert len(some["network"].objects) == network
    listing = rmm.calls()["POST /api/platform/v2/device/categories/{category}/endpoints"]
    assert listing == 3 + -(-network // 500)


async def test_learned_rate_limits_pace_calls_under_the_vendor_limit(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    tenant: str,
    rmm_sandbox: Sandbox,
):
    rmm = await make_tenant(pool, rmm_sandbox, tenant, rate_limit=600)  # one call per 0.53 s
    handle = await (await make_connector(pool, js, tenant)).handle()
    assert handle.client.limits.learned["partner-topology-clients"] == 600

    started = time.monotonic()
    await asyncio.gather(*(handle.client.companies() for _ in range(6)))

    assert time.monotonic() - started >= 5 * 300 / 600 * 0.9
    assert 429 not in rmm_sandbox.statuses(rmm.client_id)
