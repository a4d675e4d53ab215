"""The demo tenant `make run` creates: the sandbox accounts and the demo configuration of
issue 8 (create mode on, inbound off, platform+network assets with write-back, alerts from
High, manual tickets, auto-close, Rev.io -> RMM tickets on the sandbox's first board/source)."""

from pydantic import SecretStr

from revsync.db import create_pool
from revsync.secrets_box import SecretBox
from revsync.tenancy import RevioConnection, RmmConnection, SyncSettings, Tenant
from revsync.tenant_store import TenantStore

DEMO_TENANT_ID = "demo"


def demo_tenant(revio_url: str, rmm_url: str, board: str = "1", source: str = "1") -> Tenant:
    return Tenant(
        id=DEMO_TENANT_ID,
        name="Demo MSP",
        rmm=RmmConnection(base_url=rmm_url, client_id="sandbox-client",
                          client_secret=SecretStr("sandbox-secret")),
        revio=RevioConnection(base_url=revio_url, username="integration", client_code="SANDBOX",
                              password=SecretStr("sandbox")),
        settings=SyncSettings(
            create_mode=True, rmm_to_revio_sync=False, asset_sync_enabled=True,
            endpoint_categories=["platform", "network"], asset_type="RMM Endpoint",
            write_revio_id_to_rmm=True, sync_alerts=True, min_alert_severity="High",
            sync_manual_tickets=True, auto_close_on_alert_clear=True, revio_to_rmm_tickets=True,
            default_service_board=board, default_ticket_source=source,
            alert_ticket_type="RMM Alert",
        ),
    )


async def create_demo_tenant(database_url: str, key: str, revio_url: str, rmm_url: str) -> None:
    """Create the demo tenant once; a second `make run` keeps what the operator changed."""
    pool = await create_pool(database_url, max_size=2)
    try:
        store = TenantStore(pool, SecretBox(key))
        if await store.load(DEMO_TENANT_ID, with_secrets=False) is None:
            await store.save(demo_tenant(revio_url, rmm_url), actor="make run")
    finally:
        await pool.close()
