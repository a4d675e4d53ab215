"""The body of `POST /_sandbox/accounts` for Rev.io, and building an account from it."""

from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.sandbox.revio.accounts import ALL_PERMISSIONS, RevioAccount
from services.sandbox.revio.seeding import seed_lookups, seed_world
from services.sandbox.revio.store import RevioStore
from services.sandbox.seed import World, generate_world

NAME = r"^[^@:\s]+$"


class Permissions(BaseModel):
    permissions: list[str] | None = None
    """`<Resource>:read` / `<Resource>:write` names; None grants everything."""

    @field_validator("permissions")
    @classmethod
    def _known(cls, names: list[str] | None) -> list[str] | None:
        unknown = sorted(set(names or []) - ALL_PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown permissions: {', '.join(unknown)}")
        return names

    def granted(self) -> frozenset[str]:
        return ALL_PERMISSIONS if self.permissions is None else frozenset(self.permissions)


class AccountSpec(Permissions):
    """A Rev.io account: `seed` set fills it from `generate_world(seed, size)`."""

    model_config = ConfigDict(extra="forbid")

    client_code: str = Field(pattern=NAME)
    username: str = Field("integration", pattern=NAME)
    password: str = "sandbox"
    seed: int | None = None
    size: str | int = "tiny"
    time_zone: str = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _zone_exists(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {name}") from None
        return name


def account_holding(spec: AccountSpec, store: RevioStore) -> RevioAccount:
    zone = ZoneInfo(spec.time_zone)
    return RevioAccount(spec.client_code, spec.username, spec.password, store, spec.granted(), zone)


def build_account(spec: AccountSpec, world: World | None = None) -> RevioAccount:
    """The account, its lookups seeded; its customers from `world`, or the spec's seed."""
    account = account_holding(spec, RevioStore())
    seed_lookups(account.store)
    if world is None and spec.seed is not None:
        world = generate_world(spec.seed, spec.size)
    if world is not None:
        seed_world(account.store, world, account.time_zone)
    return account
