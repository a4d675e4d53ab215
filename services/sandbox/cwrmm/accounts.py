"""The RMM vendor accounts a sandbox serves, each with its own isolated store and quota.

An account is an API key pair (client id + secret). `POST /_sandbox/accounts` with
`{client_id, client_secret, seed, size, rate_limit}` creates or reseeds one.
"""

from dataclasses import dataclass, field
from typing import Any

import orjson

from services.sandbox.common.middleware import RequestInfo
from services.sandbox.cwrmm.ids import stable_id
from services.sandbox.cwrmm.rate_limits import DEFAULT_LIMIT, RateWindows
from services.sandbox.cwrmm.seeding import store_from_world
from services.sandbox.cwrmm.store import RmmStore
from services.sandbox.cwrmm.tokens import TokenIssuer
from services.sandbox.seed import World, generate_world

TOKEN_PATH = "/v1/token"


@dataclass
class RmmAccount:
    client_id: str
    client_secret: str
    store: RmmStore
    limits: RateWindows
    seed: int | None = None
    size: str | int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "seed": self.seed,
            "size": self.size,
            "rate_limit": self.limits.limit,
            "companies": len(self.store.companies),
            "sites": len(self.store.sites),
            "endpoints": len(self.store.endpoints),
            "tickets": len(self.store.tickets),
        }


@dataclass
class RmmAccounts:
    tokens: TokenIssuer = field(default_factory=TokenIssuer)
    default_rate_limit: int = DEFAULT_LIMIT
    accounts: dict[str, RmmAccount] = field(default_factory=dict)

    def add(
        self,
        client_id: str,
        client_secret: str,
        world: World | None = None,
        size: str | int | None = None,
        rate_limit: int | None = None,
    ) -> RmmAccount:
        store = store_from_world(world, partner_id=stable_id("partner", client_id))
        account = RmmAccount(
            client_id,
            client_secret,
            store,
            RateWindows(rate_limit or self.default_rate_limit),
            world.seed if world else None,
            size if world else None,
        )
        self.tokens.revoke_client(client_id)
        self.accounts[client_id] = account
        return account

    def list_accounts(self) -> list[dict[str, Any]]:
        return [account.summary() for account in self.accounts.values()]

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        client_id, secret = body.get("client_id"), body.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id:
            raise ValueError("client_id and client_secret (strings) are required")
        seed, size = body.get("seed"), body.get("size")
        if not isinstance(seed, int | None) or not isinstance(size, str | int | None):
            raise ValueError("seed must be an integer and size a size name or a client count")
        world = generate_world(int(seed), size or "tiny") if seed is not None else None
        return self.add(client_id, secret, world, size or "tiny", body.get("rate_limit")).summary()

    def dump_state(self) -> dict[str, Any]:
        return {
            client_id: {
                "client_secret": account.client_secret,
                "seed": account.seed,
                "size": account.size,
                "rate_limit": account.limits.limit,
                "store": account.store.to_state(),
            }
            for client_id, account in self.accounts.items()
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.accounts.clear()
        self.tokens.tokens.clear()
        for client_id, saved in state.items():
            store = RmmStore.from_state(saved["store"])
            limits = RateWindows(saved["rate_limit"])
            self.accounts[client_id] = RmmAccount(
                client_id, saved["client_secret"], store, limits, saved["seed"], saved["size"]
            )

    def account_of(self, request: RequestInfo) -> str | None:
        """Which account a vendor request belongs to: the token's client, or on the token
        endpoint the client id in the body."""
        if request.path == TOKEN_PATH:
            try:
                body = orjson.loads(request.body or b"{}")
            except orjson.JSONDecodeError:
                return None
            client_id = body.get("client_id") if isinstance(body, dict) else None
            return client_id if isinstance(client_id, str) else None
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = self.tokens.valid(value.strip()) if scheme.lower() == "bearer" else None
        return token.client_id if token else None
