"""`/api/mappings`: review customer <-> company mappings (confirm, reject, unlink, link by
hand, confirm all of a run) and search the unlinked records of either side.

Every action goes through the company service (see mappings.py), with the user as actor."""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, HTTPException, Query
from pydantic import BaseModel

from services.console.deps import Console, Ctx, CurrentUser, KnownTenant, Writer
from services.console.mappings import STATES, MappingError
from services.console.search import rank

router = APIRouter(prefix="/api", tags=["mappings"])
Kind = Literal["company"]
Side = Literal["rmm", "revio"]


class ManualLink(BaseModel):
    revio_customer_id: str
    rmm_company_id: str


class Choice(BaseModel):
    rmm_company_id: str | None = None  # another suggested company than the best one


def _failed(error: MappingError) -> HTTPException:
    return HTTPException(error.status, str(error))


async def list_mappings(
    console: Console,
    tenant: str,
    state: str | None,
    run: UUID | None = None,
    rmm_deleted: bool | None = None,
) -> list[dict[str, Any]]:
    try:
        found = await console.mappings.list(tenant, state, run, rmm_deleted)
        return [m.as_json() for m in found]
    except MappingError as error:
        raise _failed(error) from None


async def get_one(console: Console, tenant: str, mapping_id: str) -> dict[str, Any]:
    try:
        found = await console.mappings.get(tenant, mapping_id)
    except MappingError as error:
        raise _failed(error) from None
    if found is None:
        raise HTTPException(404, f"no mapping {mapping_id}")
    return found.as_json()


async def search(console: Console, tenant: str, system: str, q: str) -> list[dict[str, Any]]:
    try:
        return rank(await console.mappings.unlinked(tenant, system), q)
    except MappingError as error:
        raise _failed(error) from None


async def act(
    console: Console,
    tenant: str,
    mapping_id: str,
    action: str,
    actor: str,
    rmm_company_id: str | None = None,
) -> None:
    await get_one(console, tenant, mapping_id)
    try:
        if action == "unlink":
            await console.mappings.unlink(tenant, mapping_id, actor)
        else:
            await getattr(console.mappings, action)(tenant, mapping_id, actor, rmm_company_id)
    except MappingError as error:
        raise _failed(error) from None


async def link(console: Console, tenant: str, body: ManualLink, actor: str) -> None:
    try:
        await console.mappings.link(tenant, body.revio_customer_id, body.rmm_company_id, actor)
    except MappingError as error:
        raise _failed(error) from None


async def confirm_all(console: Console, tenant: str, run_id: UUID, actor: str) -> dict[str, Any]:
    exists = await console.pool.fetchval(
        "SELECT 1 FROM sync_runs WHERE tenant_id = $1 AND run_id = $2", tenant, run_id
    )
    if not exists:
        raise HTTPException(404, f"no sync run {run_id}")
    try:
        outcome = await console.mappings.confirm_all(tenant, run_id, actor)
    except MappingError as error:
        raise _failed(error) from None
    return {
        "confirmed": len(outcome.confirmed),
        "confirmed_ids": outcome.confirmed,
        "skipped": outcome.skipped,
    }


@router.get("/mappings", summary="Mappings by state (suggested, linked, held, ...)")
async def get_mappings(
    _: CurrentUser,
    tenant: KnownTenant,
    console: Ctx,
    kind: Kind = "company",
    state: Annotated[str | None, Query(description=f"one of {', '.join(STATES)}")] = None,
    sync_run_id: UUID | None = None,
    rmm_deleted: Annotated[
        bool | None,
        Query(description="true: only links whose RMM company was deleted in RMM; false: none"),
    ] = None,
) -> list[dict[str, Any]]:
    if state is not None and state not in STATES:
        raise HTTPException(400, f"unknown state {state!r}; choose from {list(STATES)}")
    return await list_mappings(console, tenant, state, sync_run_id, rmm_deleted)


@router.get("/mappings/unlinked", summary="Search the unlinked records of one side")
async def get_unlinked(
    _: CurrentUser,
    tenant: KnownTenant,
    console: Ctx,
    system: Annotated[Side, Query(description="rmm: RMM companies; revio: Rev.io customers")],
    q: str = "",
) -> list[dict[str, Any]]:
    return await search(console, tenant, system, q)


@router.get("/mappings/{mapping_id}", summary="One mapping (its id is the Rev.io customer id)")
async def get_mapping(
    mapping_id: str, _: CurrentUser, tenant: KnownTenant, console: Ctx
) -> dict[str, Any]:
    return await get_one(console, tenant, mapping_id)


@router.post("/mappings/{mapping_id}/confirm", summary="Confirm a suggestion")
async def confirm(
    mapping_id: str,
    principal: Writer,
    tenant: KnownTenant,
    console: Ctx,
    body: Annotated[Choice | None, Body()] = None,
) -> dict[str, Any]:
    choice = (body or Choice()).rmm_company_id
    await act(console, tenant, mapping_id, "confirm", principal.username, choice)
    return await get_one(console, tenant, mapping_id)


@router.post("/mappings/{mapping_id}/reject", summary="Reject a suggestion (never proposed again)")
async def reject(
    mapping_id: str,
    principal: Writer,
    tenant: KnownTenant,
    console: Ctx,
    body: Annotated[Choice | None, Body()] = None,
) -> dict[str, Any]:
    choice = (body or Choice()).rmm_company_id
    await act(console, tenant, mapping_id, "reject", principal.username, choice)
    return await get_one(console, tenant, mapping_id)


@router.post("/mappings/{mapping_id}/unlink", summary="Undo a link (never relinked by automation)")
async def unlink(
    mapping_id: str, principal: Writer, tenant: KnownTenant, console: Ctx
) -> dict[str, Any]:
    await act(console, tenant, mapping_id, "unlink", principal.username)
    return await get_one(console, tenant, mapping_id)


@router.post("/mappings", status_code=201, summary="Link a Rev.io customer to an RMM company")
async def post_mapping(
    body: ManualLink, principal: Writer, tenant: KnownTenant, console: Ctx
) -> dict[str, Any]:
    await link(console, tenant, body, principal.username)
    return await get_one(console, tenant, body.revio_customer_id)


@router.post("/sync-runs/{run_id}/confirm-all", summary="Confirm every suggestion of a run")
async def post_confirm_all(
    run_id: UUID, principal: Writer, tenant: KnownTenant, console: Ctx
) -> dict[str, Any]:
    return await confirm_all(console, tenant, run_id, principal.username)
