"""Console users, API tokens and UI sessions.

- Passwords are stored as scrypt hashes (stdlib `hashlib.scrypt`), never in clear.
- A bearer token (API) and a session (UI cookie) are both random 256-bit strings of which
  only the SHA-256 is stored in `api_tokens`; a session also carries the CSRF token every
  unsafe request made with the cookie must echo (header `X-CSRF-Token` or form field
  `csrf_token`).
- The bootstrap administrator comes from `REVSYNC_ADMIN_USER` / `REVSYNC_ADMIN_PASSWORD` and is
  an operator: it sees every tenant and names one with `?tenant=`.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg
from revsync.contracts.subjects import validate_tenant_id
from revsync.logs import get_logger

log = get_logger(__name__)
Role = Literal["operator", "admin", "viewer"]
ROLES: tuple[str, ...] = ("operator", "admin", "viewer")
TokenKind = Literal["api", "session"]
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + "$".join(encoded)


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        dklen=len(expected),
        n=int(n),
        r=int(r),
        p=int(p),
    )
    return hmac.compare_digest(actual, expected)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling, and how."""

    username: str
    role: str
    tenant_id: str | None
    via: TokenKind
    token_hash: str
    csrf_token: str | None = None
    selected_tenant: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    @property
    def can_write(self) -> bool:
        return self.role != "viewer"


@dataclass(frozen=True)
class Issued:
    token: str
    csrf_token: str | None
    expires_at: datetime


class Users:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(
        self, username: str, password: str, role: Role, tenant_id: str | None = None
    ) -> None:
        """Create the user, or reset its password, role and tenant."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; choose from {list(ROLES)}")
        if role != "operator":
            if tenant_id is None:
                raise ValueError("a user who is not an operator belongs to a tenant")
            validate_tenant_id(tenant_id)
        await self.pool.execute(
            "INSERT INTO console_users (username, tenant_id, password_hash, role)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO UPDATE SET"
            " tenant_id = excluded.tenant_id, password_hash = excluded.password_hash,"
            " role = excluded.role",
            username,
            None if role == "operator" else tenant_id,
            hash_password(password),
            role,
        )

    async def ensure_bootstrap_admin(self, username: str | None, password: str | None) -> bool:
        """The operator of `REVSYNC_ADMIN_USER`/`_PASSWORD`; the environment wins."""
        if not username or not password:
            log.warning("no bootstrap operator: set REVSYNC_ADMIN_USER and REVSYNC_ADMIN_PASSWORD")
            return False
        row = await self.pool.fetchrow(
            "SELECT password_hash, role FROM console_users WHERE username = $1", username
        )
        if row and row["role"] == "operator" and verify_password(password, row["password_hash"]):
            return True
        await self.create(username, password, "operator")
        log.info("bootstrap operator ready", username=username)
        return True

    async def authenticate(self, username: str, password: str) -> asyncpg.Record | None:
        row = await self.pool.fetchrow(
            "SELECT username, role, tenant_id, password_hash FROM console_users"
            " WHERE username = $1",
            username,
        )
        if row is None:
            verify_password(password, _dummy_hash())  # same cost whether or not the user exists
            return None
        return row if verify_password(password, row["password_hash"]) else None

    async def issue(
        self, username: str, kind: TokenKind, lifetime: timedelta, label: str | None = None
    ) -> Issued:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24) if kind == "session" else None
        expires_at = datetime.now(UTC) + lifetime
        await self.pool.execute(
            "INSERT INTO api_tokens (token_hash, username, kind, label, csrf_token, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            token_hash(token),
            username,
            kind,
            label,
            csrf,
            expires_at,
        )
        return Issued(token, csrf, expires_at)

    async def resolve(self, token: str, kind: TokenKind) -> Principal | None:
        row = await self.pool.fetchrow(
            "UPDATE api_tokens t SET last_used_at = now() FROM console_users u"
            " WHERE t.token_hash = $1 AND t.kind = $2 AND t.expires_at > now()"
            " AND u.username = t.username"
            " RETURNING u.username, u.role, u.tenant_id, t.csrf_token, t.selected_tenant",
            token_hash(token),
            kind,
        )
        if row is None:
            return None
        return Principal(
            username=row["username"],
            role=row["role"],
            tenant_id=row["tenant_id"],
            via=kind,
            token_hash=token_hash(token),
            csrf_token=row["csrf_token"],
            selected_tenant=row["selected_tenant"],
        )

    async def revoke(self, hashed: str) -> None:
        await self.pool.execute("DELETE FROM api_tokens WHERE token_hash = $1", hashed)

    async def select_tenant(self, hashed: str, tenant_id: str) -> None:
        await self.pool.execute(
            "UPDATE api_tokens SET selected_tenant = $2 WHERE token_hash = $1",
            hashed,
            validate_tenant_id(tenant_id),
        )


def csrf_matches(principal: Principal, offered: str | None) -> bool:
    expected = principal.csrf_token
    return bool(expected and offered and hmac.compare_digest(expected, offered))


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH
