"""Authenticated RMM calls on top of `VendorHttp` (limits, retries, classification, counting).

- every call carries the shared bearer token; a 401 discards it and retries once with a new one;
- a read whose body is not JSON is read again (up to 3 times), then is a classified
  INVALID_RESPONSE error with the payload kept;
- a create (POST) is retried only on answers that say it was not processed (429/423/503);
- a write whose response cannot be read returns None: the write happened, so the caller
  reads the object back instead of writing twice.
"""

from typing import Any

import httpx
from revsync.logs import get_logger
from revsync.vendor import VendorError, VendorHttp
from revsync.vendor.http import json_body

from services.cwrmm_connector.client.auth import VENDOR, TokenProvider
from services.cwrmm_connector.drift import SchemaDrift

log = get_logger(__name__)
READ_ATTEMPTS = 3


class RmmTransport:
    def __init__(self, http: VendorHttp, tokens: TokenProvider) -> None:
        self.http, self.tokens = http, tokens

    @property
    def tenant_id(self) -> str:
        return self.http.tenant_id

    async def send(
        self,
        method: str,
        path: str,
        template: str,
        bucket: str,
        params: Any = None,
        body: Any = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        endpoint = f"{method} {template}"
        for attempt in (1, 2):
            token = await self.tokens.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            try:
                return await self.http.request(
                    method,
                    path,
                    endpoint,
                    bucket=bucket,
                    headers=headers,
                    params=params,
                    json=body,
                    idempotent=idempotent,
                )
            except VendorError as error:
                if error.status != 401 or attempt == 2:
                    raise
                await self.tokens.invalidate(token)
        raise AssertionError("unreachable")

    async def read(
        self,
        method: str,
        path: str,
        template: str,
        bucket: str,
        params: Any = None,
        body: Any = None,
    ) -> tuple[Any, httpx.Headers]:
        """A read (GET, or a listing POST): the parsed body and the response headers."""
        for attempt in range(1, READ_ATTEMPTS + 1):
            response = await self.send(method, path, template, bucket, params, body)
            try:
                return json_body(response, VENDOR, f"{method} {template}"), response.headers
            except VendorError as error:
                if attempt == READ_ATTEMPTS:
                    raise
                log.warning(
                    "unreadable RMM response; reading again",
                    tenant_id=self.tenant_id,
                    endpoint=f"{method} {template}",
                    payload=error.payload,
                )
        raise AssertionError("unreachable")

    async def write(
        self, method: str, path: str, template: str, bucket: str, body: Any = None
    ) -> Any | None:
        """A write; a POST (a create) is not repeated after a timeout or a 5xx that may have
        been processed: that raises, and the caller looks for the object before retrying."""
        response = await self.send(
            method, path, template, bucket, body=body, idempotent=method != "POST"
        )
        if not response.content:
            return None
        try:
            return json_body(response, VENDOR, f"{method} {template}")
        except VendorError as error:
            log.warning(
                "RMM accepted a write but its response is unreadable; reading the object back",
                tenant_id=self.tenant_id,
                endpoint=f"{method} {template}",
                payload=error.payload,
            )
            return None


def drift(template: str, what: str, payload: Any) -> SchemaDrift:
    """A response whose shape is not what the spec says, payload kept."""
    return SchemaDrift(template, f"unexpected shape: {what}", payload)
