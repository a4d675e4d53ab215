"""Turning observed Rev.io objects into `change.<tenant>.revio.<entity>.<kind>` messages.

`changed` publishes only objects whose content hash differs from the last one recorded (so
an unchanged object, or the echo of our own write, produces nothing); `deleted` reports
objects that vanished; `seen` is a sync run's full listing, tagged with the run id and the
total of its kind. Message ids derive from the content, so a republish after a crash is the
same message and is dropped by JetStream and by every consumer's inbox.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, cast
from uuid import UUID

import asyncpg
from nats.js import JetStreamContext
from pydantic import BaseModel
from revsync.connector import ChangeEmitter, ObjectHashes, content_hash
from revsync.connector.watch_state import change_id
from revsync.contracts.base import Change
from revsync.contracts.revio import (
    RevioAsset,
    RevioAssetChanged,
    RevioCustomer,
    RevioCustomerChanged,
    RevioTicket,
    RevioTicketChanged,
)
from revsync.messaging import publish

from services.revio_connector import echo
from services.revio_connector.metrics import CHANGES

Entity = Literal["customer", "ticket", "asset"]
ENTITIES: tuple[Entity, ...] = ("customer", "ticket", "asset")
Hashes = dict[str, str]
CHUNK = 500  # objects compared and published per hold of the write lock
_CHANGES: dict[str, tuple[type[Change], str]] = {
    "customer": (RevioCustomerChanged, "customer"),
    "ticket": (RevioTicketChanged, "ticket"),
    "asset": (RevioAssetChanged, "asset"),
}


def tombstone(entity: Entity, object_id: str) -> BaseModel:
    """What a `deleted` change carries: the id; the rest is empty."""
    if entity == "customer":
        return RevioCustomer(id=object_id, name="", status="CLOSED")
    if entity == "ticket":
        now = datetime.now(UTC)
        return RevioTicket(
            id=object_id, customer_id=None, description="", status="DELETED", closed=True,
            updated_at=now,
        )  # fmt: skip
    return RevioAsset(id=object_id, customer_id=None, identifier="", asset_type_id="", status="")


class Observer:
    def __init__(self, tenant_id: str, pool: asyncpg.Pool, js: JetStreamContext) -> None:
        self.tenant_id, self.pool, self.js = tenant_id, pool, js
        self.hashes = {e: ObjectHashes(pool, tenant_id, "revio", e) for e in ENTITIES}

    def _maker(
        self, entity: Entity, kind: str, **extra: Any
    ) -> Callable[[BaseModel, UUID], Change]:
        change_type, field = _CHANGES[entity]

        def make(model: BaseModel, message_id: UUID) -> Change:
            return change_type(
                tenant_id=self.tenant_id, message_id=message_id, kind=kind, **{field: model},
                **extra,
            )  # fmt: skip

        return make

    async def read_begins(self, entity: Entity) -> int:
        """Say a read of Rev.io begins: the mark `changed` then compares against (taken
        before the read: see `echo`)."""
        return await self.hashes[entity].write_mark()

    async def changed(self, entity: Entity, objects: Sequence[Any], mark: int) -> int:
        """Publish the objects whose content differs from what was last reported; skip those
        whose hash was written since the read began (`mark`, see `echo`)."""
        published = 0
        for first in range(0, len(objects), CHUNK):
            chunk = objects[first : first + CHUNK]
            async with echo.exclusive(self.pool, self.tenant_id, entity) as conn:
                hashes = ObjectHashes(cast(asyncpg.Pool, conn), self.tenant_id, "revio", entity)
                ids = [o.id for o in chunk]
                now, moved = await hashes.get_many_written_after(ids, mark)
                settled = [(o.id, o) for o in chunk if o.id not in moved]
                if entity == "ticket":
                    settled = await self._ours_as_created(hashes, now, settled)
                emitter = ChangeEmitter(self.js, hashes)
                make = self._maker(entity, "changed")
                published += await emitter.emit_changed(settled, make, now)
        if published:
            CHANGES.labels(self.tenant_id, entity, "changed").inc(published)
        return published

    @staticmethod
    async def _ours_as_created(
        hashes: ObjectHashes, recorded: Hashes, tickets: list[tuple[str, Any]]
    ) -> list[tuple[str, Any]]:
        """Record the hashes of the tickets we created that are still as their create left
        them (our echo, see `echo`); return the others, to be compared and reported."""
        ours = {
            ticket_id: content_hash(ticket)
            for ticket_id, ticket in tickets
            if echo.ours_as_created(recorded.get(ticket_id), ticket)
        }
        await hashes.put_many(ours)
        return [(ticket_id, ticket) for ticket_id, ticket in tickets if ticket_id not in ours]

    async def known_ids(self, entity: Entity) -> set[str]:
        return await self.hashes[entity].all_ids()

    async def deleted(self, entity: Entity, object_ids: Iterable[str]) -> int:
        hashes = self.hashes[entity]
        known = await hashes.get_many(sorted(set(object_ids)))
        make = self._maker(entity, "deleted")
        for object_id, digest in known.items():
            marker = f"deleted:{digest}"
            message_id = change_id(self.tenant_id, "revio", entity, object_id, marker)
            await publish(self.js, make(tombstone(entity, object_id), message_id))
        await hashes.forget(known)
        CHANGES.labels(self.tenant_id, entity, "deleted").inc(len(known))
        return len(known)

    async def seen(self, entity: Entity, run_id: UUID, objects: Sequence[Any]) -> int:
        make = self._maker(entity, "seen", sync_run_id=run_id, total=len(objects))
        emitter = ChangeEmitter(self.js, self.hashes[entity])
        await emitter.emit_seen(run_id, [(o.id, o) for o in objects], make)
        CHANGES.labels(self.tenant_id, entity, "seen").inc(len(objects))
        return len(objects)
