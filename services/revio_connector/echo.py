"""Recognising the echo of the connector's own writes.

A command handler writes to Rev.io, reads the object back and records its content hash
(`ObjectHashes.put`) in the command's transaction, so a watcher that later reads the same
content emits nothing. A watcher whose read overlapped such a write must not emit what it
read either (it may be the state just before the write, or the write itself before its hash
was committed). So:
- handlers hold a PostgreSQL advisory lock per (tenant, entity) *shared* for their whole
  transaction (`writing`);
- a watcher takes a write mark before it reads Rev.io (`ObjectHashes.write_mark`: every
  hash written from then on is numbered above it), and emits while holding that lock
  *exclusively* (`exclusive`: every write in flight has committed by then), skipping any
  object whose hash was written after its mark: someone recorded a state that may be
  fresher than the one it read. A hash written before the mark was written after its
  write to Rev.io, so the read saw that write: comparing against it is right. (It used to
  read every hash of the entity before each read to tell the same, which grew with the
  tenant's tickets.)

The hash a handler records says "nothing in this state is news": so it may record a ticket
it read back only when that ticket is the one known before (its recorded hash) plus exactly
our write (`only_our_journal`, `only_our_update`). A person's journal entry or edit made just
before or just after our write (a reply to the note we carried, say) would otherwise be
hashed as our own echo and never reported. When in doubt nothing is recorded: the watcher
reports the ticket, our echo included, which consumers recognise (tagged journal entries,
the values they wrote) -- a redundant change, never a lost one.

A ticket we just created is not read back: Rev.io answers a create with the new id only,
and the read cost the connector and Rev.io as much as the create (every alert ticket). The
handler records `CREATED` instead of a hash, and the first read of the ticket (the watcher's,
or a handler's `before`) takes it for our create's echo when it is still as its create left
it (`as_created`: modified when created, no journal entry), and records its hash then.
Anything a person did to it since shows in its dates or its journal, and is reported.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from revsync.contracts.revio import RevioTicket, UpdateRevioTicket
from revsync.db import holds_session_state

_NAMESPACE = "revsync:revio-writes"
CREATED = "created"
"""What a ticket create records in place of the ticket's hash (never a hash: those are hex)."""


async def writing(conn: asyncpg.Connection, tenant_id: str, entity: str) -> None:
    """Inside a handler's transaction, before its vendor call."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtext($1), hashtext($2))",
        _NAMESPACE,
        f"{tenant_id}:{entity}",
    )


async def one_writer(conn: asyncpg.Connection, tenant_id: str, entity: str, key: str) -> None:
    """Inside a handler's transaction: the only write to this one object (all replicas) until
    the transaction ends. A write reads the object and patches what differs from its read;
    two such writes at once would each patch against the state before the other, and the
    object would end up holding half of each."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
        f"{_NAMESPACE}:{entity}",
        f"{tenant_id}:{key}",
    )


@asynccontextmanager
async def exclusive(pool: asyncpg.Pool, tenant_id: str, entity: str) -> AsyncIterator[Any]:
    """A connection holding the lock exclusively; use it (only it) for the hash reads and
    writes of the emission, so the emission needs no second connection."""
    key = (_NAMESPACE, f"{tenant_id}:{entity}")
    async with pool.acquire() as conn:
        holds_session_state(conn)
        await conn.execute("SELECT pg_advisory_lock(hashtext($1), hashtext($2))", *key)
        try:
            yield conn
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1), hashtext($2))", *key)


def as_created(ticket: RevioTicket) -> bool:
    """`ticket` is as its create left it: never modified since it was created (Rev.io's
    dates have milliseconds), and nobody has written in its journal."""
    return (
        ticket.created_at is not None
        and ticket.updated_at == ticket.created_at
        and not ticket.journal
    )


def ours_as_created(recorded: str | None, ticket: RevioTicket) -> bool:
    """`ticket` is one we created (`recorded` is `CREATED`), read as we created it."""
    return recorded == CREATED and as_created(ticket)


def only_our_journal(before: RevioTicket, after: RevioTicket, journal_id: str) -> bool:
    """`after` is `before` with our journal entry `journal_id` added, and nothing else."""
    if journal_id not in {entry.id for entry in after.journal}:
        return False
    rest = tuple(entry for entry in after.journal if entry.id != journal_id)
    return after.model_copy(update={"journal": rest, "updated_at": before.updated_at}) == before


def only_our_update(
    before: RevioTicket, after: RevioTicket, command: UpdateRevioTicket, status: str | None
) -> bool:
    """`after` is `before` with the fields `command` wrote (`status`: the base status it
    sent) holding what it wrote, and nothing else changed."""
    ours: dict[str, Any] = {"updated_at": before.updated_at}
    if command.description is not None:
        if after.description != command.description:
            return False
        ours["description"] = before.description
    if command.custom_status is not None:
        if (after.custom_status or "").casefold() != command.custom_status.casefold():
            return False
    elif status is not None and after.status.upper() != status:
        return False
    if command.status is not None or command.custom_status is not None:
        ours |= {"status": before.status, "custom_status": before.custom_status}
        ours["closed"] = before.closed
    return after.model_copy(update=ours) == before
