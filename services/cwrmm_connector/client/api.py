"""`RmmClient`: one tenant's ConnectWise RMM account, as raw vendor JSON (shape-checked).

Translation into contracts happens in `services.cwrmm_connector.translate`; nothing here
decides anything, it only calls, pages, and refuses shapes it cannot use.
"""

import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
from revsync.connector.rmm_tokens import token_key
from revsync.logs import get_logger
from revsync.tenancy import Tenant
from revsync.vendor import SharedRateLimiter, VendorError, VendorErrorKind, VendorHttp
from revsync.vendor.http import json_body

from services.cwrmm_connector.client import limits as buckets
from services.cwrmm_connector.client.auth import VENDOR, TokenProvider
from services.cwrmm_connector.client.fields import CustomFieldCalls
from services.cwrmm_connector.client.paging import endpoint_pages
from services.cwrmm_connector.client.ticketing import Doc, TicketingCalls, as_list, as_object
from services.cwrmm_connector.client.token_store import CachedToken, KvTokenStore
from services.cwrmm_connector.client.transport import RmmTransport, drift
from services.cwrmm_connector.settings import ConnectorSettings

log = get_logger(__name__)
TOKEN = "/v1/token"
RATE_LIMITS = "/v1/rate_limits"
COMPANIES = "/api/platform/v1/company/companies"
COMPANY = COMPANIES + "/{companyId}"
COMPANY_SITES = COMPANY + "/sites"
COMPANY_SITE = COMPANY_SITES + "/{siteId}"
SITES = "/api/platform/v1/company/sites"
ENDPOINTS = "/api/platform/v2/device/categories/{category}/endpoints"
ENDPOINT_FIELDS_PROJECTED = "os,system,bios"


class RmmClient(TicketingCalls, CustomFieldCalls):
    def __init__(self, transport: RmmTransport, limits: buckets.BucketLimits, page: int) -> None:
        self.t, self.limits, self.ticket_page_size = transport, limits, page

    @classmethod
    def create(
        cls, tenant: Tenant, pool: asyncpg.Pool, store: KvTokenStore, settings: ConnectorSettings
    ) -> "RmmClient":
        client = httpx.AsyncClient(base_url=tenant.rmm.url, timeout=settings.rmm_http_timeout_s)
        limits = buckets.BucketLimits(
            settings.rmm_default_bucket_limit, settings.rmm_enforce_rate_limits
        )
        limiter = SharedRateLimiter(pool, tenant.id, VENDOR)
        http = VendorHttp(
            VENDOR, tenant.id, client, limiter, limits.limit_for,
            settings.rmm_http_attempts, settings.rmm_retry_budget_s,
        )  # fmt: skip
        secret = tenant.rmm.client_secret.get_secret_value() if tenant.rmm.client_secret else ""
        credentials = {
            "grant_type": "client_credentials",
            "client_id": tenant.rmm.client_id,
            "client_secret": secret,
        }

        async def fetch_token() -> CachedToken:
            response = await http.request(
                "POST", TOKEN, f"POST {TOKEN}", bucket=buckets.UNLIMITED, json=credentials
            )
            try:
                body = json_body(response, VENDOR, f"POST {TOKEN}")
            except VendorError as error:  # a garbled token answer: an outage, not a refusal
                error.kind = VendorErrorKind.UNAVAILABLE
                raise
            value = body.get("access_token") if isinstance(body, dict) else None
            lifetime = body.get("expires_in", 3599) if isinstance(body, dict) else None
            if not isinstance(value, str) or not isinstance(lifetime, int | float):
                raise drift(TOKEN, "token response without access_token/expires_in", body)
            return CachedToken(value, time.time() + float(lifetime))

        key = token_key(tenant.rmm.url, tenant.rmm.client_id)
        tokens = TokenProvider(
            store, key, fetch_token, settings.rmm_token_refresh_margin_s, tenant.id
        )
        return cls(RmmTransport(http, tokens), limits, settings.rmm_ticket_page_size)

    async def close(self) -> None:
        await self.t.http.client.aclose()

    async def learn_limits(self) -> dict[str, int]:
        """Read the account's buckets; on failure keep what is known (logged)."""
        self.limits.attempted_at = time.monotonic()
        try:
            report, _ = await self.t.read("GET", RATE_LIMITS, RATE_LIMITS, buckets.UNLIMITED)
        except VendorError as error:
            log.warning("RMM rate limits unreadable", tenant_id=self.t.tenant_id, error=str(error))
            return {}
        return self.limits.learn(report)

    async def companies(self) -> list[Doc]:
        body, _ = await self.t.read("GET", COMPANIES, COMPANIES, buckets.COMPANIES)
        return as_list(COMPANIES, body)

    async def company(self, company_id: str) -> Doc:
        path = COMPANY.format(companyId=company_id)
        body, _ = await self.t.read("GET", path, COMPANY, buckets.COMPANIES)
        return as_object(COMPANY, body)

    async def create_company(self, body: Doc) -> Doc | None:
        created = await self.t.write("POST", COMPANIES, COMPANIES, buckets.COMPANIES, body)
        return None if created is None else as_object(COMPANIES, created)

    async def patch_company(self, company_id: str, operations: list[Doc]) -> Doc:
        path = COMPANY.format(companyId=company_id)
        patched = await self.t.write("PATCH", path, COMPANY, buckets.COMPANIES, operations)
        return (
            as_object(COMPANY, patched) if patched is not None else await self.company(company_id)
        )

    async def sites(self) -> list[Doc]:
        body, _ = await self.t.read("GET", SITES, SITES, buckets.SITES)
        return as_list(SITES, body)

    async def company_sites(self, company_id: str) -> list[Doc]:
        path = COMPANY_SITES.format(companyId=company_id)
        body, _ = await self.t.read("GET", path, COMPANY_SITES, buckets.SITES)
        return as_list(COMPANY_SITES, body)

    async def create_site(self, company_id: str, body: Doc) -> Doc | None:
        path = COMPANY_SITES.format(companyId=company_id)
        created = await self.t.write("POST", path, COMPANY_SITES, buckets.SITES, body)
        return None if created is None else as_object(COMPANY_SITES, created)

    async def patch_site(self, company_id: str, site_id: str, operations: list[Doc]) -> Doc | None:
        path = COMPANY_SITE.format(companyId=company_id, siteId=site_id)
        patched = await self.t.write("PATCH", path, COMPANY_SITE, buckets.SITES, operations)
        return None if patched is None else as_object(COMPANY_SITE, patched)

    def endpoint_pages(self, category: str) -> AsyncIterator[dict[str, Any]]:
        return endpoint_pages(
            self.t, category, ENDPOINTS, buckets.ENDPOINTS, ENDPOINT_FIELDS_PROJECTED
        )
