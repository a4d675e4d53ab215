"""Ticketing lookups: service boards, sources, statuses, priorities, types."""

from fastapi import APIRouter

from services.sandbox.cwrmm.rate_limits import SERVICE
from services.sandbox.cwrmm.sandbox import authorized
from services.sandbox.cwrmm.store import Document, RmmStore

LOOKUPS = "/api/platform/v1/service/ticketing"
READ = authorized("platform.tickets.read", SERVICE)

router = APIRouter()


@router.get(LOOKUPS + "/service-boards")
def service_boards(store: RmmStore = READ) -> list[Document]:
    return store.lookups["serviceBoards"]


@router.get(LOOKUPS + "/sources")
def sources(store: RmmStore = READ) -> list[Document]:
    return store.lookups["sources"]


@router.get(LOOKUPS + "/statuses")
def statuses(store: RmmStore = READ) -> list[Document]:
    return store.lookups["statuses"]


@router.get(LOOKUPS + "/priorities")
def priorities(store: RmmStore = READ) -> list[Document]:
    return store.lookups["priorities"]


@router.get(LOOKUPS + "/types")
def types(store: RmmStore = READ) -> list[Document]:
    return store.lookups["types"]
