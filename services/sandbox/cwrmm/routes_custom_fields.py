"""Custom field definitions (GET/POST, GET one) and endpoint values (GET/PUT)."""

from fastapi import APIRouter

from services.sandbox.cwrmm.custom_fields import ENTITY_ALIASES, check_value, new_definition
from services.sandbox.cwrmm.documents import iso
from services.sandbox.cwrmm.errors import bad_request, not_found
from services.sandbox.cwrmm.rate_limits import ASSET
from services.sandbox.cwrmm.sandbox import JsonBody, authorized
from services.sandbox.cwrmm.store import Document, RmmStore
from services.sandbox.cwrmm.ticket_model import api_user

DEFINITIONS = "/api/platform/v1/custom-field/definitions"
VALUES = "/api/platform/v2/device/endpoints/{endpointID}/custom-fields"
READ = authorized("platform.custom-fields.read", ASSET)
WRITE = authorized("platform.custom-fields.write", ASSET)
MAX_ATTRIBUTES = 25

router = APIRouter()


@router.get(DEFINITIONS)
def list_definitions(
    entityType: str | None = None,
    originType: str | None = None,
    store: RmmStore = READ,
) -> list[Document]:
    if originType == "vendor":
        return []
    wanted = ENTITY_ALIASES.get(entityType or "", entityType)
    return [d for d in store.field_definitions.values() if wanted in (None, d["entityType"])]


@router.post(DEFINITIONS, status_code=201)
def create_definition(body: JsonBody = None, store: RmmStore = WRITE) -> Document:
    return new_definition(store, body, api_user(store)["id"])


@router.get(DEFINITIONS + "/{definitionID}")
def get_definition(definitionID: str, store: RmmStore = READ) -> Document:
    if definitionID not in store.field_definitions:
        raise not_found("definition", definitionID)
    return store.field_definitions[definitionID]


@router.get(VALUES)
def endpoint_values(
    endpointID: str,
    attributeIDs: str | None = None,
    withDefaults: bool = False,
    store: RmmStore = READ,
) -> list[Document]:
    store.endpoint(endpointID)
    wanted = [a for a in (attributeIDs or "").split(",") if a]
    if len(wanted) > MAX_ATTRIBUTES:
        raise bad_request(f"at most {MAX_ATTRIBUTES} attribute ids per request")
    values = dict(store.field_values.get(endpointID, {}))
    if withDefaults:
        for definition in store.field_definitions.values():
            if definition["entityType"] == "endpoint" and definition["defaultValue"] is not None:
                values.setdefault(definition["id"], _value(definition, None, None))
    return [v for a, v in values.items() if not wanted or a in wanted]


@router.put(VALUES)
def set_endpoint_values(
    endpointID: str,
    body: JsonBody = None,
    store: RmmStore = WRITE,
) -> list[Document]:
    store.endpoint(endpointID)
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise bad_request("body must be a list of {attributeId, value}")
    checked = []
    for item in body:
        definition = _definition(store, endpointID, item)
        checked.append((definition, check_value(definition, item.get("value"))))
    values = store.field_values.setdefault(endpointID, {})
    saved, user = [], api_user(store)["id"]
    for definition, text in checked:
        values[definition["id"]] = _value(definition, text, user)
        saved.append(values[definition["id"]])
    return saved


def _definition(store: RmmStore, endpoint_id: str, item: Document) -> Document:
    definition = store.field_definitions.get(str(item.get("attributeId")))
    if definition is None or definition["entityType"] != "endpoint":
        raise bad_request(f"attributeId {item.get('attributeId')} is no endpoint custom field")
    if item.get("entityId") not in (None, endpoint_id):
        raise bad_request("entityId must be the endpoint in the path")
    return definition


def _value(definition: Document, text: str | None, user: str | None) -> Document:
    value = text if user is not None else definition["defaultValue"]
    return {
        "attributeId": definition["id"],
        "attributeID": definition["id"],
        "name": definition["name"],
        "type": definition["attributeType"],
        "value": value,
        "updatedAt": iso() if user is not None else definition["updatedAt"],
        "updatedBy": user or definition["updatedBy"],
    }
