"""Rev.io side of the `/_sandbox` control API: the accounts backend and Rev.io-only routes.

`POST /_sandbox/accounts` takes `AccountSpec`; extra routes under `/_sandbox/revio`:
- `PUT  /_sandbox/revio/accounts/{client_code}/permissions` `{"permissions": [...]}`
  sets the user's permissions (`<Resource>:read|write`), e.g. to provoke 403;
- `DELETE /_sandbox/revio/accounts/{client_code}/{Resource}/{id}` removes one record, as a
  person would in Rev.io's UI (e.g. the `auto-closed` ticket status); addresses go with
  their customer's PATCH instead.
"""

from typing import Any

from fastapi import APIRouter, HTTPException

from services.sandbox.revio.account_specs import (
    AccountSpec,
    Permissions,
    account_holding,
    build_account,
)
from services.sandbox.revio.accounts import RevioAccount
from services.sandbox.revio.sandbox import RevioSandbox
from services.sandbox.revio.store import RevioStore

RESOURCE_TABLES = {
    "Customers": "customers",
    "BillProfiles": "bill_profiles",
    "Notes": "notes",
    "Tickets": "tickets",
    "TicketJournals": "ticket_journals",
    "TicketTypes": "ticket_types",
    "TicketStatuses": "ticket_statuses",
    "InventoryTypes": "inventory_types",
    "InventoryItem": "inventory_items",
    "WebhookReceivers": "webhook_receivers",
    "WebhookSubscriptions": "webhook_subscriptions",
}


class RevioAccountsBackend:
    """What `SandboxControl` needs from the Rev.io sandbox (its `AccountsBackend`)."""

    def __init__(self, sandbox: RevioSandbox) -> None:
        self.sandbox = sandbox

    def list_accounts(self) -> list[dict[str, Any]]:
        return [_summary(account) for account in self.sandbox.accounts.values()]

    def create_account(self, body: dict[str, Any]) -> dict[str, Any]:
        account = build_account(AccountSpec.model_validate(body))
        self.sandbox.add_account(account)
        return _summary(account)

    def dump_state(self) -> dict[str, Any]:
        return {"accounts": [_dump(account) for account in self.sandbox.accounts.values()]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.sandbox.accounts.clear()
        for dumped in state["accounts"]:
            spec = AccountSpec.model_validate({k: v for k, v in dumped.items() if k != "store"})
            store = RevioStore.from_snapshot(dumped["store"])
            self.sandbox.add_account(account_holding(spec, store))


def _summary(account: RevioAccount) -> dict[str, Any]:
    store = account.store
    return {
        "client_code": account.client_code,
        "username": account.username,
        "customers": len(store.customers.rows),
        "tickets": len(store.tickets.rows),
    }


def _dump(account: RevioAccount) -> dict[str, Any]:
    return {
        "client_code": account.client_code,
        "username": account.username,
        "password": account.password,
        "permissions": sorted(account.permissions),
        "time_zone": account.time_zone.key,
        "store": account.store.to_snapshot(),
    }


def revio_control_router(sandbox: RevioSandbox) -> APIRouter:
    router = APIRouter(prefix="/_sandbox/revio/accounts/{client_code}", include_in_schema=False)

    def account_named(client_code: str) -> RevioAccount:
        if client_code not in sandbox.accounts:
            raise HTTPException(404, f"no Rev.io account {client_code}")
        return sandbox.accounts[client_code]

    @router.put("/permissions")
    async def set_permissions(client_code: str, body: Permissions) -> Permissions:
        account_named(client_code).permissions = body.granted()
        return body

    @router.delete("/{resource}/{record_id}", status_code=204)
    async def delete_record(client_code: str, resource: str, record_id: int) -> None:
        if resource not in RESOURCE_TABLES:
            raise HTTPException(404, f"no resource {resource}")
        table = account_named(client_code).store.tables()[RESOURCE_TABLES[resource]]
        if table.rows.pop(record_id, None) is None:
            raise HTTPException(404, f"no {resource} record {record_id}")

    return router
