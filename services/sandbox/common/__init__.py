"""Shared kernel of the sandboxes: request log, fault injection, rate-limit switch, control API,
clock indirection."""

from services.sandbox.common import clock
from services.sandbox.common.control import AccountsBackend, SandboxControl, default_error_body
from services.sandbox.common.faults import FaultDecision, FaultRule, FaultRules, FaultSet, Storm429
from services.sandbox.common.middleware import (
    CONTROL_PREFIX,
    AccountResolver,
    ConnectionDropped,
    RequestInfo,
    SandboxMiddleware,
)
from services.sandbox.common.rate_limit_switch import RateLimitSwitch
from services.sandbox.common.request_log import LoggedRequest, RequestLog

__all__ = [
    "CONTROL_PREFIX",
    "AccountResolver",
    "AccountsBackend",
    "ConnectionDropped",
    "FaultDecision",
    "FaultRule",
    "FaultRules",
    "FaultSet",
    "LoggedRequest",
    "RateLimitSwitch",
    "RequestInfo",
    "RequestLog",
    "SandboxControl",
    "SandboxMiddleware",
    "Storm429",
    "clock",
    "default_error_body",
]
