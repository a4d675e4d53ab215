"""Rev.io sandbox against its own `/openapi.json`: a bounded schemathesis run, no server errors.

Every documented operation gets generated requests (valid and invalid ones) with valid
credentials; answers must not be 5xx and must match the document (status codes, content
types, headers, bodies); calls without credentials must be refused. Schemathesis's
"schema-valid data is accepted" and "invalid data is rejected" heuristics are not run: a
schema-valid body may still name a bill profile or customer that does not exist (400), and
filters on unknown codes (e.g. a status no record has) list nothing rather than fail.
"""

import base64

import httpx
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from services.sandbox.revio import create_app
from services.sandbox.revio.app import VENDOR_ROUTERS

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
    unsupported_method,
]
AUTH = {"Authorization": "Basic " + base64.b64encode(b"integration@SANDBOX:sandbox").decode()}


def no_webhook_receiver(request: httpx.Request) -> httpx.Response:
    """Generated receiver URLs lead nowhere: no request leaves the test."""
    return httpx.Response(404)


app = create_app(
    seed=7,
    size="tiny",
    rate_limits_enabled=False,
    webhook_transport=httpx.MockTransport(no_webhook_receiver),
)
# Fuzzing only (10 examples an operation, valid and invalid): the coverage phase's
# exhaustive boundary cases would take ten times as many requests.
BOUNDED = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=BOUNDED)


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_revio_sandbox_answers_as_its_openapi_document_says(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH, checks=CHECKS)


def test_the_document_describes_exactly_the_vendor_routes() -> None:
    documented = {
        (method.upper(), path)
        for path, operations in schema.raw_schema["paths"].items()
        for method in operations
        if method != "parameters"
    }
    served = {
        (method, route.path)
        for module in VENDOR_ROUTERS
        for route in module.router.routes
        if isinstance(route, APIRoute) and route.path.startswith("/v1/")
        for method in route.methods or ()
    }

    assert documented == served
