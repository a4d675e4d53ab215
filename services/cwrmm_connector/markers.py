"""What revsync writes on RMM objects so it can recognise them later.

Neither vendor has idempotency keys, so a create first looks for the marker it would write
(a crash between the HTTP call and recording the result then finds the object instead of
creating it twice), and notes written by revsync are told apart from people's notes.
"""

import re

TICKET_ATTRIBUTE = "revioTicketId"
_COMPANY = re.compile(r"^\s*Rev\.io ID:\s*(\S+)\s*$", re.MULTILINE)
_SITE = re.compile(r"^\s*Rev\.io address ID:\s*(\S+)\s*$", re.MULTILINE)
_TICKET = re.compile(r"^\s*Rev\.io ticket ID:\s*(\S+)\s*$", re.MULTILINE)
_NOTE = re.compile(r"\s*\[revsync note (\S+)\]\s*$")


def company_marker(revio_customer_id: str) -> str:
    return f"Rev.io ID: {revio_customer_id}"


def site_marker(revio_address_id: str) -> str:
    return f"Rev.io address ID: {revio_address_id}"


def ticket_marker(revio_ticket_id: str) -> str:
    return f"Rev.io ticket ID: {revio_ticket_id}"


def with_line(text: str | None, line: str) -> str:
    """`text` with `line` appended on a line of its own, unless it is there already."""
    text = text or ""
    if line in (existing.strip() for existing in text.splitlines()):
        return text
    return f"{text.rstrip()}\n{line}" if text.strip() else line


def revio_customer_id(description: str | None) -> str | None:
    found = _COMPANY.search(description or "")
    return found.group(1) if found else None


def revio_address_id(description: str | None) -> str | None:
    found = _SITE.search(description or "")
    return found.group(1) if found else None


def revio_ticket_id(description: str | None) -> str | None:
    found = _TICKET.search(description or "")
    return found.group(1) if found else None


def note_text(text: str, source_note_id: str) -> str:
    return f"{text.rstrip()}\n\n[revsync note {source_note_id}]"


def split_note(detail: str) -> tuple[str, str | None]:
    """(text without the marker, the source note id) of a note's detail."""
    found = _NOTE.search(detail)
    if found is None:
        return detail, None
    return detail[: found.start()], found.group(1)
