"""Listing Rev.io collections into normalized contracts: translation that counts and logs
what it cannot translate (and still names its id), and children (addresses, journals) read
in bulk or per parent, whichever costs fewer calls."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from revsync.vendor import VendorError

from services.revio_connector.client.http import RevioHttp
from services.revio_connector.client.paging import Record, all_records, pages
from services.revio_connector.metrics import count_invalid

T = TypeVar("T")
BULK_THRESHOLD = 25  # above this many objects, one listing of all children beats one call each


@dataclass
class Listing(Generic[T]):
    objects: list[T] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)

    def extend(self, other: "Listing[T]") -> None:
        self.objects += other.objects
        self.ids |= other.ids


class ListingReads:
    http: RevioHttp
    tenant_id: str

    def _translated(
        self, records: Sequence[Record], one: Callable[[Record], T], key: str
    ) -> Listing[T]:
        listing: Listing[T] = Listing()
        for record in records:
            if isinstance(record, dict) and str(record.get(key, "")).isdigit():
                listing.ids.add(str(record[key]))
            try:
                listing.objects.append(one(record))
            except VendorError as error:
                count_invalid(self.tenant_id, error.endpoint, error)
        return listing

    async def _children(
        self, path: str, parent_key: str, parents: Sequence[Record], bulk: bool = False
    ) -> dict[str, list[Record]]:
        """Child records (addresses, journals) of `parents` (all of them when `bulk`),
        grouped by parent id."""
        wanted = {str(p.get(parent_key)) for p in parents if isinstance(p, dict)}
        if bulk or len(wanted) > BULK_THRESHOLD:
            children = await all_records(self.http, path, path)
        else:
            children = []
            for parent_id in sorted(wanted):
                params = {f"search.{parent_key}": parent_id}
                children += await all_records(self.http, path, path, params)
        grouped: dict[str, list[Record]] = defaultdict(list)
        for child in children:
            if isinstance(child, dict) and (bulk or str(child.get(parent_key)) in wanted):
                grouped[str(child[parent_key])].append(child)
        return grouped

    async def _listing(
        self,
        path: str,
        params: dict[str, str],
        key: str,
        one: Callable[[Record, dict[str, list[Record]]], T],
        children: tuple[str, str] | None = None,
        prepare: Callable[[list[Record]], Awaitable[None]] | None = None,
    ) -> Listing[T]:
        """A collection and, with `children` (path, parent key), each record's children.
        A full listing reads all children first and translates page by page while the next
        pages are on their way; a filtered one reads the few children it needs after."""
        listing: Listing[T] = Listing()
        if not params:
            grouped = await self._children(*children, [], bulk=True) if children else {}
            async for page in pages(self.http, path, path):
                if prepare is not None:
                    await prepare(page)
                listing.extend(self._translated(page, lambda r: one(r, grouped), key))
            return listing
        records = await all_records(self.http, path, path, params)
        grouped = await self._children(*children, records) if children else {}
        if prepare is not None:
            await prepare(records)
        return self._translated(records, lambda r: one(r, grouped), key)
