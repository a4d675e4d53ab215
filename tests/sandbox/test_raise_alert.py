"""`python -m services.sandbox.raise_alert`: it says what it raised or cleared, on which
endpoint of which company, and the RMM ticket the alert is; `--any-company` picks a company
revsync has not linked; errors are said in words and exit 1. Without `--summary`, an alert
says what its condition is, so the Rev.io ticket's title matches its "Alert condition:" line."""

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from revsync.devservers import free_port

from services.sandbox.common.seed_words import ALERT_CONDITIONS
from services.sandbox.cwrmm.store import RmmStore
from services.sandbox.raise_alert import (
    AlertFailed,
    alert_summary,
    main,
    parse_arguments,
    platform_groups,
    send,
    sign_in,
)

LINKED_CUSTOMER = "1001"


def test_a_known_condition_gets_the_seeds_summary_for_that_host() -> None:
    assert alert_summary("cpu-high", "WS-0042") == "CPU above 95% for 15 minutes on WS-0042"
    assert alert_summary("agent-offline", "SRV-0001") == "Agent offline: SRV-0001"


def test_any_other_condition_is_named_in_its_summary() -> None:
    assert alert_summary("fan-failure", "WS-0042") == "fan-failure on WS-0042"


def test_every_seed_condition_has_a_summary_naming_the_host() -> None:
    for condition, _ in ALERT_CONDITIONS:
        assert "WS-7" in alert_summary(condition, "WS-7")


def _store(app: FastAPI) -> RmmStore:
    store: RmmStore = app.state.cwrmm.accounts.accounts["sandbox-client"].store
    return store


@pytest.fixture
def served(rmm_app: FastAPI) -> Iterator[str]:
    """`rmm_app` served over HTTP (in a thread), as `make run` serves the sandbox."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(rmm_app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the sandbox did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def client(served: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served, timeout=10) as http:
        yield http


@pytest.fixture
def linked(rmm_app: FastAPI, client: httpx.Client) -> dict[str, Any]:
    """The first platform endpoint of the second company listed, whose company revsync
    linked (the marker the RMM connector writes in its description): not the first listed,
    so picking the first company would not find it."""
    sign_in(client, "sandbox-client", "sandbox-secret")
    groups = list(platform_groups(client))
    companies = list(dict.fromkeys(g["companyID"] for g in groups))
    assert len(companies) >= 3
    second = next(g for g in groups if g["companyID"] == companies[1])
    company = _store(rmm_app).companies[companies[1]]
    company["description"] = f"Managed since 2020\nRev.io ID: {LINKED_CUSTOMER}"
    del client.headers["Authorization"]
    return {"company": company, "endpoint": second["endpoints"][0], "listed": companies}


def test_an_alert_goes_to_a_linked_company_and_the_output_says_where_and_which_ticket(
    rmm_app: FastAPI, client: httpx.Client, linked: dict[str, Any]
) -> None:
    shown = send(client, parse_arguments(["--severity", "Critical", "--condition", "cpu-high"]))

    host, company = linked["endpoint"]["friendlyName"], linked["company"]
    ticket = next(t for t in _store(rmm_app).tickets.values() if t["source"]["name"] == "Alert"
                  and t["assets"] == [{"id": linked["endpoint"]["endpointID"]}])  # fmt: skip
    headline, *details = shown.splitlines()
    assert headline == (
        f"raised Critical alert cpu-high on {host} of {company['name']}:"
        f" RMM ticket #{ticket['number']} created"
    )
    text = "\n".join(details)
    assert linked["endpoint"]["endpointID"] in text and company["id"] in text
    assert f"linked to Rev.io customer {LINKED_CUSTOMER}" in text
    assert ticket["id"] in text and ticket["priority"]["name"] == "Critical"
    assert f"summary:  CPU above 95% for 15 minutes on {host}" in text


def test_any_company_picks_a_company_revsync_has_not_linked(
    rmm_app: FastAPI, client: httpx.Client, linked: dict[str, Any]
) -> None:
    first, second, third = linked["listed"][:3]
    _store(rmm_app).companies[first]["description"] = "Rev.io ID: 1002"  # the first listed too

    default = send(client, parse_arguments(["--condition", "cpu-high"]))
    anywhere = send(client, parse_arguments(["--condition", "cpu-high", "--any-company"]))

    assert f"({first}), linked to Rev.io customer 1002" in default
    assert f"({third}), not linked by revsync" in anywhere
    assert first not in anywhere and second not in anywhere


def test_a_repeat_updates_the_open_ticket_and_a_clear_closes_it_once(
    client: httpx.Client, linked: dict[str, Any]
) -> None:
    raised = send(client, parse_arguments(["--condition", "disk-space-low"]))
    again = send(client, parse_arguments(["--condition", "disk-space-low", "--severity", "Low"]))
    cleared = send(client, parse_arguments(["--condition", "disk-space-low", "--clear"]))
    with pytest.raises(AlertFailed, match=r"no open alert disk-space-low .* nothing cleared"):
        send(client, parse_arguments(["--condition", "disk-space-low", "--clear"]))

    number = raised.splitlines()[0].rsplit("#", 1)[1].split()[0]
    assert again.splitlines()[0].endswith(f"#{number} updated (the alert was open already)")
    host = linked["endpoint"]["friendlyName"]
    assert cleared.splitlines()[0] == (
        f"cleared alert disk-space-low on {host} of {linked['company']['name']}:"
        f" RMM ticket #{number} closed"
    )


def test_a_refused_sign_in_is_said_in_words(client: httpx.Client) -> None:
    with pytest.raises(AlertFailed, match="refused client id 'sandbox-client': HTTP 401"):
        send(client, parse_arguments(["--client-secret", "wrong"]))


def test_a_sandbox_that_does_not_answer_exits_1_with_a_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(SystemExit) as stopped:
        main(["--url", nowhere])

    assert stopped.value.code == 1
    said = capsys.readouterr()
    assert said.out == "" and f"cannot reach the RMM sandbox at {nowhere}" in said.err
    assert "Traceback" not in said.err


def test_a_refused_alert_exits_1_naming_the_vendors_reason(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--url", served, "--summary", "x" * 300])

    assert stopped.value.code == 1
    said = capsys.readouterr()
    assert said.out == "" and "raising alert disk-space-low on " in said.err
    assert "HTTP 400" in said.err
    assert "summary is required: text of 1 to 255 characters" in said.err


def test_an_account_without_endpoints_exits_1_saying_so(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = {"client_id": "empty-client", "client_secret": "empty-secret"}  # no seed: no data
    assert httpx.post(f"{served}/_sandbox/accounts", json=empty, timeout=10).status_code == 201

    with pytest.raises(SystemExit) as stopped:
        main(["--url", served, "--client-id", "empty-client", "--client-secret", "empty-secret"])

    assert stopped.value.code == 1
    said = capsys.readouterr()
    assert said.out == ""
    assert "no platform endpoint to raise an alert on" in said.err
