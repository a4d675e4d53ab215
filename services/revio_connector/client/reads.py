"""Reading Rev.io: customers (with addresses), tickets (with journals), assets, lookups.

Every read returns normalized contracts. A listing also names every id it saw, including
records that could not be translated (logged and counted), so that such a record is never
mistaken for a deleted one.
"""

import time
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from revsync.contracts.revio import RevioAsset, RevioCustomer, RevioTicket

from services.revio_connector import translate
from services.revio_connector.client.http import RevioHttp
from services.revio_connector.client.listing import Listing, ListingReads
from services.revio_connector.client.paging import Record, all_records, pages
from services.revio_connector.values import vendor_date

TYPES_REREAD_S = 60.0


class RevioReads(ListingReads):
    http: RevioHttp
    zone: ZoneInfo
    tenant_id: str
    _type_names: dict[str, str] | None = None
    _types_read_at: float = 0.0
    _asset_types: dict[str, str] | None = None
    _asset_types_read_at: float = 0.0

    def _since(self, name: str, since: datetime | None) -> dict[str, str]:
        if since is None:
            return {}
        return {f"search.{name}_start": vendor_date(since, self.zone)}

    async def customers(self, since: datetime | None = None) -> Listing[RevioCustomer]:
        def one(record: Record, addresses: dict[str, list[Record]]) -> RevioCustomer:
            return translate.customer(
                record, self.zone, addresses.get(str(record["customer_id"]), [])
            )

        params = self._since("updated_date", since)
        return await self._listing(
            "Customers", params, "customer_id", one, ("Addresses", "customer_id")
        )

    async def customer(self, customer_id: str) -> RevioCustomer | None:
        record = await self.http.get_or_none(f"Customers/{int(customer_id)}", "Customers/{id}")
        if record is None:
            return None
        addresses = await self._children("Addresses", "customer_id", [record])
        return translate.customer(record, self.zone, addresses.get(customer_id, []))

    async def ticket_type_names(self, refresh: bool = False, now: bool = False) -> dict[str, str]:
        """Ticket type names by id; read again on `refresh`, at most once a minute unless
        `now` (a ticket of a type Rev.io no longer lists must not cost a call per poll)."""
        stale = refresh and (now or time.monotonic() - self._types_read_at > TYPES_REREAD_S)
        if self._type_names is None or stale:
            types = await all_records(self.http, "TicketTypes", "TicketTypes")
            self._type_names = {str(t.get("ticket_type_id")): str(t.get("name")) for t in types}
            self._types_read_at = time.monotonic()
        return self._type_names

    async def _known_types(self, records: Sequence[Record]) -> dict[str, str]:
        """Ticket type names, read again when `records` use a type not seen before."""
        names = await self.ticket_type_names()
        if any(str(r.get("ticket_type_id")) not in names for r in records if isinstance(r, dict)):
            names.update(await self.ticket_type_names(refresh=True))
        return names

    async def tickets(self, since: datetime | None = None) -> Listing[RevioTicket]:
        names = await self.ticket_type_names()

        async def prepare(records: list[Record]) -> None:
            names.update(await self._known_types(records))

        def one(record: Record, journals: dict[str, list[Record]]) -> RevioTicket:
            ticket_id = str(record["ticket_id"])
            return translate.ticket(record, self.zone, journals.get(ticket_id, []), names)

        params = self._since("modified_date", since)
        children = ("TicketJournals", "ticket_id")
        return await self._listing("Tickets", params, "ticket_id", one, children, prepare)

    async def ticket(self, ticket_id: str, journals: bool = True) -> RevioTicket | None:
        """The ticket with its journal; without `journals`, as if it had none (one call
        instead of two: for a ticket just created, see `handlers.record`)."""
        record = await self.http.get_or_none(f"Tickets/{int(ticket_id)}", "Tickets/{id}")
        if record is None:
            return None
        names = await self._known_types([record])
        children = await self._children("TicketJournals", "ticket_id", [record]) if journals else {}
        return translate.ticket(record, self.zone, children.get(ticket_id, []), names)

    async def assets(self, asset_type_id: str) -> Listing[RevioAsset]:
        listing: Listing[RevioAsset] = Listing()
        params = {"search.inventory_type_id": asset_type_id}
        async for page in pages(self.http, "InventoryItem", "InventoryItem", params):
            listing.extend(self._translated(page, translate.asset, "inventory_item_id"))
        return listing

    async def asset(self, asset_id: str) -> RevioAsset | None:
        path = f"InventoryItem/{int(asset_id)}"
        record = await self.http.get_or_none(path, "InventoryItem/{id}")
        return None if record is None else translate.asset(record)

    async def asset_type_id(self, name_or_id: str) -> str | None:
        """The id of the inventory type named `name_or_id` (case-blind), or that id. The
        types are read again after a minute, or at once for a name not among them: every
        asset upsert asks, and must not cost a call each."""
        if name_or_id.isdigit():
            return name_or_id
        wanted = name_or_id.casefold()
        stale = time.monotonic() - self._asset_types_read_at > TYPES_REREAD_S
        if self._asset_types is None or stale or wanted not in self._asset_types:
            types = await all_records(self.http, "InventoryTypes", "InventoryTypes")
            names: dict[str, str] = {}
            for found in types:  # the first of a name wins
                names.setdefault(str(found.get("name", "")).casefold(),
                                 str(found["inventory_type_id"]))  # fmt: skip
            self._asset_types, self._asset_types_read_at = names, time.monotonic()
        return self._asset_types.get(wanted)

    async def ticket_type_id(self, name: str) -> str | None:
        if name.isdigit():
            return name
        for refresh in (False, True):
            names = await self.ticket_type_names(refresh, now=refresh)
            for type_id, type_name in names.items():
                if type_name.casefold() == name.casefold():
                    return type_id
        return None
