"""Reading one tenant's RMM objects as contracts (snapshots), skipping what cannot be read.

An object that cannot be translated is logged as a classified error with its payload and
counted, never dropped silently; its id (when readable) is kept so that it is not taken for
deleted. A snapshot that skipped an object without a readable id is marked incomplete, and
no deletion is inferred from it.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from prometheus_client import Counter
from pydantic import BaseModel
from revsync.contracts.rmm import EndpointCategory, RmmCompany, RmmEndpoint, RmmSite
from revsync.logs import get_logger
from revsync.tenancy import ENDPOINT_CATEGORIES

from services.cwrmm_connector import translate
from services.cwrmm_connector.tenants import TenantHandle
from services.cwrmm_connector.translate import Untranslatable

log = get_logger(__name__)
M = TypeVar("M", bound=BaseModel)
FIELD_VALUES = "endpoint-field.revio_asset_id"  # object hashes: endpoint id -> field value
UNTRANSLATABLE = Counter(
    "revsync_rmm_untranslatable", "RMM objects skipped: not translatable", ["tenant", "what"]
)


@dataclass
class Snapshot(Generic[M]):
    objects: list[tuple[str, M]] = field(default_factory=list)
    skipped: set[str] = field(default_factory=set)
    complete: bool = True

    def skip(self, tenant_id: str, error: Untranslatable, object_id: Any) -> None:
        UNTRANSLATABLE.labels(tenant_id, error.endpoint).inc()
        log.error(
            "RMM object skipped: cannot be translated",
            tenant_id=tenant_id,
            what=error.endpoint,
            error=str(error),
            payload=error.payload,
        )
        if isinstance(object_id, str) and object_id:
            self.skipped.add(object_id)
        else:
            self.complete = False


async def companies(handle: TenantHandle) -> Snapshot[RmmCompany]:
    """Every company with its sites (two calls, whatever the number of companies)."""
    company_docs = await handle.client.companies()
    site_docs = await handle.client.sites()
    snapshot: Snapshot[RmmCompany] = Snapshot()
    sites: dict[str, list[RmmSite]] = defaultdict(list)
    broken: set[str] = set()
    for doc in site_docs:
        if doc.get("deletedDate"):
            continue  # soft-deleted: gone, as far as anyone using RMM can tell
        try:
            site = translate.site(doc)
        except Untranslatable as error:
            owner = translate.optional_text(doc, "company", "id")
            snapshot.skip(handle.id, error, owner)
            broken.add(owner or "")
            continue
        sites[site.company_id].append(site)
    for doc in company_docs:
        company_id = doc.get("id")
        if doc.get("deletedDate"):
            continue
        if company_id in broken:
            continue  # its content is unknown while one of its sites is unreadable
        try:
            company = translate.company(doc, sites.get(str(company_id), ()))
        except Untranslatable as error:
            snapshot.skip(handle.id, error, company_id)
            continue
        snapshot.objects.append((company.id, company))
    return snapshot


async def with_field_values(handle: TenantHandle, snapshot: Snapshot[RmmEndpoint]) -> None:
    """Each endpoint with the Rev.io asset id its custom field holds since revsync wrote it
    (the listing has no custom field values; see `handlers.endpoints`)."""
    ids = [endpoint_id for endpoint_id, _ in snapshot.objects]
    values = await handle.hashes(FIELD_VALUES).get_many(ids) if ids else {}
    snapshot.objects = [
        (i, e.model_copy(update={"revio_asset_id": values[i]}) if i in values else e)
        for i, e in snapshot.objects
    ]


def _categories(wanted: Iterable[str]) -> list[EndpointCategory]:
    return [c for c in ENDPOINT_CATEGORIES if c in set(wanted)]  # type: ignore[misc]


async def endpoints(
    handle: TenantHandle, wanted: Iterable[str]
) -> dict[EndpointCategory, Snapshot[RmmEndpoint]]:
    """Every endpoint of the wanted categories: one listing of all categories when all are
    wanted (fewest pages), else one per category."""
    categories = _categories(wanted)
    snapshots: dict[EndpointCategory, Snapshot[RmmEndpoint]] = {c: Snapshot() for c in categories}
    every = len(categories) == len(ENDPOINT_CATEGORIES)
    plan: list[tuple[str, list[EndpointCategory]]] = (
        [("all", categories)] if every else [(c, [c]) for c in categories]
    )
    for listing, within in plan:
        async for page in handle.client.endpoint_pages(listing):
            for category in within:
                _read_page(handle.id, page, category, snapshots[category])
    return snapshots


def _read_page(
    tenant_id: str, page: dict[str, Any], category: EndpointCategory, into: Snapshot[RmmEndpoint]
) -> None:
    for company_id, site_id, docs in translate.endpoint_groups(page, category):
        for doc in docs:
            try:
                endpoint = translate.endpoint(doc, category, company_id, site_id)
            except Untranslatable as error:
                into.skip(
                    tenant_id, error, doc.get("endpointID") if isinstance(doc, dict) else None
                )
                continue
            into.objects.append((endpoint.id, endpoint))
