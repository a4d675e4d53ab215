"""Company names and the Rev.io id an RMM company carries (pure).

`normalize_name` is what "the same name" means for exact matching: case, accents,
punctuation, `&` vs `and`, whitespace and trailing legal suffixes do not count, so
`Acme, Inc.` = `ACME INC` and `Smith & Sons` = `Smith and Sons`.

The strong key is the Rev.io customer id written into an RMM company's description (by
revsync when it creates or updates the company, or by a person) or equal to one of its
external ids (set by another integration or a person in RMM).
"""

import re
import unicodedata
from collections.abc import Iterable

from revsync.contracts.revio import RevioCustomer

LEGAL_SUFFIXES = frozenset(
    """inc incorporated llc lc ltd limited corp corporation co company gmbh mbh ag kg pty
    plc llp lp pllc pc pa sa sas sarl srl bv nv oy ab as aps spa kk""".split()
)
_DROPPED = re.compile(r"[.'`\u2019]")  # L.L.C. -> llc, O'Brien -> obrien
_SEPARATORS = re.compile(r"[\W_]+")
_REVIO_ID = re.compile(r"\brev\.?\s?io\s+(?:customer\s+)?id\s*[:#=]?\s*([A-Za-z0-9_-]+)", re.I)
_ADDRESS_ID = re.compile(r"\brev\.?\s?io\s+address\s+id\s*[:#=]?\s*([A-Za-z0-9_-]+)", re.I)
# The line the RMM connector also writes (and keeps) as its marker of a company it created.
REVIO_ID_LABEL = "Rev.io ID"


def normalize_name(name: str) -> str:
    """The matching key of a company name ("" when nothing is left)."""
    decomposed = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    text = _DROPPED.sub("", text.replace("&", " and "))
    tokens = _SEPARATORS.sub(" ", text).split()
    while len(tokens) > 1 and tokens[-1] in LEGAL_SUFFIXES:
        tokens.pop()
    return " ".join(tokens)


def revio_ids_in(description: str | None, external_ids: Iterable[str] = ()) -> tuple[str, ...]:
    """The Rev.io customer ids an RMM company names: the one its description's marker line
    carries, then each of its external ids (any of which may be a Rev.io customer id; which
    one is, only a match against the customers tells)."""
    found = _REVIO_ID.search(description or "")
    named = [found.group(1)] if found else []
    return tuple(dict.fromkeys([*named, *(e.strip() for e in external_ids if e.strip())]))


def revio_address_id_in(description: str | None) -> str | None:
    """The Rev.io address id an RMM site's description names (the connector's site marker)."""
    found = _ADDRESS_ID.search(description or "")
    return found.group(1) if found else None


def primary_contact(customer: RevioCustomer) -> str | None:
    """The first address's person and the customer's e-mail, as one line."""
    person = next(
        (
            " ".join(p for p in (a.first_name, a.last_name) if p)
            for a in customer.addresses
            if a.first_name or a.last_name
        ),
        "",
    )
    parts = [p for p in (person, customer.email) if p]
    return ", ".join(parts) or None


def company_description(customer: RevioCustomer) -> str:
    """The RMM company description revsync keeps: a line with the Rev.io id (the strong key,
    the same line the RMM connector marks companies with) and one with the primary contact."""
    contact = primary_contact(customer)
    lines = [f"{REVIO_ID_LABEL}: {customer.id}", *([f"Contact: {contact}"] if contact else [])]
    return "\n".join(lines)
