"""The PATCH the Rev.io connector sends for `UpdateRevioTicket` (pure: a fake of its HTTP
port): only the fields that differ, the resolution of an auto-close among them."""

from typing import Any

from revsync.contracts.revio import UpdateRevioTicket

from services.revio_connector.client.writes import RevioWrites

OPEN_TICKET = {
    "ticket_id": 42,
    "description": "CPU above 95%",
    "resolution": "",
    "status": "OPEN",
    "custom_status": None,
}
RESOLUTION = "Auto-closed by revsync: the RMM alert cpu-high on GRAN-LT-001 cleared at 02:05."


class FakeHttp:
    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.patches: list[tuple[str, list[dict[str, Any]]]] = []

    async def get(self, path: str, endpoint: str, params: Any = None) -> dict[str, Any]:
        assert (path, endpoint) == ("Tickets/42", "Tickets/{id}")
        return self.record

    async def patch(self, path: str, endpoint: str, operations: list[dict[str, Any]]) -> None:
        self.patches.append((path, operations))


async def update(record: dict[str, Any], **fields: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    writes = RevioWrites()
    writes.http = FakeHttp(record)  # type: ignore[assignment]
    await writes.update_ticket(UpdateRevioTicket(tenant_id="t", ticket_id="42", **fields))
    return writes.http.patches  # type: ignore[attr-defined, no-any-return]


async def test_auto_close_patches_the_custom_status_and_the_resolution():
    patches = await update(OPEN_TICKET, custom_status="auto-closed", resolution=RESOLUTION)
    assert patches == [
        ("Tickets/42", [
            {"op": "replace", "path": "/custom_status", "value": "auto-closed"},
            {"op": "replace", "path": "/resolution", "value": RESOLUTION},
        ]),
    ]  # fmt: skip


async def test_a_resolution_the_record_does_not_show_is_added():
    record = {key: value for key, value in OPEN_TICKET.items() if key != "resolution"}
    patches = await update(record, resolution=RESOLUTION)
    assert patches == [("Tickets/42", [{"op": "add", "path": "/resolution", "value": RESOLUTION}])]


async def test_an_update_writes_only_what_differs():
    closed = OPEN_TICKET | {"custom_status": "auto-closed", "resolution": "kept"}
    assert await update(closed, custom_status="auto-closed") == []  # the resolution is kept
    assert await update(OPEN_TICKET, resolution="") == []  # already held
