"""Dead letters of a tenant (the DLQ stream, subjects `dlq.<tenant>.<original...>`): list them,
and retry one by publishing it again to its original subject.

A retry keeps the message's body (so its `message_id`, which every consumer's inbox knows:
consumers that already handled it acknowledge it without deciding again), is published
with a `Nats-Msg-Id` derived from the dead letter (a double click is dropped by JetStream),
is recorded as `DeadLetterRetried` with the person as actor, and then leaves the DLQ.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from revsync.contracts.subjects import Subjects
from revsync.eventlog import NewEvent
from revsync.messaging.subscriber import REASON_HEADER
from revsync.unit_of_work import UnitOfWork

STREAM = "DLQ"
LISTED_AT_MOST = 500
_OUR_HEADERS = {
    REASON_HEADER,
    "Revsync-Consumer",
    "Revsync-Deliveries",
    "Revsync-Original-Subject",
    "Nats-Msg-Id",
}


@dataclass(frozen=True)
class DeadLetter:
    id: int
    subject: str
    original_subject: str
    reason: str | None
    consumer: str | None
    deliveries: int | None
    dead_at: datetime | None
    message_id: str | None
    message_type: str | None
    body: Any

    def as_json(self) -> dict[str, Any]:
        found = asdict(self)
        found["dead_at"] = self.dead_at.isoformat() if self.dead_at else None
        return found


class DeadLetterNotFound(Exception):
    pass


def _parse(raw: Any) -> DeadLetter:
    headers = raw.headers or {}
    try:
        body: Any = orjson.loads(raw.data or b"")
    except orjson.JSONDecodeError:
        body = (raw.data or b"").decode("utf-8", "replace")[:2000]
    message_id = body.get("message_id") if isinstance(body, dict) else None
    original = headers.get("Revsync-Original-Subject") or Subjects.original_of_dead_letter(
        raw.subject
    )
    deliveries = headers.get("Revsync-Deliveries")
    return DeadLetter(
        id=raw.seq,
        subject=raw.subject,
        original_subject=original,
        reason=headers.get(REASON_HEADER),
        consumer=headers.get("Revsync-Consumer"),
        deliveries=int(deliveries) if deliveries and deliveries.isdigit() else None,
        dead_at=raw.time,
        message_id=message_id,
        message_type=".".join(original.split(".")[2:]) if original.count(".") >= 3 else None,
        body=body,
    )


async def list_dead_letters(js: JetStreamContext, tenant_id: str) -> list[DeadLetter]:
    """The tenant's dead letters, newest first."""
    found: list[DeadLetter] = []
    seq = 1
    while len(found) < LISTED_AT_MOST:
        try:
            raw = await js.get_msg(
                STREAM, seq=seq, subject=Subjects.of_tenant(STREAM, tenant_id), next=True
            )
        except NotFoundError:
            break
        found.append(_parse(raw))
        seq = (raw.seq or seq) + 1
    return list(reversed(found))


async def dlq_size(js: JetStreamContext, tenant_id: str | None) -> int:
    subjects = Subjects.of_tenant(STREAM, tenant_id) if tenant_id else Subjects.STREAMS[STREAM]
    info = await js.stream_info(STREAM, subjects_filter=subjects)
    if tenant_id is None:
        return int(info.state.messages)
    return sum((info.state.subjects or {}).values())


async def retry(
    js: JetStreamContext, pool: asyncpg.Pool, tenant_id: str, letter_id: int, actor: str
) -> DeadLetter:
    try:
        raw = await js.get_msg(STREAM, seq=letter_id)
    except NotFoundError:
        raise DeadLetterNotFound(f"no dead letter {letter_id}") from None
    if not raw.subject or Subjects.tenant_of(raw.subject) != tenant_id:
        raise DeadLetterNotFound(f"no dead letter {letter_id}")  # another tenant's: not yours
    letter = _parse(raw)
    headers = {k: v for k, v in (raw.headers or {}).items() if k not in _OUR_HEADERS}
    headers["Nats-Msg-Id"] = f"{letter.message_id or 'dlq'}:retry:{letter_id}"
    await js.publish(letter.original_subject, raw.data or b"", headers=headers)
    event = NewEvent(
        "DeadLetterRetried",
        {
            "dead_letter_id": letter_id,
            "original_subject": letter.original_subject,
            "message_id": letter.message_id,
            "reason": letter.reason,
            "consumer": letter.consumer,
        },
    )
    async with UnitOfWork(pool, tenant_id, consumer="console", actor=actor) as uow:
        await uow.append(f"dead-letter:{letter_id}", [event])
    await js.delete_msg(STREAM, letter_id)
    return letter
