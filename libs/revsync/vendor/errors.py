"""Vendor failures as classified values (STYLE: errors are values at the edges)."""

from enum import StrEnum

from revsync.contracts.base import ResultStatus

PAYLOAD_KEPT = 2000


class VendorErrorKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429/423 that outlasted our patience
    NOT_FOUND = "not_found"  # 404 for an id we asked about
    REJECTED = "rejected"  # 4xx: the vendor refused what we sent (its message kept)
    UNAUTHORIZED = "unauthorized"  # 401/403: credentials or permissions
    UNAVAILABLE = "unavailable"  # 5xx, timeouts, connection errors after retries
    INVALID_RESPONSE = "invalid_response"  # malformed JSON or a shape we do not understand
    CONFLICT = "conflict"  # the record no longer holds what the command expected (not written)


_RESULT_STATUS = {
    VendorErrorKind.RATE_LIMITED: ResultStatus.RATE_LIMITED,
    VendorErrorKind.NOT_FOUND: ResultStatus.NOT_FOUND,
    VendorErrorKind.REJECTED: ResultStatus.REJECTED,
    VendorErrorKind.UNAUTHORIZED: ResultStatus.REJECTED,
    VendorErrorKind.UNAVAILABLE: ResultStatus.UNAVAILABLE,
    VendorErrorKind.INVALID_RESPONSE: ResultStatus.UNAVAILABLE,
    VendorErrorKind.CONFLICT: ResultStatus.CONFLICT,
}


class VendorError(Exception):
    def __init__(
        self,
        kind: VendorErrorKind,
        vendor: str,
        endpoint: str,
        message: str,
        status: int | None = None,
        payload: str | bytes | None = None,
    ) -> None:
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        self.kind, self.vendor, self.endpoint = kind, vendor, endpoint
        self.status, self.message = status, message
        self.payload = payload[:PAYLOAD_KEPT] if payload else None
        where = f"{vendor} {endpoint}" + (f" -> {status}" if status else "")
        super().__init__(f"{kind.value}: {where}: {message}")

    @property
    def result_status(self) -> ResultStatus:
        return _RESULT_STATUS[self.kind]

    @property
    def transient(self) -> bool:
        return self.kind in (VendorErrorKind.RATE_LIMITED, VendorErrorKind.UNAVAILABLE)
