"""What revsync writes on Rev.io objects so it can recognise them later.

Rev.io has no idempotency keys, so every create first looks for its marker (a custom field,
or a tag at the end of a journal entry) and the watchers flag what revsync wrote.
[inferred] Custom fields are defined per account in Rev.io's UI; these labels must exist.
"""

import re

SOURCE_KEY_FIELD = "RevSync Source Key"  # ticket: CreateRevioTicket.source_key
RMM_TICKET_FIELD = "RMM Ticket ID"  # ticket: the RMM ticket it mirrors
RMM_COMPANY_FIELD = "RMM Company ID"  # customer: the RMM company it was created from
DESCRIPTION_FIELD = "RMM Description"  # customer: description kept in sync from RMM

_NOTE_TAG = re.compile(r"\s*\[revsync:note:(?P<id>[^\]\s]+)\]\s*$")


def note_tag(source_note_id: str) -> str:
    return f"[revsync:note:{source_note_id}]"


def mark_note(text: str, source_note_id: str) -> str:
    """The journal message revsync writes: the text, then its tag on a line of its own."""
    return f"{text.rstrip()}\n\n{note_tag(source_note_id)}"


def read_note(message: str) -> tuple[str, str | None]:
    """(text without the tag, source note id) of a journal message; id None if not ours."""
    found = _NOTE_TAG.search(message)
    if found is None:
        return message, None
    return message[: found.start()], found.group("id")
