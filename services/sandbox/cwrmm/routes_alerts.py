"""Integrator alert writes (`/v2/alerts`, newer API versions): POST raises, DELETE clears,
PUT does either per item (`"state": "cleared"` clears). Every item is checked before any is
applied, so a bad batch changes nothing."""

from typing import Any

from fastapi import APIRouter

from services.sandbox.cwrmm.alert_model import (
    check_placement,
    check_raise,
    clear_alert,
    raise_alert,
)
from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.rate_limits import ALERTS
from services.sandbox.cwrmm.sandbox import JsonBody, authorized
from services.sandbox.cwrmm.store import Document, RmmStore

ALERTS_PATH = "/v2/alerts"
WRITE = authorized("platform.alerts.write", ALERTS)

router = APIRouter()


@router.post(ALERTS_PATH)
def raise_alerts(body: JsonBody = None, store: RmmStore = WRITE) -> list[Document]:
    items = _items(body)
    for item in items:
        check_raise(store, item)
    return [raise_alert(store, item) for item in items]


@router.put(ALERTS_PATH)
def update_alerts(body: JsonBody = None, store: RmmStore = WRITE) -> list[Document]:
    items = _items(body)
    for item in items:
        check_placement(store, item) if _clears(item) else check_raise(store, item)
    return [clear_alert(store, i) if _clears(i) else raise_alert(store, i) for i in items]


@router.delete(ALERTS_PATH)
def clear_alerts(body: JsonBody = None, store: RmmStore = WRITE) -> list[Document]:
    items = _items(body)
    for item in items:
        check_placement(store, item)
    return [clear_alert(store, item) for item in items]


def _items(body: Any) -> list[Document]:
    if not isinstance(body, list) or not body or not all(isinstance(i, dict) for i in body):
        raise bad_request("body must be a non-empty list of alert items")
    return body


def _clears(item: Document) -> bool:
    return str(item.get("state", "")).lower() == "cleared"
