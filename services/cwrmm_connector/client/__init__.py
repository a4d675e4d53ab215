"""HTTP client of ConnectWise RMM: auth, limits, paging, resources (`RmmClient`)."""

from services.cwrmm_connector.client.api import RmmClient

__all__ = ["RmmClient"]
