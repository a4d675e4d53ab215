"""Message contracts shared by every service: base classes and subject naming."""

from revsync.contracts.base import Change, Command, Message, Result, ResultStatus, utc_now
from revsync.contracts.subjects import Subjects, TenantId, validate_tenant_id

__all__ = [
    "Change",
    "Command",
    "Message",
    "Result",
    "ResultStatus",
    "Subjects",
    "TenantId",
    "utc_now",
    "validate_tenant_id",
]
