"""Deterministic ids: the same seed gives the same ids in every account (multi-tenant tests
need two accounts with the same ids inside)."""

import hashlib
import uuid

from services.sandbox.common.world import uuid_text

NAMESPACE = uuid.UUID("5f0c2b9e-7d1a-4c3e-9a57-2d6e1f0b8c44")


def stable_id(*parts: object) -> str:
    """`uuid.uuid5(NAMESPACE, "part:part")`, computed directly (seeding makes many)."""
    name = ":".join(str(part) for part in parts).encode()
    digest = hashlib.sha1(NAMESPACE.bytes + name, usedforsecurity=False).digest()
    return uuid_text(int.from_bytes(digest[:16], "big"), version=5)


def new_id() -> str:
    return str(uuid.uuid4())
