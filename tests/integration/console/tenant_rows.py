"""A tenant the console knows, without saving settings (no live checks, no event): for
tests of what reads a tenant's data, which answer 404 for a tenant that does not exist."""

import asyncpg
import pytest
from revsync.tenancy import RmmConnection, Tenant
from revsync.tenant_store import public_config

from services.console.deps import Console


async def add_tenant(
    pool: asyncpg.Pool, tenant_id: str, enabled: bool = True, rmm: RmmConnection | None = None
) -> str:
    tenant = Tenant(
        id=tenant_id, name=f"MSP {tenant_id}", enabled=enabled, rmm=rmm or RmmConnection()
    )
    await pool.execute(
        "INSERT INTO tenants (tenant_id, name, enabled, config) VALUES ($1, $2, $3, $4)",
        tenant.id,
        tenant.name,
        tenant.enabled,
        public_config(tenant),
    )
    return tenant_id


@pytest.fixture
async def known(console: Console, tenant: str) -> str:
    """`tenant`, known to the console (its settings never saved)."""
    return await add_tenant(console.pool, tenant)
