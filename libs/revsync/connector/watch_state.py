"""Change detection for watchers: content hashes, watermarks, and the emitter.

An observed object becomes a `change` message only when its content hash differs from the
one last recorded for it. Its message id is derived from (tenant, entity, id, hash), so a
crash between publishing and recording the hash republishes the *same* message id, which
JetStream and every consumer's inbox drop. Command handlers record the hash of what they
wrote (`ObjectHashes.put`), so the connector's own writes are not reported back as changes.
"""

import asyncio
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg
import orjson
from nats.js import JetStreamContext
from pydantic import BaseModel

from revsync.contracts.base import Change
from revsync.messaging.publish import publish


def content_hash(model: BaseModel) -> str:
    payload = orjson.dumps(model.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def change_id(tenant_id: str, system: str, entity: str, object_id: str, marker: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"revsync:{tenant_id}:{system}:{entity}:{object_id}:{marker}")


class ObjectHashes:
    def __init__(self, pool: asyncpg.Pool, tenant_id: str, system: str, entity: str) -> None:
        self.pool, self.key = pool, (tenant_id, system, entity)

    async def get_many(self, object_ids: Sequence[str]) -> dict[str, str]:
        if not object_ids:  # a poll that found nothing of a kind asks nothing
            return {}
        rows = await self.pool.fetch(
            "SELECT object_id, hash FROM object_hashes WHERE tenant_id = $1 AND system = $2"
            " AND entity = $3 AND object_id = ANY($4::text[])",
            *self.key,
            list(object_ids),
        )
        return {row["object_id"]: row["hash"] for row in rows}

    async def get_many_written_after(
        self, object_ids: Sequence[str], mark: int
    ) -> tuple[dict[str, str], set[str]]:
        """The hashes of `object_ids`, and which of them were written after `mark` (a
        `write_mark` taken earlier)."""
        if not object_ids:
            return {}, set()
        rows = await self.pool.fetch(
            "SELECT object_id, hash, written > $5 AS later FROM object_hashes"
            " WHERE tenant_id = $1 AND system = $2 AND entity = $3"
            " AND object_id = ANY($4::text[])",
            *self.key,
            list(object_ids),
            mark,
        )
        return (
            {row["object_id"]: row["hash"] for row in rows},
            {row["object_id"] for row in rows if row["later"]},
        )

    async def write_mark(self) -> int:
        """A number every hash written from now on exceeds (migration 018): taken before a
        vendor read, it tells the hashes written since the read began."""
        mark: int = await self.pool.fetchval("SELECT nextval('object_hash_writes')")
        return mark

    async def all_ids(self) -> set[str]:
        rows = await self.pool.fetch(
            "SELECT object_id FROM object_hashes WHERE tenant_id = $1 AND system = $2"
            " AND entity = $3",
            *self.key,
        )
        return {row["object_id"] for row in rows}

    async def put(self, object_id: str, hash_: str, conn: Any = None) -> None:
        await self.put_many({object_id: hash_}, conn)

    async def put_many(self, hashes: dict[str, str], conn: Any = None) -> None:
        if not hashes:
            return
        await (conn or self.pool).execute(
            "INSERT INTO object_hashes (tenant_id, system, entity, object_id, hash)"
            " SELECT $1, $2, $3, i, h FROM unnest($4::text[], $5::text[]) AS u(i, h)"
            " ON CONFLICT (tenant_id, system, entity, object_id)"
            " DO UPDATE SET hash = excluded.hash, seen_at = now(),"
            " written = nextval('object_hash_writes')",
            *self.key,
            list(hashes),
            list(hashes.values()),
        )

    async def forget(self, object_ids: Iterable[str]) -> None:
        await self.pool.execute(
            "DELETE FROM object_hashes WHERE tenant_id = $1 AND system = $2 AND entity = $3"
            " AND object_id = ANY($4::text[])",
            *self.key,
            list(object_ids),
        )


class Watermarks:
    def __init__(self, pool: asyncpg.Pool, tenant_id: str, system: str) -> None:
        self.pool, self.tenant_id, self.system = pool, tenant_id, system

    async def get(self, resource: str) -> str | None:
        value = await self.pool.fetchval(
            "SELECT value FROM watermarks WHERE tenant_id = $1 AND system = $2 AND resource = $3",
            self.tenant_id,
            self.system,
            resource,
        )
        return str(value) if value is not None else None

    async def set(self, resource: str, value: str) -> None:
        await self.pool.execute(
            "INSERT INTO watermarks (tenant_id, system, resource, value) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (tenant_id, system, resource) DO UPDATE SET value = excluded.value,"
            " updated_at = now()",
            self.tenant_id,
            self.system,
            resource,
            value,
        )


PUBLISH_IN_FLIGHT = 256


async def publish_all(js: JetStreamContext, changes: Iterable[Change]) -> None:
    """Publish `changes` (of distinct objects), up to PUBLISH_IN_FLIGHT awaiting their acks at
    once: about 2.5x the rate of one at a time. A failure raises after its batch; what was
    published is published again later under the same message ids, which are dropped."""
    batch: list[Change] = []
    for change in changes:
        batch.append(change)
        if len(batch) == PUBLISH_IN_FLIGHT:
            await asyncio.gather(*(publish(js, message) for message in batch))
            batch = []
    await asyncio.gather(*(publish(js, message) for message in batch))


class ChangeEmitter:
    """Publishes a change per object whose content changed since it was last reported."""

    def __init__(self, js: JetStreamContext, hashes: ObjectHashes) -> None:
        self.js, self.hashes = js, hashes

    async def emit_changed(
        self,
        objects: Sequence[tuple[str, BaseModel]],
        make_change: Callable[[BaseModel, UUID], Change],
        known: dict[str, str] | None = None,
    ) -> int:
        """`objects` are (id, normalized model); returns how many changes were published.
        `known`: their recorded hashes, when the caller has just read them."""
        if known is None:
            known = await self.hashes.get_many([object_id for object_id, _ in objects])
        fresh: dict[str, str] = {}
        tenant_id, system, entity = self.hashes.key

        def changes() -> Iterator[Change]:
            for object_id, model in objects:
                digest = content_hash(model)
                if known.get(object_id) == digest:
                    continue
                fresh[object_id] = digest
                yield make_change(model, change_id(tenant_id, system, entity, object_id, digest))

        await publish_all(self.js, changes())
        await self.hashes.put_many(fresh)
        return len(fresh)

    async def emit_seen(
        self,
        run_id: UUID,
        objects: Sequence[tuple[str, BaseModel]],
        make_change: Callable[[BaseModel, UUID], Change],
    ) -> None:
        """A sync run's full listing: every object once per run, changed or not."""
        tenant_id, system, entity = self.hashes.key
        changes = (
            make_change(model, change_id(tenant_id, system, entity, object_id, f"run:{run_id}"))
            for object_id, model in objects
        )
        await publish_all(self.js, changes)
        await self.hashes.put_many({oid: content_hash(model) for oid, model in objects})
