"""`docs/examples/tenant-settings.yaml`, the settings file of the README's "Tenants from the
CLI": read as `revsync tenants create --file` and `revsync configure --file` read it, it names
every setting and connection field, each with a comment, holds no secret, and with the secrets
filled in it is a valid settings document, accepted by the sandbox accounts the README's curl
commands create (both sandboxes in process)."""

import copy
import json
import re
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from revsync.tenancy import RevioConnection, RmmConnection
from revsync.tenant_store import SECRET_FIELDS

from services.console.cli import read_settings_file
from services.console.live_checks import LiveChecks
from services.console.settings_doc import SETTING_NAMES, build_candidate
from services.console.validation import SettingsValidator, offline_rules
from services.sandbox.cwrmm.app import create_app as create_rmm_app
from services.sandbox.revio import create_app as create_revio_app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "tenant-settings.yaml"
README = REPO / "README.md"
RMM_PORT, REVIO_PORT = 8082, 8081  # `make run`'s sandboxes, as the README and the file say
# the README's account-creation commands: curl ... 127.0.0.1:<port>/_sandbox/accounts -d '<json>'
ACCOUNT_CURL = re.compile(
    r"curl [^\n]*http://127\.0\.0\.1:(\d+)/_sandbox/accounts[^\n]*\\\n\s*-d '([^']*)'"
)


def example() -> dict[str, Any]:
    return read_settings_file(EXAMPLE)


def readme_accounts() -> dict[int, dict[str, Any]]:
    """The body of each account-creation command of the README, by sandbox port."""
    found = {int(port): json.loads(body) for port, body in ACCOUNT_CURL.findall(README.read_text())}
    assert set(found) == {RMM_PORT, REVIO_PORT}, found
    return found


def with_secrets(document: dict[str, Any], rmm_secret: str, revio_password: str) -> dict[str, Any]:
    """The example with its placeholders filled in, as `tenants create` does from the
    environment or its prompt."""
    filled = copy.deepcopy(document)
    filled["rmm"]["client_secret"] = rmm_secret
    filled["revio"]["password"] = revio_password
    return filled


def test_the_readme_points_to_the_example():
    assert "--file docs/examples/tenant-settings.yaml" in README.read_text()


def test_the_example_names_every_setting_and_every_connection_field():
    document = example()

    assert set(document) == {"name", "rmm", "revio", *SETTING_NAMES}
    assert set(document["rmm"]) == set(RmmConnection.model_fields)
    assert set(document["revio"]) == set(RevioConnection.model_fields)


def test_every_field_of_the_example_is_explained_by_a_comment():
    fields = [
        line
        for line in EXAMPLE.read_text().splitlines()
        if re.match(r"^\s*[a-z_]+:", line)  # a key, not a comment
    ]

    assert len(fields) == len(SETTING_NAMES) + 1 + 2 + 4 + 5  # name, rmm, revio and theirs
    assert [line for line in fields if " # " not in line] == []


def test_the_examples_secrets_are_empty_placeholders():
    document = example()

    for section, key in SECRET_FIELDS.values():
        assert document[section][key] == "", f"{section}.{key} must stay a placeholder"


def test_with_its_secrets_filled_in_the_example_is_a_valid_settings_document():
    document = with_secrets(example(), "acme-secret", "acme-password")

    candidate = build_candidate("acme", None, document, replace=True)

    assert candidate.errors == []
    assert candidate.checked is not None
    assert offline_rules(candidate.checked) == []
    assert candidate.checked.settings.endpoint_categories == ["network", "platform"]
    assert candidate.new_secrets == ["rmm.client_secret", "revio.password"]


class ByPort(httpx.AsyncBaseTransport):
    """Sends each request to the in-process sandbox on its port."""

    def __init__(self, apps: dict[int, FastAPI]) -> None:
        self.routes = {port: httpx.ASGITransport(app=app) for port, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.routes[request.url.port or 80].handle_async_request(request)


async def test_the_sandbox_accounts_the_readme_creates_accept_the_example():
    transport = ByPort(
        {
            RMM_PORT: create_rmm_app(seed=1, size="tiny", rate_limits_enabled=False),
            REVIO_PORT: create_revio_app(seed=1, size="tiny", rate_limits_enabled=False),
        }
    )
    accounts = readme_accounts()
    async with httpx.AsyncClient(transport=transport) as client:
        for port, body in accounts.items():
            made = await client.post(f"http://127.0.0.1:{port}/_sandbox/accounts", json=body)
            assert made.status_code == 201, made.text
    rmm, revio = accounts[RMM_PORT], accounts[REVIO_PORT]
    document = with_secrets(example(), rmm["client_secret"], revio["password"])
    assert (document["rmm"]["client_id"], document["revio"]["client_code"]) == (
        rmm["client_id"],
        revio["client_code"],
    )
    candidate = build_candidate("acme", None, document, replace=True)
    assert candidate.checked is not None, candidate.errors

    errors = await SettingsValidator(LiveChecks(transport)).validate(candidate.checked)

    assert errors == []
