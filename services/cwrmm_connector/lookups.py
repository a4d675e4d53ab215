"""Ticket statuses of one account, cached: the category of a status (New, InProgress,
Closed) decides whether an alert has cleared, and closing a ticket needs a Closed status."""

import time
from typing import Any

from revsync.contracts.rmm import StatusCategory
from revsync.vendor import VendorError, VendorErrorKind

from services.cwrmm_connector.client import RmmClient
from services.cwrmm_connector.translate_tickets import status_category

PREFERRED = {"New": "New", "InProgress": "In Progress", "Closed": "Closed"}
TTL_S = 600.0


class TicketLookups:
    def __init__(self, client: RmmClient, ttl_s: float = TTL_S) -> None:
        self.client, self.ttl_s = client, ttl_s
        self._statuses: list[dict[str, Any]] = []
        self._loaded_at = float("-inf")

    async def _statuses_now(self, refresh: bool = False) -> list[dict[str, Any]]:
        if refresh or time.monotonic() - self._loaded_at > self.ttl_s:
            self._statuses = await self.client.lookup("statuses")
            self._loaded_at = time.monotonic()
        return self._statuses

    async def category_of(self, status_id: str | None) -> StatusCategory:
        """The category of `status_id` (re-reading the statuses once if it is unknown)."""
        for refresh in (False, True):
            for status in await self._statuses_now(refresh):
                if status.get("id") == status_id:
                    return status_category(status.get("category"))
            if status_id is None:
                break
        return "New"

    async def status_for(self, category: StatusCategory) -> dict[str, str]:
        """A reference to an active status of `category`, preferring its usual name."""
        candidates = [
            s
            for s in await self._statuses_now()
            if s.get("category") == category and not s.get("inactiveFlag")
        ]
        if not candidates:
            raise VendorError(
                VendorErrorKind.REJECTED, "cwrmm", "statuses", f"no active {category} status"
            )
        preferred = [s for s in candidates if s.get("name") == PREFERRED[category]]
        chosen = (preferred or candidates)[0]
        return {"id": str(chosen["id"]), "name": str(chosen.get("name", ""))}
