"""Every projection of every service, for `revsync replay`.

The console's `sync_runs`, `tenants` (the projection of the `settings` and `tenant`
streams, which `revsync.tenant_store` folds as it saves), plus those of each service, found
in `services.<name>.projections`, `.projection` or `.state`: a module-level `PROJECTIONS`
when the module has one, else its module-level `Projection` instances, else an instance of
each concrete `Projection` class it defines.
"""

import importlib
import inspect
from types import ModuleType

from revsync.projection import Projection
from revsync.tenant_store import TenantsProjection

from services.console.sync_runs import SyncRunsProjection

# the services whose read models are folds of the log; the connectors keep what they saw of
# the vendors (content hashes, watermarks, command outcomes), which no event holds
SERVICES = ("company", "asset", "alert", "ticket")
PLACES = ("projections", "projection", "state")


def _of_module(module: ModuleType) -> list[Projection]:
    listed = getattr(module, "PROJECTIONS", None)
    if listed is not None:
        return list(listed)
    instances = [v for v in vars(module).values() if isinstance(v, Projection)]
    if instances:
        return instances
    classes = [
        v
        for v in vars(module).values()
        if inspect.isclass(v)
        and issubclass(v, Projection)
        and v.__module__ == module.__name__
        and not inspect.isabstract(v)
    ]
    return [cls() for cls in classes]


def all_projections() -> tuple[list[Projection], list[str]]:
    """(projections, services whose projections were not found)."""
    found: dict[str, Projection] = {p.name: p for p in (TenantsProjection(), SyncRunsProjection())}
    missing = []
    for service in SERVICES:
        modules = [_module(f"services.{service}.{name}") for name in PLACES]
        found_any = False
        for module in modules:
            if module is None:
                continue
            for projection in _of_module(module):
                found.setdefault(projection.name, projection)
                found_any = True
        if not found_any:
            missing.append(service)
    return list(found.values()), missing


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name and name.startswith(error.name):
            return None  # no such module (or service)
        raise  # the module exists but something it needs does not: say so
