"""Schema drift: a vendor answer that is JSON but not of a shape we can use. Unlike a
garbled (non-JSON) answer it will not fix itself by asking again, so a command meeting it is
answered as failed (for a person to look at), with the offending payload kept."""

from typing import Any

from revsync.vendor import VendorError, VendorErrorKind


class SchemaDrift(VendorError):
    def __init__(self, what: str, reason: str, document: Any) -> None:
        super().__init__(
            VendorErrorKind.INVALID_RESPONSE, "cwrmm", what, reason, None, repr(document)
        )
