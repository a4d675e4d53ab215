"""The ConnectWise RMM vendor spec in tests: found by walking up from the repo root to a
sibling `shared/specs/`, loaded once without validating the spec itself (it has a minor defect
that strict spec validation rejects), and used to validate every RMM sandbox response a test
client receives."""

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.responses.exceptions import ResponseFinderError
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_NAME = "cwrmm-asio-2.2.8.yaml"
REPO_ROOT = Path(__file__).resolve().parents[2]
VENDOR_HOST = "https://openapi.service.itsupport247.net"  # the spec's first server


def spec_path() -> Path | None:
    for ancestor in REPO_ROOT.parents:
        candidate = ancestor / "shared" / "specs" / SPEC_NAME
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def spec_document() -> dict[str, Any] | None:
    path = spec_path()
    if path is None:
        return None
    document: dict[str, Any] = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    repair_extended_attribute_value(document)
    return document


def repair_extended_attribute_value(document: dict[str, Any]) -> None:
    """`TicketingExtendedAttribute.value` is a `oneOf` listing each of string, boolean,
    integer and date-time twice, so no value can match exactly one branch: as written the
    spec rejects every ticket that carries an extended attribute value. Read it as intended,
    any one of those types (the file itself is left untouched)."""
    value = document["components"]["schemas"]["TicketingExtendedAttribute"]["properties"]["value"]
    branches = value.pop("oneOf", [])
    value["anyOf"] = [b for i, b in enumerate(branches) if b not in branches[:i]]


@functools.cache
def vendor_openapi() -> OpenAPI | None:
    document = spec_document()
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None)) if document else None


requires_spec = pytest.mark.skipif(
    spec_path() is None, reason=f"vendor spec {SPEC_NAME} not found in ../shared/specs/"
)


@dataclass
class _SpecRequest:
    method: str
    path: str
    host_url: str = VENDOR_HOST
    body: bytes | None = None
    content_type: str = "application/json"
    parameters: RequestParameters = field(
        default_factory=lambda: RequestParameters(
            query=ImmutableMultiDict(), header=Headers(), cookie=ImmutableMultiDict()
        )
    )


@dataclass
class _SpecResponse:
    status_code: int
    data: bytes
    content_type: str
    headers: Headers


@dataclass
class SpecCheckedTransport(httpx.AsyncBaseTransport):
    """Validates each response against the vendor spec when the spec is there. Responses the
    spec does not describe (paths from newer API versions, statuses it does not list) are
    recorded in `undescribed` instead."""

    inner: httpx.AsyncBaseTransport
    validated: int = 0
    undescribed: list[str] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        openapi = vendor_openapi()
        if openapi is not None and not request.url.path.startswith("/_sandbox"):
            self._validate(openapi, request, response)
        return response

    def _validate(self, openapi: OpenAPI, request: httpx.Request, response: httpx.Response) -> None:
        checked = _SpecResponse(
            response.status_code,
            response.content,
            response.headers.get("content-type", "application/json").split(";")[0],
            Headers(list(response.headers.items())),
        )
        try:
            openapi.validate_response(
                _SpecRequest(request.method.lower(), request.url.path), checked
            )
        except (PathError, ResponseFinderError):
            self.undescribed.append(f"{request.method} {request.url.path} {response.status_code}")
            return
        self.validated += 1


def checked_client(app: Any, token: str | None = None) -> httpx.AsyncClient:
    """An in-process client of an RMM sandbox app whose responses are checked against the spec."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = SpecCheckedTransport(httpx.ASGITransport(app=app))
    return httpx.AsyncClient(transport=transport, base_url="http://rmm.test", headers=headers)


async def fetch_token(
    client: httpx.AsyncClient,
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",
    scope: str | None = None,
) -> str:
    body = {"grant_type": "client_credentials", "client_id": client_id}
    body |= {"client_secret": client_secret} | ({"scope": scope} if scope else {})
    response = await client.post("/v1/token", json=body)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
