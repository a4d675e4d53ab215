"""A domain service's decision and how it is committed.

    decision = decide(state, message, settings, ctx)          # pure: events + commands
    await commit_decision(pool, tenant, "alert", message, stream, decide_in)

`commit_decision` runs one unit of work per attempt: inbox claim, a transaction-scoped lock
on the stream (so concurrent deliveries about the same thing decide one after the other,
each on the state the previous one committed), read the stream + decide, append with the
expected version (the projections fold the stream's row from the events read), outbox. A
`ConcurrencyError` (a writer that did not take the lock) is retried a few times from fresh
state, then raised so the message is redelivered.

Ids inside a decision are derived from its cause (uuid5), so deciding is deterministic: the
same state and message always give the same events and commands.
"""

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import asyncpg

from revsync.contracts.base import Command, Message, caused_by
from revsync.db import Conn
from revsync.eventlog.model import NO_STREAM, ConcurrencyError, NewEvent, RecordedEvent
from revsync.projection import Projection
from revsync.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Decision:
    """What a rule decided: decision events (why) and commands to other systems (what)."""

    events: tuple[NewEvent, ...] = ()
    commands: tuple[Command, ...] = ()

    def __add__(self, other: "Decision") -> "Decision":
        return Decision(self.events + other.events, self.commands + other.commands)

    @property
    def empty(self) -> bool:
        return not self.events and not self.commands

    @property
    def event_types(self) -> list[str]:
        return [event.type for event in self.events]


NOTHING = Decision()


def sent(*commands: Command) -> list[dict[str, str]]:
    """How a decision event names the commands it sent (so a result finds its decision)."""
    return [
        {"command_id": str(c.message_id), "system": c.system, "entity": c.entity, "verb": c.verb}
        for c in commands
    ]


@dataclass
class DecisionContext:
    """What a pure rule may use besides state and input: the time, and ids and envelope
    fields derived from the cause (a message, or an event for log-driven decisions)."""

    tenant_id: str
    now: datetime
    seed: UUID
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    _counter: int = field(default=0, repr=False)

    @classmethod
    def of(cls, cause: Message, now: datetime) -> "DecisionContext":
        envelope = caused_by(cause)
        return cls(
            tenant_id=cause.tenant_id,
            now=now,
            seed=cause.message_id,
            correlation_id=envelope["correlation_id"],
            causation_id=envelope["causation_id"],
        )

    def new_id(self) -> UUID:
        self._counter += 1
        return uuid5(self.seed, str(self._counter))

    def envelope(self) -> dict[str, Any]:
        """Envelope fields of a command this decision sends: tenant, correlation, causation,
        a deterministic message id, and the decision's time."""
        fields: dict[str, Any] = {
            "tenant_id": self.tenant_id,
            "message_id": self.new_id(),
            "occurred_at": self.now,
        }
        if self.correlation_id is not None:
            fields["correlation_id"] = self.correlation_id
        if self.causation_id is not None:
            fields["causation_id"] = self.causation_id
        return fields

    def event(self, type_: str, **data: Any) -> NewEvent:
        return NewEvent(type_, data, id=self.new_id())


DecideIn = Callable[[Conn], Awaitable[tuple[Decision, Sequence[RecordedEvent]]]]
"""Read the stream on the connection, fold and decide; return the decision and the stream's
events it was decided on (all of them: the append expects the last one's version, and the
projections fold the stream's row from them instead of loading it)."""


async def commit_decision(
    pool: asyncpg.Pool,
    tenant_id: str,
    consumer: str,
    cause: Message | None,
    stream: str,
    decide_in: DecideIn,
    projections: Sequence[Projection] = (),
    attempts: int = 4,
) -> Decision | None:
    """Decide about `stream` and commit the decision; None when `cause` was already handled."""
    for attempt in range(1, attempts + 1):
        try:
            async with UnitOfWork(pool, tenant_id, consumer, cause=cause, stream=stream) as uow:
                if uow.already_processed:
                    return None
                decision, history = await decide_in(uow.conn)
                if decision.events:
                    version = history[-1].version if history else NO_STREAM
                    await uow.append(stream, decision.events, version, projections, history)
                for command in decision.commands:
                    uow.send(command)
                return decision
        except ConcurrencyError:
            if attempt == attempts:
                raise
            await asyncio.sleep(random.uniform(0.005, 0.05) * attempt)
    raise AssertionError("unreachable")
