"""Raise (or clear) an alert in the running RMM sandbox:
`python -m services.sandbox.raise_alert --severity High [--condition cpu-high] [--clear]`.
It picks a platform endpoint of the first company revsync has linked (its description carries
"Rev.io ID:"), or of any company with `--any-company`, and calls the sandbox's vendor API
exactly as an RMM integrator would. Without `--summary`, the alert's summary is the one the
seed gives that condition ("CPU above 95% for 15 minutes on WS-..." for cpu-high)."""

import argparse
import sys

import httpx

from services.sandbox.common.seed_words import ALERT_CONDITIONS


def alert_summary(condition: str, host: str) -> str:
    """What the RMM says of an alert of `condition` on `host`: the seed's words for the
    conditions it knows (`ALERT_CONDITIONS`), the condition's own name for any other."""
    template = dict(ALERT_CONDITIONS).get(condition, "{condition} on {host}")
    return template.format(condition=condition, host=host)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8082")
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument(
        "--severity", default="High", choices=["Critical", "High", "Medium", "Low", "Info"]
    )
    known = ", ".join(condition for condition, _ in ALERT_CONDITIONS)
    parser.add_argument("--condition", default="disk-space-low", help=f"any; known: {known}")
    parser.add_argument("--summary", help="default: the condition's usual summary")
    parser.add_argument("--clear", action="store_true", help="clear the alert instead")
    parser.add_argument(
        "--any-company", action="store_true", help="do not prefer a company revsync has linked"
    )
    args = parser.parse_args()
    with httpx.Client(base_url=args.url, timeout=10) as client:
        token = (
            client.post(
                "/v1/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": args.client_id,
                    "client_secret": args.client_secret,
                },
            )
            .raise_for_status()
            .json()["access_token"]
        )
        client.headers["Authorization"] = f"Bearer {token}"
        companies = client.get("/api/platform/v1/company/companies").raise_for_status().json()
        linked = {c["id"] for c in companies if "Rev.io ID:" in (c.get("description") or "")}
        listing = client.post(
            "/api/platform/v2/device/categories/platform/endpoints",
            params={"limit": 500},
            json={"resourceType": "company", "resources": []},
        )
        groups = listing.raise_for_status().json()["platform"]
        preferred = [g for g in groups if g["companyID"] in linked]
        group = (groups if args.any_company or not preferred else preferred)[0]
        endpoint = group["endpoints"][0]
        host = endpoint.get("friendlyName") or endpoint["endpointID"]
        summary = args.summary or alert_summary(args.condition, host)
        item = {
            "company_id": group["companyID"],
            "site_id": group["siteID"],
            "endpoint_id": endpoint["endpointID"],
            "condition_id": args.condition,
            "alertDetails": {
                "severity": args.severity,
                "summary": summary,
                "description": f"{summary} (raised by raise_alert)",
            },
        }
        answer = client.request("DELETE" if args.clear else "POST", "/v2/alerts", json=[item])
        print(answer.status_code, answer.text)
        sys.exit(0 if answer.is_success else 1)


if __name__ == "__main__":
    main()
