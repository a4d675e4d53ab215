"""Endpoint custom fields: the field's definition is created once if missing (found by its
name, the marker of that create), and a value is written only when it differs from the
endpoint's current one (the write-back costs quota). Result: {"endpoint_id",
"attribute_id", "written": "true" | "false"}.

The endpoint listing carries no custom field values (and reading them costs one call per
endpoint), so the Rev.io asset id the field now holds is remembered (`observe.FIELD_VALUES`) and
reported with the endpoint by the polls (`RmmEndpoint.revio_asset_id`): without it every
observation would look like an empty field and ask for the write-back again.
"""

import asyncpg
from revsync.contracts.rmm import REVIO_ASSET_ID_FIELD, SetRmmEndpointCustomField
from revsync.vendor import VendorError

from services.cwrmm_connector.handlers.common import Doc, create_marked, object_id
from services.cwrmm_connector.observe import FIELD_VALUES
from services.cwrmm_connector.tenants import TenantHandle

ENTITY = "endpoint"
DESCRIPTION = "Written by revsync"


async def field_id(handle: TenantHandle, name: str) -> str:
    if name in handle.field_ids:
        return handle.field_ids[name]

    async def find() -> Doc | None:
        definitions = await handle.client.field_definitions(ENTITY)
        return next(
            (d for d in definitions if d.get("name") == name and d.get("entityType") == ENTITY),
            None,
        )

    async def post() -> Doc | None:
        body = {
            "name": name,
            "entityType": ENTITY,
            "attributeType": "string",
            "description": DESCRIPTION,
        }
        try:
            return await handle.client.create_field_definition(body)
        except VendorError as error:
            if error.status == 409:  # created meanwhile by another replica: look again
                return None
            raise

    definition, _ = await create_marked("custom field definition", find, post)
    handle.field_ids[name] = object_id(definition, "custom field definition")
    return handle.field_ids[name]


async def set_custom_field(
    handle: TenantHandle, command: SetRmmEndpointCustomField, conn: asyncpg.Connection
) -> dict[str, str]:
    attribute_id = await field_id(handle, command.field_name)
    values = await handle.client.endpoint_values(command.endpoint_id, [attribute_id])
    current = next(
        (
            v.get("value")
            for v in values
            if attribute_id in (v.get("attributeId"), v.get("attributeID"))
        ),
        None,
    )
    ids = {"endpoint_id": command.endpoint_id, "attribute_id": attribute_id}
    written = current != command.value
    if written:
        entry = {"attributeId": attribute_id, "value": command.value}
        await handle.client.set_endpoint_values(command.endpoint_id, [entry])
    if command.field_name == REVIO_ASSET_ID_FIELD:
        await handle.hashes(FIELD_VALUES).put(command.endpoint_id, command.value, conn)
    return ids | {"written": "true" if written else "false"}
