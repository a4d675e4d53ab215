"""Site bookkeeping shared by the company and site routes: adding a site, keeping one primary
site per company and the company's `primarySite` reference in step."""

from services.sandbox.cwrmm.documents import iso, site_document, site_reference
from services.sandbox.cwrmm.ids import new_id
from services.sandbox.cwrmm.store import Document, RmmStore
from services.sandbox.cwrmm.ticket_model import api_user


def company_sites(store: RmmStore, company_id: str) -> list[Document]:
    return [site for site in store.sites.values() if site["company"]["id"] == company_id]


def add_site(store: RmmStore, company: Document, fields: Document) -> Document:
    first = not company_sites(store, company["id"])
    user = api_user(store)["id"]
    site = site_document(new_id(), company, fields["name"], iso(), createdBy=user, updatedBy=user)
    site.update(fields)
    site["primaryFlag"] = bool(site.get("primaryFlag")) or first
    store.sites[site["id"]] = site
    settle_primary(store, company, site)
    return site


def settle_primary(store: RmmStore, company: Document, changed: Document) -> None:
    """If `changed` is now primary, it is the only primary site and the company's reference."""
    if changed.get("primaryFlag"):
        for site in company_sites(store, company["id"]):
            site["primaryFlag"] = site["id"] == changed["id"]
    primary = next((s for s in company_sites(store, company["id"]) if s["primaryFlag"]), None)
    if primary is not None:
        company["primarySite"] = site_reference(primary)
