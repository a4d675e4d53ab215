"""Sites: per company (list, create 201, get, PUT, PATCH) and across companies."""

from fastapi import APIRouter

from services.sandbox.cwrmm.documents import iso
from services.sandbox.cwrmm.patching import patched
from services.sandbox.cwrmm.rate_limits import SITES
from services.sandbox.cwrmm.sandbox import JsonBody, authorized
from services.sandbox.cwrmm.site_requests import PLAIN_FIELDS, READ_ONLY, SUB_OBJECTS, site_fields
from services.sandbox.cwrmm.sites import add_site, company_sites, settle_primary
from services.sandbox.cwrmm.store import Document, RmmStore
from services.sandbox.cwrmm.ticket_model import api_user

COMPANY_SITES = "/api/platform/v1/company/companies/{companyId}/sites"
READ = authorized("platform.companies.read", SITES)
WRITE = authorized("platform.companies.write", SITES)
WRITABLE = frozenset(PLAIN_FIELDS) | SUB_OBJECTS.keys()

router = APIRouter()


@router.get(COMPANY_SITES)
def list_company_sites(companyId: str, store: RmmStore = READ) -> list[Document]:
    return company_sites(store, store.company(companyId)["id"])


@router.post(COMPANY_SITES, status_code=201)
def create_site(
    companyId: str,
    body: JsonBody = None,
    store: RmmStore = WRITE,
) -> Document:
    company = store.company(companyId)
    return add_site(store, company, site_fields(body, creating=True))


@router.get(COMPANY_SITES + "/{siteId}")
def get_company_site(companyId: str, siteId: str, store: RmmStore = READ) -> Document:
    return store.site(siteId, store.company(companyId)["id"])


@router.put(COMPANY_SITES + "/{siteId}")
def replace_site(
    companyId: str,
    siteId: str,
    body: JsonBody = None,
    store: RmmStore = WRITE,
) -> Document:
    site = store.site(siteId, store.company(companyId)["id"])
    return _save(store, site, site_fields(body, creating=False))


@router.patch(COMPANY_SITES + "/{siteId}")
def patch_site(
    companyId: str,
    siteId: str,
    operations: JsonBody = None,
    store: RmmStore = WRITE,
) -> Document:
    site = store.site(siteId, store.company(companyId)["id"])
    result = patched(site, operations, READ_ONLY)
    for removed in WRITABLE - result.keys():
        site.pop(removed, None)
    return _save(store, site, site_fields(result, creating=False))


@router.get("/api/platform/v1/company/sites")
def list_sites(store: RmmStore = READ) -> list[Document]:
    return list(store.sites.values())


@router.get("/api/platform/v1/company/sites/{siteId}")
def get_site(siteId: str, store: RmmStore = READ) -> Document:
    return store.site(siteId)


def _save(store: RmmStore, site: Document, fields: Document) -> Document:
    site.update(fields, updatedDate=iso(), updatedBy=api_user(store)["id"])
    settle_primary(store, store.company(site["company"]["id"]), site)
    return site
