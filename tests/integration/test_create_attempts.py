"""`first_attempt`: a marker is new exactly once per tenant and vendor, and the record of an
attempt survives the rollback of the transaction the create ran in (real PostgreSQL)."""

import secrets

import asyncpg
from revsync.connector import first_attempt


async def test_a_marker_is_new_once_per_tenant_and_vendor(pool: asyncpg.Pool) -> None:
    marker = f"ticket:rmm-alert:{secrets.token_hex(4)}:1"
    tenant, other = f"t-{secrets.token_hex(3)}", f"t-{secrets.token_hex(3)}"
    assert await first_attempt(pool, tenant, "revio", marker)
    assert not await first_attempt(pool, tenant, "revio", marker)
    assert await first_attempt(pool, other, "revio", marker)  # same ids, another tenant
    assert await first_attempt(pool, tenant, "cwrmm", marker)


async def test_the_attempt_outlives_the_command_transaction_that_rolls_back(
    pool: asyncpg.Pool,
) -> None:
    marker, tenant = f"customer:{secrets.token_hex(4)}", f"t-{secrets.token_hex(3)}"
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        assert await first_attempt(pool, tenant, "revio", marker)
        await transaction.rollback()  # the process died after the vendor call
    assert not await first_attempt(pool, tenant, "revio", marker)
