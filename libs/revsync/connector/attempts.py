"""Whether a create under a marker has ever been tried (see migration 012).

    if await first_attempt(pool, tenant_id, "revio", marker):
        ...  # nothing can exist under `marker` yet: create without looking for it first

The attempt is recorded on a connection of its own and committed before the vendor call, so
it outlives a crash or a rollback of the command's transaction: the redelivery then finds the
marker recorded and looks for what the first attempt may have created.
"""

import asyncpg


async def first_attempt(pool: asyncpg.Pool, tenant_id: str, vendor: str, marker: str) -> bool:
    """Record an attempt to create under `marker`; True when no attempt was recorded before."""
    async with pool.acquire() as conn:
        inserted = await conn.fetchval(
            "INSERT INTO create_attempts (tenant_id, vendor, marker) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING true",
            tenant_id,
            vendor,
            marker,
        )
    return inserted is not None
