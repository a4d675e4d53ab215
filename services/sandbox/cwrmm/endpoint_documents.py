"""Vendor-shaped endpoint documents from seed endpoints, per category."""

from typing import Any

from services.sandbox.common.world import Endpoint
from services.sandbox.cwrmm.documents import iso
from services.sandbox.cwrmm.lookups import SYSTEM_USER

OS_MAKERS = {
    "Windows": ("Microsoft Corporation", "Windows"),
    "macOS": ("Apple Inc.", "Mac"),
    "Ubuntu": ("Canonical", "Linux"),
    "Amazon": ("Amazon", "Linux"),
    "FortiOS": ("Fortinet", "Network OS"),
    "SonicOS": ("SonicWall", "Network OS"),
    "pfSense": ("Netgate", "Network OS"),
    "Cisco": ("Cisco Systems", "Network OS"),
    "Aruba": ("HPE Aruba", "Network OS"),
    "RouterOS": ("MikroTik", "Network OS"),
    "UniFi": ("Ubiquiti", "Network OS"),
    "Meraki": ("Cisco Meraki", "Network OS"),
}
RESOURCE_TYPES = {"platform": "Desktop", "network": "NetworkDevice", "cloud": "CloudResource"}


def os_type(product: str) -> str:
    return OS_MAKERS.get(product.split()[0], ("Unknown", "Unknown"))[1]


def endpoint_document(endpoint: Endpoint) -> dict[str, Any]:
    maker, family = OS_MAKERS.get(endpoint.os.split()[0], ("Unknown", "Unknown"))
    created = iso(endpoint.created_at)
    resource_type = "Server" if endpoint.endpoint_type == "Server" else None
    system: dict[str, Any] = {"systemName": endpoint.hostname, "category": endpoint.endpoint_type}
    bios: dict[str, Any] = {"manufacturer": maker}
    if endpoint.serial_number:
        system["serialNumber"] = bios["serialNumber"] = endpoint.serial_number
    document: dict[str, Any] = {
        "endpointID": endpoint.id,
        "deviceName": endpoint.hostname,
        "friendlyName": endpoint.hostname,
        "resourceType": resource_type or RESOURCE_TYPES[endpoint.category],
        "endpointType": endpoint.endpoint_type,
        "ipAddress": [endpoint.ip_address],
        "macAddress": [endpoint.mac_address],
        "createdAt": created,
        "createdBy": SYSTEM_USER,
        "modifiedAt": created,
        "modifiedBy": SYSTEM_USER,
        "os": {"product": endpoint.os, "manufacturer": maker, "type": family},
        "system": system,
    }
    if endpoint.category != "cloud":
        document["bios"] = bios
    if endpoint.category != "network":
        document["type"] = endpoint.endpoint_type
    return document
