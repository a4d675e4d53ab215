"""One RMM account's data, held as vendor-shaped JSON documents (so a snapshot is the data).

Endpoints are kept as records `{"category", "companyID", "siteID", "document"}`; listing order
is insertion order, with per-category id lists cached until an endpoint is added or removed.
"""

from dataclasses import dataclass, field
from typing import Any

from services.sandbox.cwrmm.errors import not_found
from services.sandbox.cwrmm.lookups import default_lookups

Document = dict[str, Any]
CATEGORIES = ("platform", "network", "cloud")


@dataclass
class RmmStore:
    partner_id: str
    companies: dict[str, Document] = field(default_factory=dict)
    sites: dict[str, Document] = field(default_factory=dict)
    endpoints: dict[str, Document] = field(default_factory=dict)
    field_definitions: dict[str, Document] = field(default_factory=dict)
    field_values: dict[str, dict[str, Document]] = field(default_factory=dict)
    tickets: dict[str, Document] = field(default_factory=dict)
    notes: dict[str, list[Document]] = field(default_factory=dict)
    lookups: dict[str, list[Document]] = field(default_factory=default_lookups)
    open_alerts: dict[str, Document] = field(default_factory=dict)  # "endpoint|condition"
    next_ticket_number: int = 1001
    _ordered: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def company(self, company_id: str) -> Document:
        if company_id not in self.companies:
            raise not_found("company", company_id)
        return self.companies[company_id]

    def site(self, site_id: str, company_id: str | None = None) -> Document:
        site = self.sites.get(site_id)
        if site is None or (company_id is not None and site["company"]["id"] != company_id):
            raise not_found("site", site_id)
        return site

    def endpoint(self, endpoint_id: str) -> Document:
        if endpoint_id not in self.endpoints:
            raise not_found("endpoint", endpoint_id)
        return self.endpoints[endpoint_id]

    def ticket(self, ticket_id: str) -> Document:
        if ticket_id not in self.tickets:
            raise not_found("ticket", ticket_id)
        return self.tickets[ticket_id]

    def lookup(self, kind: str, ident: str | None = None, name: str | None = None) -> Document:
        for entry in self.lookups[kind]:
            if (ident and entry["id"] == ident) or (not ident and name and entry["name"] == name):
                return entry
        raise KeyError(f"{kind} {ident or name}")

    def add_endpoints(self, records: list[Document]) -> None:
        for record in records:
            self.endpoints[record["document"]["endpointID"]] = record
        self._ordered.clear()

    def remove_endpoint(self, endpoint_id: str) -> None:
        self.endpoint(endpoint_id)
        del self.endpoints[endpoint_id]
        self.field_values.pop(endpoint_id, None)
        self._ordered.clear()

    def endpoint_ids(self, category: str) -> list[str]:
        """Ids of one category (or "all": platform, then network, then cloud) in listing order."""
        if category not in self._ordered:
            if category == "all":
                self._ordered[category] = [i for c in CATEGORIES for i in self.endpoint_ids(c)]
            else:
                self._ordered[category] = [
                    i for i, record in self.endpoints.items() if record["category"] == category
                ]
        return self._ordered[category]

    def take_ticket_number(self) -> str:
        number, self.next_ticket_number = self.next_ticket_number, self.next_ticket_number + 1
        return str(number)

    def to_state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name[0] != "_"}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "RmmStore":
        return cls(**state)
