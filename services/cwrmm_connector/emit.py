"""Turning snapshots into change events: `changed` (only when the content hash moved),
`seen` (a sync run's listing, with totals), `deleted` (gone from a complete listing), and
`raised|updated|cleared` for alerts.

Hash keys: `company`, `endpoint.<category>`, `ticket`, `ticket-head`, `alert`. A `deleted`
change carries a tombstone: only the object's id (and an endpoint's category) is meaningful,
since the connector keeps hashes, not copies, of what it reported.
"""

from collections.abc import Callable
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from revsync.connector import ChangeEmitter
from revsync.connector.watch_state import change_id
from revsync.contracts.base import Change
from revsync.contracts.rmm import (
    RmmAlert,
    RmmAlertChanged,
    RmmCompany,
    RmmCompanyChanged,
    RmmEndpoint,
    RmmEndpointChanged,
    RmmTicketChanged,
)
from revsync.logs import get_logger
from revsync.messaging import publish

from services.cwrmm_connector.observe import Snapshot
from services.cwrmm_connector.tenants import SYSTEM, TenantHandle

log = get_logger(__name__)
Make = Callable[[Any, UUID], Change]
CHANGES: dict[str, tuple[type[Change], str]] = {
    "company": (RmmCompanyChanged, "company"),
    "endpoint": (RmmEndpointChanged, "endpoint"),
    "ticket": (RmmTicketChanged, "ticket"),
    "alert": (RmmAlertChanged, "alert"),
}


def maker(
    handle: TenantHandle,
    entity: str,
    kind: str | Callable[[Any], str],
    run_id: UUID | None = None,
    total: int | None = None,
) -> Make:
    change_type, field = CHANGES[entity.split(".")[0]]

    def make(model: Any, message_id: UUID) -> Change:
        return change_type(  # type: ignore[no-any-return]
            tenant_id=handle.id,
            message_id=message_id,
            kind=kind if isinstance(kind, str) else kind(model),
            sync_run_id=run_id,
            total=total,
            **{field: model},
        )

    return make


async def changed(handle: TenantHandle, key: str, snapshot: Snapshot[Any]) -> int:
    emitter = ChangeEmitter(handle.js, handle.hashes(key))
    return await emitter.emit_changed(snapshot.objects, maker(handle, key, "changed"))


async def seen(handle: TenantHandle, key: str, snapshot: Snapshot[Any], run_id: UUID) -> int:
    total = len(snapshot.objects)
    make = maker(handle, key, "seen", run_id, total)
    await ChangeEmitter(handle.js, handle.hashes(key)).emit_seen(run_id, snapshot.objects, make)
    return total


async def alerts_changed(handle: TenantHandle, snapshot: Snapshot[RmmAlert]) -> int:
    """raised (first seen open), updated (known, still open) or cleared (Closed category)."""
    hashes = handle.hashes("alert")
    known = await hashes.get_many([alert_id for alert_id, _ in snapshot.objects])

    def kind(alert: RmmAlert) -> str:
        if alert.status_category == "Closed":
            return "cleared"
        return "updated" if alert.ticket_id in known else "raised"

    return await ChangeEmitter(handle.js, hashes).emit_changed(
        snapshot.objects, maker(handle, "alert", kind), known
    )


def tombstone(key: str, object_id: str) -> BaseModel:
    if key == "company":
        return RmmCompany(id=object_id, name="")
    category = key.split(".", 1)[1]
    return RmmEndpoint(id=object_id, company_id="", category=category, hostname="")  # type: ignore[arg-type]


async def deleted(handle: TenantHandle, key: str, snapshot: Snapshot[Any]) -> int:
    """`deleted` for every object reported before and missing from this complete listing."""
    if not snapshot.complete:
        return 0
    listed = {object_id for object_id, _ in snapshot.objects} | snapshot.skipped
    hashes = handle.hashes(key)
    gone = sorted(await hashes.all_ids() - listed)
    if gone and not listed:
        log.warning(
            "RMM listing came back empty; no deletion inferred", tenant_id=handle.id, key=key
        )
        return 0
    last = await hashes.get_many(gone)
    make = maker(handle, key, "deleted")
    for object_id in gone:
        marker = f"deleted:{last.get(object_id, '')}"
        message_id = change_id(handle.id, SYSTEM, key, object_id, marker)
        await publish(handle.js, make(tombstone(key, object_id), message_id))
    await hashes.forget(gone)
    return len(gone)
