"""The one place that spells NATS subjects (ARCHITECTURE section 2).

Every subject carries the tenant as its second token:
`change.<tenant>.<system>.<entity>.<kind>`, `cmd.<tenant>.<system>.<entity>.<verb>`,
`result.<tenant>.<system>.<entity>.<verb>`, `dlq.<tenant>.<original subject>`.
"""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator

System = Literal["rmm", "revio"]
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def validate_tenant_id(value: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError(f"tenant id {value!r} must be 1-63 lowercase letters, digits, '-' or '_'")
    return value


TenantId = Annotated[str, AfterValidator(validate_tenant_id)]


def _token(value: str, what: str, wildcard: bool = False) -> str:
    if not (wildcard and value == "*") and not _TOKEN.match(value):
        raise ValueError(f"{what} {value!r} is not a valid subject token")
    return value


class Subjects:
    """Builders for every subject and stream filter revsync uses."""

    STREAMS: dict[str, str] = {
        "CHANGES": "change.>",
        "COMMANDS": "cmd.>",
        "RESULTS": "result.>",
        "DLQ": "dlq.>",
    }

    @staticmethod
    def change(tenant: str, system: str, entity: str, kind: str) -> str:
        return ".".join(
            [
                "change",
                _token(tenant, "tenant"),
                _token(system, "system"),
                _token(entity, "entity"),
                _token(kind, "kind"),
            ]
        )

    @staticmethod
    def command(tenant: str, system: str, entity: str, verb: str) -> str:
        return ".".join(
            [
                "cmd",
                _token(tenant, "tenant"),
                _token(system, "system"),
                _token(entity, "entity"),
                _token(verb, "verb"),
            ]
        )

    @staticmethod
    def result(tenant: str, system: str, entity: str, verb: str) -> str:
        return ".".join(
            [
                "result",
                _token(tenant, "tenant"),
                _token(system, "system"),
                _token(entity, "entity"),
                _token(verb, "verb"),
            ]
        )

    @staticmethod
    def filter(
        kind: Literal["change", "cmd", "result", "dlq"],
        tenant: str = "*",
        system: str = "*",
        entity: str = "*",
        last: str = "*",
    ) -> str:
        """A subscription filter, e.g. `filter("cmd", system="revio", entity="ticket")` ->
        `cmd.*.revio.ticket.*` (every tenant's Rev.io ticket commands)."""
        tokens = [tenant, system, entity, last]
        names = ["tenant", "system", "entity", "kind or verb"]
        if kind == "dlq":
            return f"dlq.{_token(tenant, 'tenant', wildcard=True)}.>"
        checked = (_token(t, n, wildcard=True) for t, n in zip(tokens, names, strict=True))
        return ".".join([kind, *checked])

    @staticmethod
    def of_tenant(stream: str, tenant: str) -> str:
        """Every subject of one tenant in one stream: `of_tenant("DLQ", "acme")` ->
        `dlq.acme.>`. Tokens match whole, so it never matches another tenant's (`dlq.acme2.x`),
        and the tenant must be an id, never a wildcard (it is the filter of a purge)."""
        if stream not in Subjects.STREAMS:
            raise ValueError(f"{stream!r} is no revsync stream")
        kind = Subjects.STREAMS[stream].removesuffix(".>")
        return ".".join([kind, _token(tenant, "tenant"), ">"])

    @staticmethod
    def dead_letter(original_subject: str) -> str:
        kind, tenant, *rest = original_subject.split(".")
        return ".".join(["dlq", tenant, kind, *rest])

    @staticmethod
    def original_of_dead_letter(dlq_subject: str) -> str:
        _, tenant, kind, *rest = dlq_subject.split(".")
        return ".".join([kind, tenant, *rest])

    @staticmethod
    def tenant_of(subject: str) -> str:
        return subject.split(".")[1]

    @staticmethod
    def stream_of(subject: str) -> str:
        prefix = subject.split(".", 1)[0] + ".>"
        for stream, pattern in Subjects.STREAMS.items():
            if pattern == prefix:
                return stream
        raise ValueError(f"subject {subject!r} belongs to no revsync stream")
