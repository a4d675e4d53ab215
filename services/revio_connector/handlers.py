"""Command handlers: `cmd.<tenant>.revio.*` -> Rev.io -> `result.<tenant>.revio.*`.

Each runs through `CommandExecutor`: a command is executed at most once and answered once
(its outcome, audit event and Result commit with its inbox record). Inside, the handler
holds the write lock of its entity (`echo.writing`) and, after writing, records the hash of
the object as Rev.io now holds it, so the watchers do not report our own write back.
Creates go through `create_once`: Rev.io has no idempotency keys, so before every attempt
the handler looks for the marker the create writes (source key, RMM company id, asset
identifier, journal tag); a crash or a lost answer after Rev.io created the record is then
repaired by finding it, never by creating a second one.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from revsync.connector import CommandExecutor, ObjectHashes, content_hash, first_attempt
from revsync.contracts.base import Command
from revsync.contracts.revio import RevioTicket
from revsync.logs import get_logger
from revsync.vendor import VendorError, VendorErrorKind

from services.revio_connector import echo
from services.revio_connector.observe import Entity
from services.revio_connector.registry import TenantRegistry
from services.revio_connector.tenants import TenantRuntime

log = get_logger(__name__)
Work = Callable[[TenantRuntime, asyncpg.Connection], Awaitable[dict[str, str]]]
CREATE_ATTEMPTS = 4


def rejected(what: str, message: str) -> VendorError:
    return VendorError(VendorErrorKind.REJECTED, "revio", what, message)


async def create_once(
    find: Callable[[], Awaitable[str | None]],
    create: Callable[[], Awaitable[str]],
    settle_s: float,
    attempts: int = CREATE_ATTEMPTS,
    look_first: bool = True,
) -> str:
    """The id of the record `create` makes, made at most once: its marker is looked for
    before each attempt, and after a failure that may hide a success (timeout, 5xx, lost
    answer) we wait `settle_s` for Rev.io to finish before looking again. `look_first=False`
    skips the first look when the caller knows nothing can be there yet (`first_try`, or it
    has just looked itself)."""
    failure: VendorError | None = None
    for attempt in range(attempts + 1):
        found = await find() if attempt or look_first else None
        if found is not None:
            return found
        if failure is not None and attempt == attempts:
            raise failure  # transient: the command comes back later and looks again
        try:
            return await create()
        except VendorError as error:
            if not error.transient:
                raise
            failure = error
            uncertain = error.kind is VendorErrorKind.UNAVAILABLE
            pause = settle_s if uncertain else min(settle_s, 0.5 * (attempt + 1))
            log.info("create failed; looking for its marker before trying again",
                     endpoint=error.endpoint, error=str(error), wait_s=pause)  # fmt: skip
            await asyncio.sleep(pause * random.uniform(1.0, 1.25))
    raise AssertionError("unreachable")


async def first_try(runtime: TenantRuntime, marker: str) -> bool:
    """Whether no create under `marker` was ever attempted for this tenant (recorded now, for
    the next attempt): then Rev.io cannot hold a record under it and the search that looks
    for one is a call saved."""
    return await first_attempt(runtime.observer.pool, runtime.tenant.id, "revio", marker)


async def record(
    runtime: TenantRuntime, conn: asyncpg.Connection, entity: Entity, object_id: str
) -> None:
    """Record the hash of the object as Rev.io holds it after our write (best effort: if it
    cannot be read now, the watchers will report it, which is merely redundant).

    A ticket (only ever recorded here when a create found it already made) is read without
    its journal, hashed as having none: it costs one call, not two, and a journal entry on it
    already (a person's quick reply) makes the hash differ from the watchers' read, so they
    report the ticket instead of its reply being hashed as our echo."""
    api = runtime.api
    try:
        found: Any = await (
            api.customer(object_id)
            if entity == "customer"
            else api.ticket(object_id, journals=False)
            if entity == "ticket"
            else api.asset(object_id)
        )
    except VendorError as error:
        log.warning("cannot read back what we wrote; its echo may be reported",
                    tenant_id=runtime.tenant.id, entity=entity, object_id=object_id,
                    error=str(error))  # fmt: skip
        return
    if found is not None:
        hashes = ObjectHashes(runtime.observer.pool, runtime.tenant.id, "revio", entity)
        await hashes.put(object_id, content_hash(found), conn)


async def record_created_ticket(
    runtime: TenantRuntime, conn: asyncpg.Connection, ticket_id: str
) -> None:
    """Record that we created the ticket, instead of reading it back for its hash: its first
    read takes it for our echo while it is as its create left it (`echo.as_created`)."""
    hashes = ObjectHashes(runtime.observer.pool, runtime.tenant.id, "revio", "ticket")
    await hashes.put(ticket_id, echo.CREATED, conn)


async def ticket_before(runtime: TenantRuntime, ticket_id: str) -> RevioTicket | None:
    """The ticket as Rev.io holds it before our write (None if it cannot be read: then the
    write's echo is left to the watchers, see `record_ticket`)."""
    try:
        return await runtime.api.ticket(ticket_id)
    except VendorError as error:
        log.warning("cannot read the ticket before our write; its echo may be reported",
                    tenant_id=runtime.tenant.id, object_id=ticket_id, error=str(error))  # fmt: skip
        return None


async def record_ticket(
    runtime: TenantRuntime,
    conn: asyncpg.Connection,
    ticket_id: str,
    before: RevioTicket | None,
    only_ours: Callable[[RevioTicket, RevioTicket], bool],
) -> None:
    """Record the ticket's hash after our write only if nothing but our write is new in it:
    `before` is what was last recorded (reported, written by us, or our create as it left
    the ticket) and `only_ours(before, after)` holds. Otherwise a person's change may be in
    it, and recording it would hide that change from the watchers (`echo`): they report the
    ticket instead."""
    hashes = ObjectHashes(runtime.observer.pool, runtime.tenant.id, "revio", "ticket")
    known = (await hashes.get_many([ticket_id])).get(ticket_id)
    if before is None:
        return
    if content_hash(before) != known and not echo.ours_as_created(known, before):
        return  # a change of Rev.io's not reported yet: the watchers report it, with ours
    try:
        after = await runtime.api.ticket(ticket_id)
    except VendorError as error:
        log.warning("cannot read back what we wrote; its echo may be reported",
                    tenant_id=runtime.tenant.id, entity="ticket", object_id=ticket_id,
                    error=str(error))  # fmt: skip
        return
    if after is not None and only_ours(before, after):
        await hashes.put(ticket_id, content_hash(after), conn)


class Handlers:
    def __init__(self, registry: TenantRegistry, executor: CommandExecutor) -> None:
        self.registry, self.executor = registry, executor

    async def run(self, command: Command, entity: Entity, work: Work) -> None:
        served = await self.registry.get(command.tenant_id)

        async def perform(conn: asyncpg.Connection) -> dict[str, str]:
            if served is None:
                raise rejected(command.subject, f"tenant {command.tenant_id} is not served")
            await echo.writing(conn, command.tenant_id, entity)
            try:
                return await work(served.runtime, conn)
            except VendorError as error:
                if error.kind is VendorErrorKind.INVALID_RESPONSE:  # retried by redelivery
                    raise VendorError(VendorErrorKind.UNAVAILABLE, error.vendor,
                                      error.endpoint, error.message, error.status,
                                      error.payload) from error  # fmt: skip
                raise

        await self.executor.execute(command, perform)

    async def answered(self, command: Command) -> bool:
        found = await self.executor.pool.fetchval(
            "SELECT 1 FROM command_outcomes WHERE tenant_id = $1 AND command_id = $2",
            command.tenant_id,
            command.message_id,
        )
        return found is not None
