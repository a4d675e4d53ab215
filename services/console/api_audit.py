"""`/api/audit`: the decision events, newest first; `/api/dead-letters` and their retry."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError

from services.console.audit import AuditQuery, audit_entries, event_types
from services.console.dead_letters import DeadLetterNotFound, list_dead_letters, retry
from services.console.deps import Console, Ctx, CurrentUser, KnownTenant, Writer

router = APIRouter(prefix="/api", tags=["audit"])
AUDIT_FILTERS = ("entity", "type", "since", "before", "q", "limit", "observations", "tenant")


def refuse_unknown_filters(request: Request) -> None:
    """A filter the audit does not have is refused (422), not ignored: a misspelt one would
    otherwise answer with everything, as if nothing matched it."""
    unknown = sorted(set(request.query_params) - set(AUDIT_FILTERS))
    if unknown:
        known = ", ".join(AUDIT_FILTERS)
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": f"no such filter (the filters: {known})"}
                for name in unknown
            ]
        )


def _js(console: Console) -> Any:
    if console.js is None:
        raise HTTPException(503, "the console is not connected to NATS")
    return console.js


@router.get("/audit", summary="Decision events, newest first, with reason, words and trace")
async def get_audit(
    request: Request,
    _: CurrentUser,
    tenant: KnownTenant,
    console: Ctx,
    entity: Annotated[
        str | None, Query(description="a stream (alert:42) or a category (alert)")
    ] = None,
    type: Annotated[
        list[str] | None, Query(description="event types, e.g. AlertSkipped (repeatable)")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="only events recorded from then on")
    ] = None,
    before: Annotated[int | None, Query(description="position: the page after this")] = None,
    q: Annotated[str | None, Query(description="words in the entity or the data")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    observations: Annotated[
        bool, Query(description="also what services observed, not only their decisions")
    ] = False,
) -> list[dict[str, Any]]:
    refuse_unknown_filters(request)
    types = tuple(t for value in type or [] for t in value.split(",") if t)
    query = AuditQuery(entity or None, types, since, before, q or None, limit, observations)
    return await audit_entries(console.pool, tenant, query, console.settings.jaeger_ui_url)


@router.get("/audit/types", summary="The event types this tenant's log holds")
async def get_types(_: CurrentUser, tenant: KnownTenant, console: Ctx) -> list[str]:
    return await event_types(console.pool, tenant)


@router.get("/dead-letters", summary="Messages that exhausted their deliveries, newest first")
async def get_dead_letters(
    _: CurrentUser, tenant: KnownTenant, console: Ctx
) -> list[dict[str, Any]]:
    return [letter.as_json() for letter in await list_dead_letters(_js(console), tenant)]


@router.post("/dead-letters/{letter_id}/retry", summary="Publish a dead letter again")
async def post_retry(
    letter_id: int, principal: Writer, tenant: KnownTenant, console: Ctx
) -> dict[str, Any]:
    try:
        letter = await retry(_js(console), console.pool, tenant, letter_id, principal.username)
    except DeadLetterNotFound as error:
        raise HTTPException(404, str(error)) from None
    return {"retried": True, "id": letter_id, "subject": letter.original_subject}
