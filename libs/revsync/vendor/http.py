"""One HTTP client per vendor account: limits, retries, classification, counting.

- every call waits for its slot under the account's shared limits (queueing, not failing);
- 429, 423 and 503 are retried after the vendor's `Retry-After`; other 5xx, timeouts and
  connection errors after a jittered exponential backoff; no other 4xx is ever retried;
- a URL that cannot be sent (malformed, or not http/https) is a REJECTED `VendorError` at
  once: a configuration mistake, never retried;
- what is still failing after the retries becomes a classified `VendorError`, with the
  offending payload kept (truncated) for diagnosis;
- every attempt is counted by endpoint and outcome.
"""

import sys
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson
import stamina

from revsync.vendor.errors import VendorError, VendorErrorKind
from revsync.vendor.limiter import RateLimit, SharedRateLimiter
from revsync.vendor.metrics import count_call

# httpcore asks `sniffio` which event loop runs for every lock and cancellation shield it
# makes (several per request). sniffio is not installed (anyio no longer needs it), and a
# failed import is not remembered: each ask searched sys.path again (stat calls), about a
# twentieth of a connector's CPU. Saying once that it is absent makes each ask a dict lookup;
# httpcore then assumes asyncio, as it did. An installed sniffio is left alone.
try:
    import sniffio  # noqa: F401
except ImportError:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

RETRY_AFTER_STATUSES = {423, 429, 503}
DEFAULT_RETRY_AFTER_S = 5.0


class _RetryAfter(Exception):
    def __init__(self, seconds: float, error: VendorError) -> None:
        self.seconds, self.error = seconds, error


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER_S)))
    except ValueError:
        return DEFAULT_RETRY_AFTER_S


def _backoff(error: Exception) -> bool | float:
    if isinstance(error, _RetryAfter):
        return error.seconds
    if isinstance(error, VendorError):
        return error.kind is VendorErrorKind.UNAVAILABLE
    return isinstance(error, httpx.TransportError)


def _backoff_not_processed(error: Exception) -> bool | float:
    """For a call that must not be repeated blindly (a create): only the answers saying the
    vendor did not process it (429, 423, 503 with Retry-After) are retried."""
    return error.seconds if isinstance(error, _RetryAfter) else False


def _classify(vendor: str, endpoint: str, response: httpx.Response) -> VendorError:
    status = response.status_code
    kind = (
        VendorErrorKind.RATE_LIMITED
        if status in (423, 429)
        else VendorErrorKind.NOT_FOUND
        if status == 404
        else VendorErrorKind.UNAUTHORIZED
        if status in (401, 403)
        else VendorErrorKind.UNAVAILABLE
        if status >= 500
        else VendorErrorKind.REJECTED
    )
    return VendorError(kind, vendor, endpoint, _vendor_message(response), status, response.content)


def _vendor_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "Message", "error", "detail", "title"):
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:300]


class VendorHttp:
    def __init__(
        self,
        vendor: str,
        tenant_id: str,
        client: httpx.AsyncClient,
        limiter: SharedRateLimiter | None,
        limit_for: Callable[[str], RateLimit | None],
        attempts: int = 6,
        retry_budget_s: float = 120.0,
    ) -> None:
        self.vendor, self.tenant_id, self.client = vendor, tenant_id, client
        self.limiter, self.limit_for = limiter, limit_for
        self.attempts, self.retry_budget_s = attempts, retry_budget_s

    async def request(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        bucket: str = "default",
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        content: bytes | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send with limits and retries; a non-2xx that survives them raises VendorError.
        With `idempotent=False` (e.g. a create), a timeout or other 5xx is not retried: the
        vendor may have done it, and the caller must look before trying again."""
        try:
            async for attempt in stamina.retry_context(
                on=_backoff if idempotent else _backoff_not_processed,
                attempts=self.attempts,
                timeout=self.retry_budget_s,
                wait_initial=0.2,
                wait_max=10.0,
            ):
                with attempt:
                    return await self._send_once(
                        method, url, endpoint, bucket, headers, params, json, content
                    )
        except _RetryAfter as exhausted:
            raise exhausted.error from None
        except httpx.TransportError as error:
            raise VendorError(
                VendorErrorKind.UNAVAILABLE,
                self.vendor,
                endpoint,
                f"{type(error).__name__}: {error}",
            ) from error
        raise AssertionError("unreachable: stamina either returns or raises")

    async def _send_once(
        self,
        method: str,
        url: str,
        endpoint: str,
        bucket: str,
        headers: Mapping[str, str] | None,
        params: Any,
        json: Any,
        content: bytes | None,
    ) -> httpx.Response:
        limit = self.limit_for(bucket)
        if self.limiter is not None and limit is not None:
            await self.limiter.acquire(limit)
        try:
            response = await self.client.request(
                method, url, headers=headers, params=params, json=json, content=content
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            count_call(self.tenant_id, self.vendor, endpoint, type(error).__name__)
            raise VendorError(
                VendorErrorKind.REJECTED, self.vendor, endpoint, f"invalid URL: {error}"
            ) from error
        except httpx.TransportError as error:
            count_call(self.tenant_id, self.vendor, endpoint, type(error).__name__)
            raise
        count_call(self.tenant_id, self.vendor, endpoint, str(response.status_code))
        if response.is_success:
            return response
        failure = _classify(self.vendor, endpoint, response)
        if response.status_code in RETRY_AFTER_STATUSES:
            raise _RetryAfter(_retry_after(response), failure)
        raise failure


def json_body(response: httpx.Response, vendor: str, endpoint: str) -> Any:
    """The response's JSON, or a classified INVALID_RESPONSE error keeping the payload."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as error:
        raise VendorError(
            VendorErrorKind.INVALID_RESPONSE,
            vendor,
            endpoint,
            f"malformed JSON: {error}",
            response.status_code,
            response.content,
        ) from None
