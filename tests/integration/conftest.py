"""Every integration module runs in the one session, on the session's servers: what a module
leaves behind must not load or disturb the next. Its fixtures stop what they start (tasks,
brokers, servers); `module_leaves_no_trace` takes back the two things that outlive them on
the servers: the durable consumers the module created, and its tenants (disabled, so that a
connector serving every enabled tenant does not serve another module's)."""

from collections.abc import AsyncIterator

import asyncpg
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from revsync.contracts.subjects import Subjects
from revsync.tenant_store import TenantStore


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


async def _consumers(js: JetStreamContext, idle_only: bool = False) -> set[tuple[str, str]]:
    """The streams' consumers; `idle_only`: those nobody pulls from now (on a shared server,
    one being pulled from is someone else's)."""
    found = set()
    for stream in Subjects.STREAMS:
        for info in await js.consumers_info(stream):
            if not (idle_only and info.num_waiting):
                found.add((stream, info.name))
    return found


@pytest.fixture(scope="module", autouse=True)
async def module_leaves_no_trace(pool: asyncpg.Pool, js: JetStreamContext) -> AsyncIterator[None]:
    tenants = TenantStore(pool)
    enabled_before = set(await tenants.list_ids(enabled_only=True))
    consumers_before = await _consumers(js)
    yield
    for stream, name in await _consumers(js, idle_only=True) - consumers_before:
        try:
            await js.delete_consumer(stream, name)
        except NotFoundError:
            pass
    for tenant_id in set(await tenants.list_ids(enabled_only=True)) - enabled_before:
        await tenants.set_enabled(tenant_id, False, actor="test")
