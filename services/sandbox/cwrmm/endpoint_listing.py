"""Selecting, ordering, projecting and grouping endpoints for the category listing."""

import re
from itertools import groupby
from typing import Any

from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.store import CATEGORIES, Document, RmmStore

METADATA = (
    "endpointID", "deviceName", "friendlyName", "resourceType", "endpointType",
    "createdAt", "createdBy", "modifiedAt", "modifiedBy",
)  # fmt: skip
MAX_PROJECTED = 15
RESOURCE_LIMITS = {"company": 4, "site": 10, "endpoint": 500}
RECORD_KEYS = {"company": "companyID", "site": "siteID"}
FILTER = re.compile(r"^\s*endpointType\s+(not\s+in|in)\s*\(([^)]*)\)\s*$", re.IGNORECASE)
SORTABLE = ("createdAt", "friendlyName")


def projection(field: str | None, defaults: tuple[str, ...] = ()) -> tuple[str, ...]:
    requested = tuple(f.strip() for f in (field or "").split(",") if f.strip())
    if len(requested) > MAX_PROJECTED:
        raise bad_request(f"at most {MAX_PROJECTED} fields can be projected")
    return METADATA + (requested or defaults)


def project(document: Document, fields: tuple[str, ...]) -> Document:
    return {key: document[key] for key in fields if key in document}


def selected_ids(
    store: RmmStore, category: str, body: Any, endpoint_filter: str | None, sort_by: str | None
) -> list[str]:
    ids = store.endpoint_ids(category)
    wanted = _resource_filter(body)
    if wanted is not None:
        kind, resources = wanted
        key = RECORD_KEYS.get(kind)
        if key:
            ids = [i for i in ids if store.endpoints[i][key] in resources]
        else:
            ids = [i for i in ids if i in resources]
    if endpoint_filter:
        match = FILTER.match(endpoint_filter)
        if match is None:
            raise bad_request("filter must look like: endpointType in (Server,Desktop)")
        types = {t.strip().lower() for t in match.group(2).split(",")}
        keep = match.group(1).lower() == "in"
        ids = [
            i
            for i in ids
            if (store.endpoints[i]["document"]["endpointType"].lower() in types) == keep
        ]
    return _sorted(store, ids, sort_by) if sort_by else ids


def grouped_page(store: RmmStore, ids: list[str], fields: tuple[str, ...]) -> Document:
    """The response body: per category, runs of endpoints grouped by company and site."""
    records = [store.endpoints[i] for i in ids]
    body: Document = {}
    for category in CATEGORIES:
        of_category = [r for r in records if r["category"] == category]
        groups = groupby(of_category, key=lambda r: (r["companyID"], r["siteID"]))
        body[category] = [
            {
                "companyID": company_id,
                "siteID": site_id,
                "endpoints": [project(r["document"], fields) for r in group],
            }
            for (company_id, site_id), group in groups
        ]
    return body


def _resource_filter(body: Any) -> tuple[str, set[str]] | None:
    if not isinstance(body, dict) or "resourceType" not in body or "resources" not in body:
        raise bad_request("body must include resourceType and resources")
    kind, resources = body["resourceType"], body["resources"]
    if not isinstance(kind, str) or kind not in RESOURCE_LIMITS:
        raise bad_request("resourceType must be company, site or endpoint")
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise bad_request("resources must be a list of ids")
    if len(resources) > RESOURCE_LIMITS[kind]:
        raise bad_request(f"at most {RESOURCE_LIMITS[kind]} resources of type {kind}")
    return (kind, set(resources)) if resources else None


def _sorted(store: RmmStore, ids: list[str], sort_by: str) -> list[str]:
    ordered = list(ids)
    for clause in reversed([c.split() for c in sort_by.split(",") if c.strip()]):
        name, direction = clause[0], (clause[1].lower() if len(clause) > 1 else "asc")
        if name not in SORTABLE or direction not in ("asc", "desc"):
            raise bad_request("sortBy supports createdAt and friendlyName, asc or desc")
        ordered.sort(
            key=lambda i: store.endpoints[i]["document"].get(name, ""),
            reverse=direction == "desc",
        )
    return ordered
