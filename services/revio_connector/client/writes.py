"""Writing Rev.io: customers, assets (inventory items), tickets and journal entries.

Each create has a `find_*` that looks for the marker the create writes (see `markers`), so a
create retried after a crash or a lost answer finds its record instead of making another.
"""

from typing import Any

from revsync.contracts.revio import (
    AddRevioJournalEntry,
    CreateRevioCustomer,
    CreateRevioTicket,
    UpdateRevioCustomer,
    UpdateRevioTicket,
    UpsertRevioAsset,
)

from services.revio_connector import markers
from services.revio_connector.client import bodies
from services.revio_connector.client.bodies import numeric, replace, replacements
from services.revio_connector.client.http import RevioHttp
from services.revio_connector.client.paging import Record, all_records


def _lowest_id(records: list[Record], key: str) -> str | None:
    ids = sorted(int(r[key]) for r in records if str(r.get(key, "")).isdigit())
    return str(ids[0]) if ids else None


class RevioWrites:
    http: RevioHttp

    async def find_customer(self, rmm_company_id: str) -> str | None:
        params = {f"search.fields.{markers.RMM_COMPANY_FIELD}": rmm_company_id}
        found = await all_records(self.http, "Customers", "Customers", params)
        return _lowest_id(found, "customer_id")

    async def create_customer(self, command: CreateRevioCustomer, billing_method: str) -> str:
        service = {**bodies.address_fields(command.address), "company_name": command.name}
        body = {
            "service_address": service,
            "finance": {
                "bill_profile_id": numeric(command.bill_profile_id, "bill profile"),
                "billing_method": billing_method,
            },
            "profile": {"class": command.customer_class.upper()},
            "fields": [{"label": markers.RMM_COMPANY_FIELD, "value": command.rmm_company_id}],
        }
        return await self.http.post_once("Customers", "Customers", body)

    async def update_customer(self, command: UpdateRevioCustomer) -> None:
        path = f"Customers/{numeric(command.customer_id, 'customer')}"
        record = await self.http.get(path, "Customers/{id}")
        if command.expected:  # optimistic concurrency: refuse to overwrite a newer edit
            wanted = command.address.model_dump() if command.address else {}
            if command.name is not None:
                wanted["name"] = command.name
            held = bodies.held_values(record)
            stale = bodies.stale_fields(command.expected, held, wanted)
            if stale:
                raise bodies.conflict(command.customer_id, stale)
        operations = bodies.role_patch(record, command.name, command.address)
        if command.description is not None:
            fields = bodies.with_field(
                record.get("fields"), markers.DESCRIPTION_FIELD, command.description
            )
            if fields != record.get("fields"):
                operations.append(replace("/fields", fields))
        if operations:
            await self.http.patch(path, "Customers/{id}", operations)

    async def find_asset(self, identifier: str, asset_type_id: str) -> Record | None:
        params = {"search.identifier": identifier, "search.inventory_type_id": asset_type_id}
        found = await all_records(self.http, "InventoryItem", "InventoryItem", params)
        lowest = _lowest_id(found, "inventory_item_id")
        return next(r for r in found if str(r["inventory_item_id"]) == lowest) if lowest else None

    async def asset_record(self, asset_id: str) -> Record | None:
        path = f"InventoryItem/{numeric(asset_id, 'asset')}"
        return await self.http.get_or_none(path, "InventoryItem/{id}")

    def _asset_values(self, command: UpsertRevioAsset, type_id: str, fields: Any) -> Record:
        for label, value in sorted(command.fields.items()):
            fields = bodies.with_field(fields, label, value)
        return {
            "inventory_type_id": numeric(type_id, "inventory type"),
            "identifier": command.identifier,
            "customer_id": numeric(command.customer_id, "customer"),
            "status": command.status.upper(),
            "fields": fields or [],
        }

    async def create_asset(self, command: UpsertRevioAsset, type_id: str) -> str:
        body = self._asset_values(command, type_id, [])
        return await self.http.post_once("InventoryItem", "InventoryItem", body)

    async def update_asset(self, record: Record, command: UpsertRevioAsset, type_id: str) -> None:
        wanted = self._asset_values(command, type_id, record.get("fields"))
        operations = replacements(record, wanted)
        if operations:
            path = f"InventoryItem/{record['inventory_item_id']}"
            await self.http.patch(path, "InventoryItem/{id}", operations)

    async def find_ticket(self, source_key: str) -> str | None:
        params = {f"search.fields.{markers.SOURCE_KEY_FIELD}": source_key}
        return _lowest_id(await all_records(self.http, "Tickets", "Tickets", params), "ticket_id")

    async def create_ticket(self, command: CreateRevioTicket, ticket_type_id: str) -> str:
        fields = [{"label": markers.SOURCE_KEY_FIELD, "value": command.source_key}]
        if command.rmm_ticket_id:
            fields.append({"label": markers.RMM_TICKET_FIELD, "value": command.rmm_ticket_id})
        description = command.description
        if command.title and not description.startswith(command.title):
            description = f"{command.title}\n\n{description}".strip()
        body: Record = {
            "customer_id": numeric(command.customer_id, "customer"),
            "ticket_type_id": numeric(ticket_type_id, "ticket type"),
            "description": description or command.title,
            "fields": fields,
        }
        if bodies.priority(command.priority):
            body["priority"] = bodies.priority(command.priority)
        return await self.http.post_once("Tickets", "Tickets", body)

    async def update_ticket(self, command: UpdateRevioTicket) -> None:
        path = f"Tickets/{numeric(command.ticket_id, 'ticket')}"
        record = await self.http.get(path, "Tickets/{id}")
        wanted: Record = {}
        if command.status is not None:
            wanted["status"] = bodies.ticket_status(command.status)
        if command.custom_status is not None:
            wanted["custom_status"] = command.custom_status
        if command.description is not None:
            wanted["description"] = command.description
        if command.resolution is not None:
            wanted["resolution"] = command.resolution
        operations = [
            # `replace` needs the member to exist (RFC 6902): `add` sets one the record lacks
            op if op["path"][1:] in record else op | {"op": "add"}
            for op in replacements(record, wanted)
        ]
        if operations:
            await self.http.patch(path, "Tickets/{id}", operations)

    async def find_journal(self, ticket_id: str, source_note_id: str) -> str | None:
        params = {"search.ticket_id": str(numeric(ticket_id, "ticket"))}
        entries = await all_records(self.http, "TicketJournals", "TicketJournals", params)
        ours = [
            e
            for e in entries
            if markers.read_note(str(e.get("message") or ""))[1] == source_note_id
        ]
        return _lowest_id(ours, "ticket_journal_id")

    async def add_journal(self, command: AddRevioJournalEntry) -> str:
        body = {
            "ticket_id": numeric(command.ticket_id, "ticket"),
            "message": markers.mark_note(command.text, command.source_note_id),
        }
        return await self.http.post_once("TicketJournals", "TicketJournals", body)
