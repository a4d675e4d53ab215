"""Executing a command against a vendor at most once, and answering it exactly once.

    executor = CommandExecutor(pool, consumer="revio-connector")
    await executor.execute(command, perform)   # perform() -> external ids, may raise

- A command whose outcome is recorded is answered from the record: no second vendor call.
- The outcome, its audit event and the outgoing `Result` commit in one transaction with the
  inbox record, while concurrent deliveries of the same command wait on that inbox row; the
  three are written in one round trip (`command_executed`, migration 015).
- Transient vendor failures (rate limited, unavailable) raise, so JetStream redelivers the
  command later; permanent ones (rejected, not found, unauthorized, invalid response) become
  a failed `Result` that names the reason, for the issuing service to decide on.
- `perform` must make creates idempotent itself by first looking for the marker it writes on
  the objects it creates (neither vendor has idempotency keys): a crash after the vendor call
  but before the commit is then repaired by the redelivery finding the marker.
"""

from collections.abc import Awaitable, Callable
from uuid import uuid4

import asyncpg
import orjson

from revsync.contracts.base import Command, Result, ResultStatus
from revsync.logs import get_logger
from revsync.unit_of_work import UnitOfWork, trace_headers
from revsync.vendor.errors import VendorError

log = get_logger(__name__)
Perform = Callable[[asyncpg.Connection], Awaitable[dict[str, str]]]
_EXECUTED = (
    "SELECT command_executed($1, $2, $3, $4, $5, $6, $7::text, $8::text, $9, $10, $11::jsonb)"
)


class CommandExecutor:
    def __init__(self, pool: asyncpg.Pool, consumer: str) -> None:
        self.pool, self.consumer = pool, consumer

    async def execute(self, command: Command, perform: Perform) -> Result | None:
        """Run `perform` once for `command`; return the Result sent (None for a duplicate)."""
        async with UnitOfWork(self.pool, command.tenant_id, self.consumer, cause=command) as uow:
            if uow.already_processed:
                return None
            try:
                external_ids = await perform(uow.conn)
                result = Result.of(command, ResultStatus.OK, external_ids)
            except VendorError as error:
                if error.transient:
                    raise
                log.warning(
                    "command refused by vendor",
                    tenant_id=command.tenant_id,
                    subject=command.subject,
                    kind=error.kind.value,
                    error=str(error),
                    payload=error.payload,
                )
                result = Result.of(command, error.result_status, reason=str(error))
            await _answer(uow, command, result)
            return result


async def _answer(uow: UnitOfWork, command: Command, result: Result) -> None:
    """In `uow`'s transaction and one round trip: `result` as the command's outcome, its
    `CommandExecuted` event (stamped with the unit's metadata, as `UnitOfWork.append` stamps
    events) and `result` in the outbox with the trace headers and the relay's wake-up (as a
    unit of work writes its outbox)."""
    event = {
        "subject": command.subject,
        "status": result.status.value,
        "external_ids": result.external_ids,
        "reason": result.reason,
    }
    await uow.conn.execute(
        _EXECUTED,
        command.tenant_id,
        command.message_id,
        command.subject,
        result.status.value,
        result.to_bytes(),
        uuid4(),
        orjson.dumps(event).decode(),
        orjson.dumps(uow.metadata()).decode(),
        result.message_id,
        result.subject,
        trace_headers(),
    )
