"""A lease so that two replicas never poll the same resource of a tenant at the same time."""

import asyncpg


class Lease:
    def __init__(self, pool: asyncpg.Pool, holder: str) -> None:
        self.pool, self.holder = pool, holder

    async def acquire(self, name: str, ttl_s: float) -> bool:
        """Take or renew `name` for `ttl_s` seconds; False when another holder has it."""
        taken = await self.pool.fetchval(
            "INSERT INTO leases AS l (name, holder, expires_at)"
            " VALUES ($1, $2, now() + make_interval(secs => $3))"
            " ON CONFLICT (name) DO UPDATE SET holder = $2,"
            " expires_at = now() + make_interval(secs => $3)"
            " WHERE l.holder = $2 OR l.expires_at < now() RETURNING 1",
            name,
            self.holder,
            ttl_s,
        )
        return taken is not None

    async def release(self, name: str) -> None:
        await self.pool.execute(
            "DELETE FROM leases WHERE name = $1 AND holder = $2", name, self.holder
        )
