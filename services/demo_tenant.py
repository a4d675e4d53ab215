"""The demo tenant `make run` creates: the sandbox accounts and the demo configuration of
issue 8 (create mode on, inbound off, platform+network assets with write-back, alerts from
High, manual tickets, auto-close, Rev.io -> RMM tickets on the sandbox's first board/source)."""

from pydantic import SecretStr
from revsync.contracts.rmm import ALERT_TICKET_SOURCE
from revsync.db import create_pool
from revsync.secrets_box import SecretBox
from revsync.tenancy import RevioConnection, RmmConnection, SyncSettings, Tenant
from revsync.tenant_store import TenantStore

DEMO_TENANT_ID = "demo"


def demo_tenant(
    revio_url: str, rmm_url: str, board: str | None = None, source: str | None = None
) -> Tenant:
    return Tenant(
        id=DEMO_TENANT_ID,
        name="Demo MSP",
        rmm=RmmConnection(
            base_url=rmm_url, client_id="sandbox-client", client_secret=SecretStr("sandbox-secret")
        ),
        revio=RevioConnection(
            base_url=revio_url,
            username="integration",
            client_code="SANDBOX",
            password=SecretStr("sandbox"),
        ),
        settings=SyncSettings(
            create_mode=True,
            rmm_to_revio_sync=False,
            asset_sync_enabled=True,
            endpoint_categories=["platform", "network"],
            asset_type="RMM Endpoint",
            write_revio_id_to_rmm=True,
            sync_alerts=True,
            min_alert_severity="High",
            sync_manual_tickets=True,
            auto_close_on_alert_clear=True,
            revio_to_rmm_tickets=board is not None,
            default_service_board=board,
            default_ticket_source=source,
            alert_ticket_type="RMM Alert",
        ),
    )


async def first_board_and_source(tenant: Tenant) -> tuple[str, str]:
    """The sandbox's first active service board and ticket source, read from its API. The
    source of alert tickets is never chosen: a Rev.io ticket pushed to RMM with it would look
    like an RMM alert."""
    from services.console.live_checks import LiveChecks

    alert_source = ALERT_TICKET_SOURCE.casefold()
    lookups = await LiveChecks().rmm(tenant.id, tenant.rmm, fresh=True)
    board = next(b for b in lookups.boards if b.active)
    source = next(s for s in lookups.sources if s.active and s.name.casefold() != alert_source)
    return board.id, source.id


async def create_demo_tenant(database_url: str, key: str, revio_url: str, rmm_url: str) -> bool:
    """Create the demo tenant once (True); a second `make run` keeps what the operator changed
    (False)."""
    pool = await create_pool(database_url, max_size=2)
    try:
        store = TenantStore(pool, SecretBox(key))
        if await store.load(DEMO_TENANT_ID, with_secrets=False) is None:
            board, source = await first_board_and_source(demo_tenant(revio_url, rmm_url))
            await store.save(demo_tenant(revio_url, rmm_url, board, source), actor="make run")
            return True
        return False
    finally:
        await pool.close()
