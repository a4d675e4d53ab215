"""The ConnectWise RMM sandbox app: `create_app()` seeds the default account and wires the
vendor routes, the vendor error shapes and the `/_sandbox` control API."""

from fastapi import FastAPI

from services.sandbox.common.control import SandboxControl
from services.sandbox.cwrmm import (
    routes_alerts,
    routes_auth,
    routes_companies,
    routes_control,
    routes_custom_fields,
    routes_endpoints,
    routes_lookups,
    routes_sites,
    routes_ticket_notes,
    routes_tickets,
)
from services.sandbox.cwrmm.accounts import TOKEN_PATH, RmmAccounts
from services.sandbox.cwrmm.errors import install_error_handlers
from services.sandbox.cwrmm.rate_limits import DEFAULT_LIMIT
from services.sandbox.cwrmm.sandbox import RmmSandbox
from services.sandbox.seed import World, generate_world

DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
VENDOR_ROUTERS = (
    routes_auth,
    routes_companies,
    routes_sites,
    routes_endpoints,
    routes_custom_fields,
    routes_tickets,
    routes_ticket_notes,
    routes_lookups,
    routes_alerts,
    routes_control,
)


def create_app(
    world: World | None = None,
    *,
    seed: int = 1,
    size: str | int = "demo",
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    rate_limit: int = DEFAULT_LIMIT,
    rate_limits_enabled: bool = True,
) -> FastAPI:
    """The RMM sandbox, its default account seeded from `world` (or `seed` and `size`)."""
    world = world or generate_world(seed, size)
    accounts = RmmAccounts(default_rate_limit=rate_limit)
    accounts.add(client_id, client_secret, world, size)
    control = SandboxControl(
        accounts,
        accounts.account_of,
        token_path=TOKEN_PATH,
        rate_limits_enabled=rate_limits_enabled,
    )
    app = FastAPI(title="ConnectWise RMM sandbox", docs_url=None, redoc_url=None)
    app.state.cwrmm = RmmSandbox(accounts, control)
    app.state.control = control
    for module in VENDOR_ROUTERS:
        app.include_router(module.router)
    install_error_handlers(app)
    control.install(app)
    return app
