"""A bounded schemathesis run of the RMM sandbox against the vendor spec, for the paths the
sandbox implements: generated requests with a valid token must never get a 5xx, and answers
with a status the spec documents must match its schema. (Statuses the spec leaves out, e.g. the
400s and 404s of most operations, and schema-valid requests naming ids that do not exist, are
not failures here.)"""

import copy

import pytest
import schemathesis
from cwrmm_support import spec_document
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from services.sandbox.cwrmm.app import create_app
from services.sandbox.cwrmm.tokens import ALL_SCOPES

document = spec_document()
if document is None:
    pytest.skip("vendor spec cwrmm-asio-2.2.8.yaml not found", allow_module_level=True)

IMPLEMENTED_PATHS = [
    "/v1/token",
    "/v1/rate_limits",
    "/api/platform/v1/company/companies",
    "/api/platform/v1/company/companies/{companyId}",
    "/api/platform/v1/company/companies/{companyId}/sites",
    "/api/platform/v1/company/companies/{companyId}/sites/{siteId}",
    "/api/platform/v1/company/sites",
    "/api/platform/v1/company/sites/{siteId}",
    "/api/platform/v1/custom-field/definitions",
    "/api/platform/v1/custom-field/definitions/{definitionID}",
    "/api/platform/v2/device/categories/{category}/endpoints",
    "/api/platform/v2/device/companies/{companyID}/sites/{siteID}/endpoints/{endpointID}",
    "/api/platform/v2/device/endpoints/{endpointID}/custom-fields",
    "/api/platform/v2/service/ticketing/tickets",
    "/api/platform/v2/service/ticketing/tickets/{id}",
    "/api/platform/v1/service/ticketing/tickets/{id}/notes",
    "/api/platform/v1/service/ticketing/service-boards",
    "/api/platform/v1/service/ticketing/sources",
    "/api/platform/v1/service/ticketing/statuses",
    "/api/platform/v1/service/ticketing/priorities",
    "/api/platform/v1/service/ticketing/types",
]

app = create_app(seed=7, size="tiny", rate_limits_enabled=False)
token = app.state.cwrmm.accounts.tokens.issue("sandbox-client", ALL_SCOPES)
# the coverage phase would add dozens of boundary cases per operation; fuzzing stays bounded
config = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
full_schema = schemathesis.openapi.from_dict(copy.deepcopy(document), config=config)
schema = full_schema.include(path=IMPLEMENTED_PATHS)
schema.app = app


@schema.parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_rmm_sandbox_never_fails_and_answers_as_the_spec_says(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token.value}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
