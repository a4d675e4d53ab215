"""Validation of the writable part of a ticket body: required text, references resolved to
id + name, placement (company, site, assets), and the fields kept as given."""

from typing import Any

from services.sandbox.cwrmm.errors import bad_request
from services.sandbox.cwrmm.store import Document, RmmStore

REFERENCE_FIELDS = ("assignee", "assigneeTeam", "category")  # kept as given: {id, name}
LIST_FIELDS = ("tags", "extendedAttributes")  # kept as given: lists of {id, name, value}


def writable_fields(store: RmmStore, body: Any) -> Document:
    """The writable part of a ticket body, validated, with references resolved to id+name."""
    if not isinstance(body, dict):
        raise bad_request("ticket body must be a JSON object")
    board = _reference(store, "serviceBoards", "serviceBoard", body.get("serviceBoard"))
    if board is None or board.get("inactiveFlag"):
        raise bad_request("serviceBoard is required and must be an active service board")
    source = _reference(store, "sources", "source", body.get("source"))
    if source is None:
        raise bad_request("source is required")
    status = _reference(store, "statuses", "status", body.get("status"))
    priority = _reference(store, "priorities", "priority", body.get("priority"))
    ticket_type = _reference(store, "types", "type", body.get("type"))
    fields: Document = {
        "summary": _text(body, "summary", 255),
        "description": _text(body, "description", 10_000),
        "serviceBoard": _brief(board),
        "source": _brief(source),
        "status": _brief(status or store.lookup("statuses", name="New")),
        "priority": _brief(priority or board["defaultPriority"]),
        **({"type": _brief(ticket_type)} if ticket_type else {}),
        **_placement(store, body),
    }
    fields.update(_kept_as_given(body))
    return fields


def _kept_as_given(body: Document) -> Document:
    """Fields the sandbox stores without resolving them, after checking their shape."""
    kept: Document = {}
    for name in (*REFERENCE_FIELDS, *LIST_FIELDS, "dueDate"):
        value = body.get(name)
        if value is None:
            continue
        items = value if name in LIST_FIELDS and isinstance(value, list) else [value]
        if name == "dueDate":
            valid = isinstance(value, str)
        else:
            valid = (name in LIST_FIELDS) == isinstance(value, list) and all(
                isinstance(item, dict) and all(_scalar(v) for v in item.values()) for item in items
            )
        if not valid:
            raise bad_request(f"{name} does not have the shape the ticket schema gives it")
        kept[name] = value
    return kept


def _scalar(value: Any) -> bool:
    return isinstance(value, str | bool | int)


def _text(body: Document, name: str, max_length: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise bad_request(f"{name} is required: text of 1 to {max_length} characters")
    return value


def _reference(store: RmmStore, kind: str, name: str, value: Any) -> Document | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not (value.get("id") or value.get("name")):
        raise bad_request(f"{name} must be an object with the id of an existing {name}")
    try:
        return store.lookup(kind, value.get("id"), value.get("name"))
    except KeyError as error:
        raise bad_request(
            f"{name} {value.get('id') or value.get('name')} does not exist"
        ) from error


def _brief(entry: Document) -> dict[str, str]:
    return {"id": entry["id"], "name": entry["name"]}


def _placement(store: RmmStore, body: Document) -> Document:
    placed: Document = {}
    company, site, assets = body.get("company"), body.get("site"), body.get("assets")
    if company is not None:
        if not isinstance(company, dict) or not _known(company.get("id"), store.companies):
            raise bad_request("company must reference an existing company id")
        placed["company"] = {"id": company["id"]}
    if site is not None:
        known = isinstance(site, dict) and _known(site.get("id"), store.sites)
        owner = store.sites[site["id"]]["company"]["id"] if known else None
        if not known or (company is not None and owner != company["id"]):
            raise bad_request("site must reference an existing site of the ticket's company")
        placed["site"] = {"id": site["id"]}
    if assets is not None:
        if not isinstance(assets, list) or not all(
            isinstance(a, dict) and _known(a.get("id"), store.endpoints) for a in assets
        ):
            raise bad_request("assets must reference existing endpoint ids")
        placed["assets"] = [{"id": asset["id"]} for asset in assets]
    return placed


def _known(ident: Any, documents: dict[str, Document]) -> bool:
    return isinstance(ident, str) and ident in documents
