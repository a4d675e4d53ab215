"""Raise (or clear) an alert in the running RMM sandbox:
`python -m services.sandbox.raise_alert --severity High [--condition cpu-high] [--clear]`.

It picks a platform endpoint of the first company revsync has linked (its description carries
"Rev.io ID:"), or with `--any-company` of a company revsync has not linked (to see what
revsync does with an alert it has no customer for; the first company when all are linked),
and calls the sandbox's vendor API exactly as an RMM integrator would. The pick is the same
every time, so `--clear` with the same options clears the alert a raise made. Without
`--summary`, the alert's summary is the one the seed gives that condition ("CPU above 95% for
15 minutes on WS-..." for cpu-high). It prints what it did, where, and the RMM ticket the
alert is; on any error it says what went wrong and exits with 1."""

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from services.sandbox.common.seed_words import ALERT_CONDITIONS

SEVERITIES = ("Critical", "High", "Medium", "Low", "Info")
ENDPOINTS_PATH = "/api/platform/v2/device/categories/platform/endpoints"
MAX_PAGES = 200  # of 500 endpoints: enough for the sandbox's largest worlds
# the line revsync writes in the description of a company it linked (the RMM connector's marker)
LINK_MARKER = re.compile(r"^\s*Rev\.io ID:\s*(\S+)\s*$", re.MULTILINE)


class AlertFailed(Exception):
    """What went wrong, in words for the person who ran the command."""


@dataclass(frozen=True)
class Target:
    """The endpoint an alert is raised on, and the company (and site) it belongs to."""

    company_id: str
    company_name: str
    revio_customer_id: str | None  # the company's link, when revsync made one
    site_id: str
    endpoint_id: str
    host: str

    def details(self) -> list[str]:
        link = (
            f"linked to Rev.io customer {self.revio_customer_id}"
            if self.revio_customer_id
            else "not linked by revsync"
        )
        return [
            f"endpoint: {self.host} ({self.endpoint_id}), site {self.site_id}",
            f"company:  {self.company_name} ({self.company_id}), {link}",
        ]


def revio_customer_id(description: str | None) -> str | None:
    """The Rev.io customer a company's description says revsync linked it to, if any."""
    found = LINK_MARKER.search(description or "")
    return found.group(1) if found else None


def alert_summary(condition: str, host: str) -> str:
    """What the RMM says of an alert of `condition` on `host`: the seed's words for the
    conditions it knows (`ALERT_CONDITIONS`), the condition's own name for any other."""
    template = dict(ALERT_CONDITIONS).get(condition, "{condition} on {host}")
    return template.format(condition=condition, host=host)


def refusal(response: httpx.Response) -> str:
    """The vendor's error message of a refused call (`{code, message}`), else its body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return response.text.strip()


def checked(response: httpx.Response, doing: str) -> Any:
    if not response.is_success:
        raise AlertFailed(f"{doing}: HTTP {response.status_code}, {refusal(response)}")
    return response.json()


def sign_in(client: httpx.Client, client_id: str, client_secret: str) -> None:
    answer = client.post(
        "/v1/token",
        json={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )
    token = checked(answer, f"the RMM sandbox refused client id {client_id!r}")["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"


def platform_groups(client: httpx.Client) -> Iterator[dict[str, Any]]:
    """Each (company, site) group of platform endpoints, a page (`Link` next) at a time."""
    url: str | None = ENDPOINTS_PATH
    params: dict[str, Any] | None = {"limit": 500}
    for _ in range(MAX_PAGES):
        if url is None:
            return
        answer = client.post(url, params=params, json={"resourceType": "company", "resources": []})
        for group in checked(answer, "listing platform endpoints")["platform"]:
            if group.get("endpoints"):
                yield group
        url, params = answer.links.get("next", {}).get("url"), None  # it carries the cursor


def pick_target(client: httpx.Client, any_company: bool) -> Target:
    """The first platform endpoint of the first linked company (`any_company`: of the first
    company revsync has not linked), falling back to the first company there is. Pages are
    read only until one fits: each counts against the account's quota."""
    companies = checked(client.get("/api/platform/v1/company/companies"), "listing companies")
    by_id = {c["id"]: c for c in companies}
    links = {c["id"]: revio_customer_id(c.get("description")) for c in companies}
    first: dict[str, Any] | None = None
    chosen: dict[str, Any] | None = None
    for found in platform_groups(client):
        first = first or found
        if bool(links.get(found["companyID"])) != any_company:
            chosen = found
            break
    group = chosen or first  # none fits: the first company there is
    if group is None:
        raise AlertFailed("the RMM sandbox has no platform endpoint to raise an alert on")
    endpoint = group["endpoints"][0]
    company = by_id.get(group["companyID"], {})
    return Target(
        company_id=group["companyID"],
        company_name=company.get("name") or group["companyID"],
        revio_customer_id=links.get(group["companyID"]),
        site_id=group["siteID"],
        endpoint_id=endpoint["endpointID"],
        host=endpoint.get("friendlyName") or endpoint["endpointID"],
    )


def alert_item(target: Target, condition: str, severity: str, summary: str) -> dict[str, Any]:
    return {
        "company_id": target.company_id,
        "site_id": target.site_id,
        "endpoint_id": target.endpoint_id,
        "condition_id": condition,
        "alertDetails": {
            "severity": severity,
            "summary": summary,
            "description": f"{summary} (raised by raise_alert)",
        },
    }


def report(answer: dict[str, Any], target: Target, args: argparse.Namespace) -> str:
    """What the sandbox did with the alert (its answer to /v2/alerts): a line saying what
    happened where, then the ids of the endpoint, company and RMM ticket."""
    if args.clear and answer.get("state") != "cleared":
        raise AlertFailed(
            f"no open alert {args.condition} on {target.host} of {target.company_name}:"
            " nothing cleared (clear with the --condition and --any-company of the raise)"
        )
    ticket = f"RMM ticket #{answer.get('ticketNumber')}"
    if args.clear:
        headline = f"cleared alert {args.condition}"
        outcome = "closed"
    else:
        headline = f"raised {args.severity} alert {args.condition}"
        action = answer.get("ticketAction")
        outcome = "created" if action == "created" else f"{action} (the alert was open already)"
    lines = [
        f"{headline} on {target.host} of {target.company_name}: {ticket} {outcome}",
        *target.details(),
        f"ticket:   #{answer.get('ticketNumber')}, id {answer.get('ticketId')}",
    ]
    return "\n  ".join(lines)


def send(client: httpx.Client, args: argparse.Namespace) -> str:
    """Sign in, pick the endpoint, raise or clear the alert; what happened, in words."""
    sign_in(client, args.client_id, args.client_secret)
    target = pick_target(client, args.any_company)
    summary = args.summary or alert_summary(args.condition, target.host)
    item = alert_item(target, args.condition, args.severity, summary)
    verb = "clearing" if args.clear else "raising"
    answer = client.request("DELETE" if args.clear else "POST", "/v2/alerts", json=[item])
    where = f"{target.host} of {target.company_name}"
    answered = checked(answer, f"{verb} alert {args.condition} on {where}")
    line = report(answered[0], target, args)
    return line if args.clear else f"{line}\n  summary:  {summary}"


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.sandbox.raise_alert",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", default="http://127.0.0.1:8082", help="the RMM sandbox")
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument("--severity", default="High", choices=SEVERITIES)
    known = ", ".join(condition for condition, _ in ALERT_CONDITIONS)
    parser.add_argument("--condition", default="disk-space-low", help=f"any; known: {known}")
    parser.add_argument("--summary", help="default: the condition's usual summary")
    parser.add_argument("--clear", action="store_true", help="clear the alert instead")
    parser.add_argument(
        "--any-company",
        action="store_true",
        help="pick a company revsync has not linked (the first company when all are)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    try:
        with httpx.Client(base_url=args.url, timeout=10) as client:
            print(send(client, args))
    except AlertFailed as error:
        print(f"raise_alert: {error}", file=sys.stderr)
        sys.exit(1)
    except httpx.HTTPError as error:
        print(f"raise_alert: cannot reach the RMM sandbox at {args.url}: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
