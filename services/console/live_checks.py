"""What the console reads from the vendors: credential checks and configuration lookups.

The one module of the console that speaks to Rev.io and ConnectWise RMM. It uses the kernel's
`VendorHttp` (classified errors, retries, call counting) over httpx; when the connectors'
`client/api.py` classes exist, these few calls can move onto them without touching callers.

- RMM: a token from `POST /v1/token` (cached until shortly before it expires, per client id
  and secret: RMM locks a key that asks for too many tokens), then the ticketing lookups
  (service boards, sources).
- Rev.io: `GET /v1/SystemStatus` (credential check), then `BillProfiles`, `TicketTypes`,
  `TicketStatuses`, `InventoryTypes`.
"""

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from revsync.tenancy import RevioConnection, RmmConnection
from revsync.vendor.errors import VendorError, VendorErrorKind
from revsync.vendor.http import VendorHttp, json_body

LOOKUP_TTL_S = 30.0
TOKEN_MARGIN_S = 60.0
REVIO_PAGE_SIZE = 500
RMM_TICKETING = "/api/platform/v1/service/ticketing"


@dataclass(frozen=True)
class Lookup:
    id: str
    name: str
    active: bool = True
    extra: str | None = None  # e.g. the base status of a Rev.io custom status


@dataclass(frozen=True)
class RmmLookups:
    boards: list[Lookup]
    sources: list[Lookup]


@dataclass(frozen=True)
class RevioLookups:
    bill_profiles: list[Lookup]
    ticket_types: list[Lookup]
    ticket_statuses: list[Lookup]
    inventory_types: list[Lookup]


def _fingerprint(*parts: str | None) -> str:
    return hashlib.sha256("\x00".join(p or "" for p in parts).encode()).hexdigest()


@dataclass
class _Cache:
    entries: dict[str, tuple[float, Any]] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        hit = self.entries.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, key: str, value: Any, ttl_s: float) -> None:
        self.entries[key] = (time.monotonic() + ttl_s, value)


class LiveChecks:
    """Reads lookups from the live systems; `fresh=True` bypasses the short lookup cache
    (saving settings always checks against the systems as they are now)."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport | None = None, timeout_s: float = 10.0
    ) -> None:
        self.transport, self.timeout_s = transport, timeout_s
        self._lookups = _Cache()
        self._tokens = _Cache()

    def _http(self, vendor: str, tenant_id: str, client: httpx.AsyncClient) -> VendorHttp:
        return VendorHttp(
            vendor, tenant_id, client, None, lambda _: None, attempts=2, retry_budget_s=15.0
        )

    def _client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=self.timeout_s, **kwargs)

    async def rmm(self, tenant_id: str, conn: RmmConnection, fresh: bool = False) -> RmmLookups:
        secret = conn.client_secret.get_secret_value() if conn.client_secret else ""
        key = _fingerprint(tenant_id, conn.url, conn.client_id, secret)
        cached = None if fresh else self._lookups.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        async with self._client() as client:
            http = self._http("cwrmm", tenant_id, client)
            token = await self._rmm_token(http, conn, secret, key)
            headers = {"Authorization": f"Bearer {token}"}
            boards = await self._rmm_list(http, conn, "/service-boards", headers)
            sources = await self._rmm_list(http, conn, "/sources", headers)
        found = RmmLookups(
            boards=[
                Lookup(str(b["id"]), str(b.get("name", "")), not b.get("inactiveFlag", False))
                for b in boards
            ],
            sources=[
                Lookup(str(s["id"]), str(s.get("name", "")), not s.get("inactiveFlag", False))
                for s in sources
            ],
        )
        self._lookups.put(key, found, LOOKUP_TTL_S)
        return found

    async def _rmm_token(self, http: VendorHttp, conn: RmmConnection, secret: str, key: str) -> str:
        cached = self._tokens.get(key)
        if cached is not None:
            return str(cached)
        response = await http.request(
            "POST",
            f"{conn.url}/v1/token",
            "token",
            json={
                "grant_type": "client_credentials",
                "client_id": conn.client_id,
                "client_secret": secret,
            },
        )
        body = json_body(response, "cwrmm", "token")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise VendorError(
                VendorErrorKind.INVALID_RESPONSE, "cwrmm", "token", "no access_token in answer"
            )
        lifetime = float(body.get("expires_in", 3600))
        self._tokens.put(key, token, max(0.0, lifetime - TOKEN_MARGIN_S))
        return str(token)

    async def _rmm_list(
        self, http: VendorHttp, conn: RmmConnection, path: str, headers: dict[str, str]
    ) -> list[dict[str, Any]]:
        endpoint = f"ticketing{path}"
        response = await http.request(
            "GET", f"{conn.url}{RMM_TICKETING}{path}", endpoint, headers=headers
        )
        body = json_body(response, "cwrmm", endpoint)
        if not isinstance(body, list):
            raise VendorError(
                VendorErrorKind.INVALID_RESPONSE, "cwrmm", endpoint, "expected a JSON list"
            )
        return body

    async def revio(
        self, tenant_id: str, conn: RevioConnection, fresh: bool = False
    ) -> RevioLookups:
        password = conn.password.get_secret_value() if conn.password else ""
        subscription = conn.subscription_key.get_secret_value() if conn.subscription_key else ""
        key = _fingerprint(
            tenant_id, conn.base_url, conn.username, conn.client_code, password, subscription
        )
        cached = None if fresh else self._lookups.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        headers = {"Ocp-Apim-Subscription-Key": subscription} if subscription else {}
        auth = (f"{conn.username}@{conn.client_code}", password)
        base = conn.base_url.rstrip("/")
        async with self._client(auth=auth, headers=headers) as client:
            http = self._http("revio", tenant_id, client)
            await http.request("GET", f"{base}/SystemStatus", "SystemStatus")
            profiles = await self._revio_all(http, base, "BillProfiles")
            types = await self._revio_all(http, base, "TicketTypes")
            statuses = await self._revio_all(http, base, "TicketStatuses")
            inventory = await self._revio_all(http, base, "InventoryTypes")
        found = RevioLookups(
            bill_profiles=[
                Lookup(str(p["bill_profile_id"]), str(p.get("description", "")), _active(p))
                for p in profiles
            ],
            ticket_types=[
                Lookup(str(t["ticket_type_id"]), str(t.get("name", "")), _active(t)) for t in types
            ],
            ticket_statuses=[
                Lookup(
                    str(s["ticket_status_id"]), str(s.get("name", "")), _active(s), s.get("status")
                )
                for s in statuses
            ],
            inventory_types=[
                Lookup(str(i["inventory_type_id"]), str(i.get("name", "")), _active(i))
                for i in inventory
            ],
        )
        self._lookups.put(key, found, LOOKUP_TTL_S)
        return found

    async def _revio_all(self, http: VendorHttp, base: str, resource: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            response = await http.request(
                "GET",
                f"{base}/{resource}",
                resource,
                params={"page_size": REVIO_PAGE_SIZE, "page": page},
            )
            body = json_body(response, "revio", resource)
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise VendorError(
                    VendorErrorKind.INVALID_RESPONSE, "revio", resource, "expected records"
                )
            records.extend(body["records"])
            if not body.get("has_more"):
                return records
            page += 1


def _active(record: dict[str, Any]) -> bool:
    if "active" in record:
        return bool(record["active"])
    return str(record.get("status", "ACTIVE")).upper() == "ACTIVE"
