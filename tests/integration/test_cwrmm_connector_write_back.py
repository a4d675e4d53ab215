"""The RMM connector reports the Rev.io asset id it wrote into an endpoint's custom field with
that endpoint from then on (the endpoint listing carries no custom field values), so the
asset service sees the field as written and never asks for the write-back again."""

from uuid import uuid4

import asyncpg
from nats.js import JetStreamContext
from revsync.contracts.rmm import (
    REVIO_ASSET_ID_FIELD,
    RmmEndpointChanged,
    SetRmmEndpointCustomField,
)

from services.cwrmm_connector import polls
from tests.integration.cwrmm_connector_support import (
    Sandbox,
    changes,
    make_connector,
    make_tenant,
    rmm_sandbox_fixture,  # noqa: F401
)


async def test_a_written_revio_asset_id_is_reported_with_its_endpoint(
    pool: asyncpg.Pool, js: JetStreamContext, tenant: str, rmm_sandbox: Sandbox
):
    await make_tenant(pool, rmm_sandbox, tenant)
    connector = await make_connector(pool, js, tenant)
    handle = await connector.handle()
    await polls.endpoints(handle)
    first = [c for c in await changes(js, tenant, wait_s=0.2) if isinstance(c, RmmEndpointChanged)]
    assert first and all(c.endpoint.revio_asset_id is None for c in first)
    endpoint_id = first[0].endpoint.id

    write = SetRmmEndpointCustomField(
        tenant_id=tenant, endpoint_id=endpoint_id, field_name=REVIO_ASSET_ID_FIELD, value="77"
    )
    await connector.handlers().handle(write)
    await polls.endpoints(handle, run_id=uuid4())  # a sync run's listing of every endpoint

    listed = [
        c.endpoint
        for c in (await changes(js, tenant, wait_s=0.2))[len(first) :]
        if isinstance(c, RmmEndpointChanged) and c.kind == "seen"
    ]
    assert {e.id: e.revio_asset_id for e in listed if e.revio_asset_id} == {endpoint_id: "77"}
    assert len(listed) == len(first)
