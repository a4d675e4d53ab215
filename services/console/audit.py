"""The audit trail: a tenant's decisions, newest first, each with its reason, plain words and
trace (a link into Jaeger when `JAEGER_UI_URL` is set). What services merely observed
(`...Observed` events) is left out unless asked for by type or with `observations`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.console.audit_words import describe


@dataclass(frozen=True)
class AuditQuery:
    entity: str | None = None  # a stream (`alert:42`) or a category (`alert`)
    types: tuple[str, ...] = ()
    since: datetime | None = None
    before: int | None = None  # global position: the next page of older entries
    text: str | None = None  # words in the stream or data
    limit: int = 50
    observations: bool = False  # also what services observed (`...Observed`), not only decisions


def trace_url(jaeger_ui_url: str | None, trace_id: str | None) -> str | None:
    if not jaeger_ui_url or not trace_id:
        return None
    return f"{jaeger_ui_url.rstrip('/')}/trace/{trace_id}"


async def audit_entries(
    pool: asyncpg.Pool, tenant_id: str, query: AuditQuery, jaeger_ui_url: str | None = None
) -> list[dict[str, Any]]:
    clauses, args = ["tenant_id = $1"], [tenant_id]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.entity:
        if ":" in query.entity:
            clauses.append(f"stream = {arg(query.entity)}")
        else:
            clauses.append(f"category = {arg(query.entity)}")
    if query.types:
        clauses.append(f"type = ANY({arg(list(query.types))}::text[])")
    elif not query.observations:
        clauses.append("type NOT LIKE '%Observed'")
    if query.since:
        clauses.append(f"recorded_at >= {arg(query.since)}")
    if query.before:
        clauses.append(f"global_position < {arg(query.before)}")
    if query.text:
        clauses.append(f"(stream || ' ' || data::text) ILIKE {arg('%' + query.text + '%')}")
    rows = await pool.fetch(
        "SELECT global_position, stream, category, type, data, metadata, id, recorded_at"
        f" FROM events WHERE {' AND '.join(clauses)}"
        f" ORDER BY global_position DESC LIMIT {arg(max(1, min(query.limit, 500)))}",
        *args,
    )
    return [_entry(row, jaeger_ui_url) for row in rows]


def _entry(row: asyncpg.Record, jaeger_ui_url: str | None) -> dict[str, Any]:
    data, meta = row["data"], row["metadata"] or {}
    trace_id = meta.get("trace_id")
    return {
        "id": str(row["id"]),
        "position": row["global_position"],
        "recorded_at": row["recorded_at"].isoformat(),
        "entity": row["stream"],
        "category": row["category"],
        "type": row["type"],
        "reason": data.get("reason") or data.get("rule"),
        "words": describe(row["type"], data),
        "actor": meta.get("actor"),
        "service": meta.get("service"),
        "trace_id": trace_id,
        "trace_url": trace_url(jaeger_ui_url, trace_id),
        "correlation_id": meta.get("correlation_id"),
        "data": data,
    }


async def event_types(pool: asyncpg.Pool, tenant_id: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT DISTINCT type FROM events WHERE tenant_id = $1 ORDER BY type", tenant_id
    )
    return [row["type"] for row in rows]
