"""Custom field calls: definitions, and the values of one endpoint."""

from services.cwrmm_connector.client import limits as buckets
from services.cwrmm_connector.client.ticketing import Doc, as_list, as_object
from services.cwrmm_connector.client.transport import RmmTransport

DEFINITIONS = "/api/platform/v1/custom-field/definitions"
ENDPOINT_VALUES = "/api/platform/v2/device/endpoints/{endpointID}/custom-fields"


class CustomFieldCalls:
    t: RmmTransport

    async def field_definitions(self, entity_type: str) -> list[Doc]:
        params = {"entityType": entity_type}
        body, _ = await self.t.read(
            "GET", DEFINITIONS, DEFINITIONS, buckets.ENDPOINT_DETAILS, params
        )
        return as_list(DEFINITIONS, body)

    async def create_field_definition(self, body: Doc) -> Doc | None:
        created = await self.t.write(
            "POST", DEFINITIONS, DEFINITIONS, buckets.ENDPOINT_DETAILS, body
        )
        return None if created is None else as_object(DEFINITIONS, created)

    async def endpoint_values(self, endpoint_id: str, attribute_ids: list[str]) -> list[Doc]:
        path, params = ENDPOINT_VALUES.format(endpointID=endpoint_id), None
        if attribute_ids:
            params = {"attributeIDs": ",".join(attribute_ids)}
        body, _ = await self.t.read("GET", path, ENDPOINT_VALUES, buckets.ENDPOINT_DETAILS, params)
        return as_list(ENDPOINT_VALUES, body)

    async def set_endpoint_values(self, endpoint_id: str, values: list[Doc]) -> None:
        path = ENDPOINT_VALUES.format(endpointID=endpoint_id)
        await self.t.write("PUT", path, ENDPOINT_VALUES, buckets.ENDPOINT_DETAILS, values)
