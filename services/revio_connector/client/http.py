"""One Rev.io account over HTTP: Basic auth, the APIM key, limits, retries, JSON envelopes.

Built on `VendorHttp` (shared rate limiter, Retry-After, jittered retries of transient
failures, classified errors, call counting). Reads retry a malformed (truncated) answer a
few times. Creates go through `post_once`, which never retries by itself: Rev.io has no
idempotency keys, so a retried POST could create a second record; the caller looks for its
marker before trying again (see `handlers.create_once`).
"""

from typing import Any

import httpx
from revsync.tenancy import RevioConnection
from revsync.vendor import RateLimit, SharedRateLimiter, VendorError, VendorErrorKind, VendorHttp
from revsync.vendor.http import json_body

from services.revio_connector.metrics import count_invalid

VENDOR = "revio"
JSON_PATCH = "application/json-patch+json"
MALFORMED_READ_ATTEMPTS = 5


def revio_limit(per_minute: int = 500, per_day: int = 150_000) -> RateLimit:
    return RateLimit("default", per_minute, 60.0, daily=per_day)


def make_client(connection: RevioConnection, timeout_s: float) -> httpx.AsyncClient:
    password = connection.password.get_secret_value() if connection.password else ""
    headers = {"Accept": "application/json"}
    if connection.subscription_key and connection.subscription_key.get_secret_value():
        headers["Ocp-Apim-Subscription-Key"] = connection.subscription_key.get_secret_value()
    return httpx.AsyncClient(
        base_url=connection.base_url.rstrip("/") + "/",
        auth=(f"{connection.username}@{connection.client_code}", password),
        headers=headers,
        timeout=timeout_s,
    )


class RevioHttp:
    def __init__(
        self,
        tenant_id: str,
        client: httpx.AsyncClient,
        limiter: SharedRateLimiter | None,
        limit: RateLimit | None,
    ) -> None:
        self.tenant_id, self.client = tenant_id, client
        self.interval_s = limit.interval_s if limit else 0.0
        self.latency_s = 0.0  # moving average of Rev.io's answer time (reads)

        def limit_for(_: str) -> RateLimit | None:
            return limit

        self.retrying = VendorHttp(VENDOR, tenant_id, client, limiter, limit_for)
        self.once = VendorHttp(VENDOR, tenant_id, client, limiter, limit_for, attempts=1)

    async def get(self, path: str, endpoint: str, params: Any = None) -> dict[str, Any]:
        """A GET answered with a JSON object (a malformed answer is asked again a few
        times, then raises INVALID_RESPONSE); 404 raises NOT_FOUND."""
        attempt = 1
        while True:
            response = await self.retrying.request("GET", path, endpoint, params=params)
            self._observe(response)
            try:
                return _object(json_body(response, VENDOR, endpoint), endpoint, response)
            except VendorError as error:
                count_invalid(self.tenant_id, endpoint, error)
                if attempt >= MALFORMED_READ_ATTEMPTS:
                    raise
                attempt += 1

    def _observe(self, response: httpx.Response) -> None:
        try:
            seconds = response.elapsed.total_seconds()
        except RuntimeError:  # a response not from the network (tests' mock transports)
            return
        self.latency_s = seconds if not self.latency_s else 0.8 * self.latency_s + 0.2 * seconds

    def pages_in_flight(self, most: int = 4) -> int:
        """How many pages of a listing to ask for at once so that Rev.io's answer time does
        not leave the limit's slots unused: one while it answers within a slot."""
        if self.interval_s <= 0:
            return 2
        return max(1, min(most, 1 + int(self.latency_s / self.interval_s)))

    async def get_or_none(self, path: str, endpoint: str) -> dict[str, Any] | None:
        try:
            return await self.get(path, endpoint)
        except VendorError as error:
            if error.kind is VendorErrorKind.NOT_FOUND:
                return None
            raise

    async def post_once(self, path: str, endpoint: str, body: dict[str, Any]) -> str:
        """POST without retries; the new record's id (from the body, else `Location`)."""
        response = await self.once.request("POST", path, endpoint, json=body)
        try:
            created = json_body(response, VENDOR, endpoint)
            if isinstance(created, dict) and str(created.get("id", "")).isdigit():
                return str(created["id"])
        except VendorError:
            pass
        location = response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        if location.isdigit():
            return location
        raise VendorError(
            VendorErrorKind.UNAVAILABLE,  # it may exist: the caller looks for its marker
            VENDOR,
            endpoint,
            "created, but the answer names no id",
            response.status_code,
            response.content,
        )

    async def patch(self, path: str, endpoint: str, operations: list[dict[str, Any]]) -> None:
        """RFC 6902 JSON Patch (idempotent `replace`/`add` operations: safe to retry)."""
        content = httpx.Request("PATCH", "/", json=operations).content
        headers = {"Content-Type": JSON_PATCH}
        await self.retrying.request("PATCH", path, endpoint, headers=headers, content=content)


def _object(body: Any, endpoint: str, response: httpx.Response) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("ok") is False:
        raise VendorError(
            VendorErrorKind.INVALID_RESPONSE,
            VENDOR,
            endpoint,
            "answer is not a Rev.io object",
            response.status_code,
            response.content,
        )
    return body
