"""Executing a command against a vendor at most once, and answering it exactly once.

    executor = CommandExecutor(pool, consumer="revio-connector")
    await executor.execute(command, perform)   # perform() -> external ids, may raise

- A command whose outcome is recorded is answered from the record: no second vendor call.
- The outcome, its audit event and the outgoing `Result` commit in one transaction with the
  inbox record, while concurrent deliveries of the same command wait on that inbox row.
- Transient vendor failures (rate limited, unavailable) raise, so JetStream redelivers the
  command later; permanent ones (rejected, not found, unauthorized, invalid response) become
  a failed `Result` that names the reason, for the issuing service to decide on.
- `perform` must make creates idempotent itself by first looking for the marker it writes on
  the objects it creates (neither vendor has idempotency keys): a crash after the vendor call
  but before the commit is then repaired by the redelivery finding the marker.
"""

from collections.abc import Awaitable, Callable

import asyncpg

from revsync.contracts.base import Command, Result, ResultStatus
from revsync.eventlog.model import NewEvent
from revsync.logs import get_logger
from revsync.unit_of_work import UnitOfWork
from revsync.vendor.errors import VendorError

log = get_logger(__name__)
Perform = Callable[[asyncpg.Connection], Awaitable[dict[str, str]]]


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
            await uow.conn.execute(
                "INSERT INTO command_outcomes (tenant_id, command_id, subject, status, result)"
                " VALUES ($1, $2, $3, $4, $5)",
                command.tenant_id,
                command.message_id,
                command.subject,
                result.status.value,
                result.to_bytes(),
            )
            await uow.append(
                f"command:{command.message_id}",
                [
                    NewEvent(
                        "CommandExecuted",
                        {
                            "subject": command.subject,
                            "status": result.status.value,
                            "external_ids": result.external_ids,
                            "reason": result.reason,
                        },
                    )
                ],
            )
            uow.send(result)
            return result
