"""In-memory records of one Rev.io account: one table per resource, plain JSON-ready dicts."""

from dataclasses import dataclass, field
from typing import Any

from services.sandbox.common.world import FIRST_REVIO_CUSTOMER_ID
from services.sandbox.revio.customfields import CustomFieldRegistry
from services.sandbox.revio.errors import RevioError

Record = dict[str, Any]


def folded(value: Any) -> str:
    """A value as an exact, case-blind search compares it (`search.<field>` of kind exact)."""
    return str(value).casefold()


@dataclass
class Table:
    """Records of one resource by id; ids are handed out in order from `first_id`.

    `matching` finds the records with a field's value through an index on it (a connector
    looks an asset up by identifier before every create: at 92,000 items a scan per lookup
    was most of the sandbox's time). `insert` and `reindexed` (after a record is changed in
    place) keep the indexes; a record removed or changed is checked at lookup, so an index
    may hold stale ids, never miss a record."""

    id_field: str
    first_id: int
    rows: dict[int, Record] = field(default_factory=dict)
    next_id: int = 0
    indexes: dict[str, dict[str, set[int]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.next_id = max(self.next_id, self.first_id)

    def insert(self, values: Record) -> Record:
        record = {self.id_field: self.next_id, **values}
        self.rows[self.next_id] = record
        self.next_id += 1
        self.reindexed(record)
        return record

    def reindexed(self, record: Record) -> None:
        """Index `record` under its current values (after it was changed in place)."""
        for name, index in self.indexes.items():
            index.setdefault(folded(record.get(name)), set()).add(record[self.id_field])

    def matching(self, name: str, raw: str) -> list[Record]:
        """The records whose `name` equals `raw`, case-blind, in id order."""
        index = self.indexes.get(name)
        if index is None:
            index = self.indexes[name] = {}
            for record in self.rows.values():
                index.setdefault(folded(record.get(name)), set()).add(record[self.id_field])
        wanted = folded(raw)
        found = (self.rows.get(record_id) for record_id in sorted(index.get(wanted, ())))
        return [record for record in found if record and folded(record.get(name)) == wanted]

    def get(self, record_id: int) -> Record | None:
        return self.rows.get(record_id)

    def require(self, record_id: int, what: str) -> Record:
        """The record, or a 404 naming it (`what` is e.g. "Customer")."""
        record = self.rows.get(record_id)
        if record is None:
            raise RevioError(404, f"{what} {record_id} was not found.")
        return record

    def to_snapshot(self) -> dict[str, Any]:
        return {"next_id": self.next_id, "rows": list(self.rows.values())}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.next_id = snapshot["next_id"]
        self.rows = {row[self.id_field]: row for row in snapshot["rows"]}
        self.indexes = {}


class RevioStore:
    """Everything one account holds. Distinct first ids per table make id mix-ups visible."""

    def __init__(self, custom_fields: CustomFieldRegistry | None = None) -> None:
        self.customers = Table("customer_id", FIRST_REVIO_CUSTOMER_ID)
        self.addresses = Table("address_id", 50001)
        self.bill_profiles = Table("bill_profile_id", 1)
        self.notes = Table("note_id", 70001)
        self.tickets = Table("ticket_id", 20001)
        self.ticket_journals = Table("ticket_journal_id", 80001)
        self.ticket_types = Table("ticket_type_id", 1)
        self.ticket_statuses = Table("ticket_status_id", 1)
        self.inventory_types = Table("inventory_type_id", 1)
        self.inventory_items = Table("inventory_item_id", 30001)
        self.webhook_receivers = Table("webhook_receiver_id", 1)
        self.webhook_subscriptions = Table("webhook_subscription_id", 1)
        self.custom_fields = custom_fields or CustomFieldRegistry()

    def tables(self) -> dict[str, Table]:
        return {name: value for name, value in vars(self).items() if isinstance(value, Table)}

    def to_snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = {
            name: table.to_snapshot() for name, table in self.tables().items()
        }
        snapshot["custom_fields"] = self.custom_fields.labels()
        return snapshot

    @classmethod
    def from_snapshot(cls, snapshot: dict[str, Any]) -> "RevioStore":
        store = cls(CustomFieldRegistry(snapshot["custom_fields"]))
        for name, table in store.tables().items():
            table.restore(snapshot[name])
        return store
