"""Rev.io response shapes: single objects with `links`, POST's `{ok, id}`, collection pages."""

from typing import Any

from fastapi.responses import JSONResponse
from starlette.requests import Request

Record = dict[str, Any]


def href(request: Request, path: str) -> str:
    """Absolute URL of a vendor path such as `Customers/10001`."""
    return f"{str(request.base_url).rstrip('/')}/v1/{path}"


def single(request: Request, path: str, view: Record) -> Record:
    """`{"ok": true, <fields>, "links": [{"rel": "self", "href": ...}]}`."""
    return {"ok": True, **view, "links": [{"rel": "self", "href": href(request, path)}]}


def created(request: Request, path: str, record_id: int) -> JSONResponse:
    """201 with `Location` and `{"ok": true, "id": ...}`."""
    return JSONResponse(
        {"ok": True, "id": record_id},
        status_code=201,
        headers={"Location": href(request, f"{path}/{record_id}")},
    )


def collection(records: list[Record], has_more: bool) -> Record:
    """One page; `record_count` counts the records on this page (Rev.io gives no total)."""
    return {"ok": True, "has_more": has_more, "record_count": len(records), "records": records}
