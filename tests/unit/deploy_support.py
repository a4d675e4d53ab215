"""What the code says about deployment, for test_deploy_compose.py and test_deploy_k8s.py:
which processes exist, which environment variables each one reads (from the pydantic-settings
classes themselves), which of them are secrets, and which durable consumers each service
declares (by running its registration code against a recorder)."""

import importlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]

# values that must never be written into a manifest, only referenced from the Secret
# (DATABASE_URL carries the database password)
SECRET_NAMES = frozenset({"DATABASE_URL", "REVSYNC_SECRET_KEY", "REVSYNC_ADMIN_PASSWORD"})
# the one variable read straight from os.environ (revsync.secrets_box, when no key is passed)
SECRET_KEY = "REVSYNC_SECRET_KEY"
# the names under which a process reads the port of /healthz, /readyz and /metrics
HEALTH_PORT_NAMES = ("SERVICE_PORT", "REVIO_CONNECTOR_PORT", "METRICS_PORT")
# files allowed to read os.environ directly (everything else goes through pydantic-settings)
DIRECT_ENV_READERS = {"libs/revsync/secrets_box.py"}
# packages whose process builds a SecretBox from REVSYNC_SECRET_KEY (tenant secrets, RMM
# tokens, Rev.io webhook secrets); a test compares both sets with the sources
SECRET_KEY_READERS = {"services.cwrmm_connector", "services.revio_connector", "services.console"}


@dataclass(frozen=True)
class Process:
    module: str  # python -m <module>
    settings: str | None  # "module:Class" of the settings object the process starts with
    long_running: bool = True

    def env_reads(self) -> frozenset[str]:
        return env_reads(self.module)

    def required_env(self) -> frozenset[str]:
        """What a container must be given: the defaults of these point at 127.0.0.1 or are
        absent, which is useless (or fatal) in a container."""
        reads = self.env_reads()
        needed = {"DATABASE_URL"} & reads
        if self.long_running:
            needed |= {"NATS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"} & reads
        if self.module in SECRET_KEY_READERS:
            needed.add(SECRET_KEY)
        if self.module == "services.console":
            needed |= {"REVSYNC_ADMIN_USER", "REVSYNC_ADMIN_PASSWORD"}
        return frozenset(needed)

    def health_port_names(self) -> tuple[str, ...]:
        return tuple(name for name in HEALTH_PORT_NAMES if name in self.env_reads())


PROCESSES: dict[str, Process] = {
    p.module: p
    for p in [
        Process("revsync.migrate", "revsync.settings:RuntimeSettings", long_running=False),
        # main() runs through revsync.runtime.run_service: ServiceSettings (SERVICE_PORT)
        Process("revsync.outbox", "revsync.runtime:ServiceSettings"),
        Process("services.cwrmm_connector", "services.cwrmm_connector.settings:ConnectorSettings"),
        Process(
            "services.revio_connector", "services.revio_connector.settings:RevioConnectorSettings"
        ),
        Process("services.company", "revsync.runtime:ServiceSettings"),
        Process("services.asset", "revsync.runtime:ServiceSettings"),
        Process("services.alert", "revsync.runtime:ServiceSettings"),
        Process("services.ticket", "revsync.runtime:ServiceSettings"),
        Process("services.console", "services.console.config:ConsoleSettings"),
        Process("services.sandbox", None),
    ]
}
# the name of each process's compose service, Deployment and container
NAMES = {
    "revsync.migrate": "migrate",
    "revsync.outbox": "outbox-relay",
    "services.cwrmm_connector": "cwrmm-connector",
    "services.revio_connector": "revio-connector",
    "services.company": "company",
    "services.asset": "asset",
    "services.alert": "alert",
    "services.ticket": "ticket",
    "services.console": "console",
    "services.sandbox": "sandbox",
}
# long-running processes deployed in every environment (the sandbox only where it is wanted)
DEPLOYED = [m for m, p in PROCESSES.items() if p.long_running and m != "services.sandbox"]


@dataclass(frozen=True)
class Command:
    """What a container runs, and what the code it runs reads from the environment."""

    argv: tuple[str, ...]
    reads: frozenset[str]
    required: frozenset[str]
    process: Process | None = None

    @property
    def health_port_names(self) -> tuple[str, ...]:
        return self.process.health_port_names() if self.process else ()


def cli_env_reads(command: str) -> frozenset[str]:
    """The variables `revsync <command>` reads (typer options with `envvar`)."""
    import typer.main

    from services.console.cli import app

    group = typer.main.get_command(app)
    params = [*group.params, *group.commands[command].params]  # type: ignore[attr-defined]
    names: set[str] = set()
    for param in params:
        envvar = getattr(param, "envvar", None)
        names |= {envvar} if isinstance(envvar, str) else set(envvar or ())
    return frozenset(names)


def command_of(argv: list[str]) -> Command:
    """`python -m <module>`, `python -c <script>` or `revsync <command>`; anything else is an
    AssertionError (a container running something these tests do not know)."""
    args = tuple(str(a) for a in argv)
    if args[:2] == ("python", "-m") and args[2] in PROCESSES:
        process = PROCESSES[args[2]]
        return Command(args, process.env_reads(), process.required_env(), process)
    if args[:2] == ("python", "-c"):
        names = frozenset(re.findall(r"os\.environ\[[\"']([A-Z0-9_]+)[\"']\]", args[2]))
        return Command(args, names, names)
    if args[:1] == ("revsync",) and len(args) > 1:
        reads = cli_env_reads(args[1])
        return Command(args, reads, reads & {"DATABASE_URL"})
    raise AssertionError(f"unknown command {list(args)}")


def load(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def settings_env_names(cls: type[BaseSettings]) -> set[str]:
    """The environment variables pydantic-settings maps onto `cls` (aliases win over the
    prefixed field name, as in pydantic-settings)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def package_settings_classes(package: str) -> set[type[BaseSettings]]:
    """Every BaseSettings subclass defined in a service package (a service's own config,
    e.g. `COMPANY_*`): the modules that import pydantic_settings are imported and searched."""
    found = set()
    folder = REPO / package.replace(".", "/")
    for path in sorted(folder.rglob("*.py")):
        if "pydantic_settings" not in path.read_text():
            continue
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseSettings)
                and value.__module__ == module.__name__
            ):
                found.add(value)
    return found


@cache
def env_reads(module: str) -> frozenset[str]:
    process = PROCESSES[module]
    names: set[str] = set()
    if process.settings:
        names |= settings_env_names(load(process.settings))
    if module.startswith("services."):
        for cls in package_settings_classes(module):
            names |= settings_env_names(cls)
    if module in SECRET_KEY_READERS:
        names.add(SECRET_KEY)
    return frozenset(names)


def all_env_reads() -> frozenset[str]:
    return frozenset().union(*(env_reads(m) for m in PROCESSES))


def env_example_names() -> list[str]:
    text = (REPO / ".env.example").read_text()
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)


def direct_env_readers() -> set[str]:
    found = set()
    for folder in ("libs/revsync", "services"):
        for path in (REPO / folder).rglob("*.py"):
            relative = str(path.relative_to(REPO))
            if relative == "services/stack.py":  # `make run` itself, not a deployed process
                continue
            if re.search(r"os\.environ|os\.getenv|getenv\(", path.read_text()):
                found.add(relative)
    return found


# what declares the JetStream streams at start-up: the service runtime (revsync.runtime.serve /
# run_service, which passes STREAM_REPLICAS) or a direct ensure_streams call
_DECLARES_STREAMS = re.compile(
    r"from revsync\.runtime import [^\n]*\b(serve|run_service)\b|\bensure_streams\("
)


def process_sources(module: str) -> list[Path]:
    if module.startswith("services."):
        return sorted((REPO / module.replace(".", "/")).rglob("*.py"))
    return [REPO / "libs" / f"{module.replace('.', '/')}.py"]


@cache
def stream_declarers() -> frozenset[str]:
    """The processes that declare the streams (and so apply STREAM_REPLICAS) when they start."""
    return frozenset(
        module
        for module in PROCESSES
        if any(_DECLARES_STREAMS.search(path.read_text()) for path in process_sources(module))
    )


# a call (not the definition) of ensure_streams, arguments up to one level of parentheses deep
_ENSURE_STREAMS_CALL = re.compile(
    r"(?<!def )\bensure_streams\((?P<args>[^()]*(?:\([^()]*\)[^()]*)*)\)"
)


def ensure_streams_without_replicas() -> list[str]:
    """Direct `ensure_streams(...)` calls in deployed code that pass no replica count: they
    declare the streams with the default of 1 whatever STREAM_REPLICAS says."""
    found = []
    for folder in ("libs/revsync", "services"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for call in _ENSURE_STREAMS_CALL.finditer(path.read_text()):
                if "replicas" not in call["args"]:
                    found.append(f"{path.relative_to(REPO)}: {call[0]}")
    return found


def packages_using_secret_box() -> set[str]:
    found = set()
    for module in PROCESSES:
        if not module.startswith("services."):
            continue
        folder = REPO / module.replace(".", "/")
        if any("SecretBox" in path.read_text() for path in folder.rglob("*.py")):
            found.add(module)
    return found


# --- durable consumers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Consumer:
    service: str
    name: str
    stream: str

    @property
    def durable(self) -> str:
        from revsync.messaging.subscriber import consumer_name

        return consumer_name(self.service, self.name)


def _record(target: str, call: Any) -> list[Consumer]:
    """Run `call` with `durable_subscriber` in module `target` replaced by a recorder."""
    from revsync.contracts import Subjects

    seen: list[Consumer] = []

    def recorder(_broker: Any, *, service: str, name: str, subject: str, **_: Any) -> None:
        seen.append(Consumer(service, name, Subjects.stream_of(subject)))

    with mock.patch(f"{target}.durable_subscriber", recorder):
        call()
    return seen


ROUTES = "revsync.messaging.subscriber"  # where subscribe_routes finds durable_subscriber


@cache
def consumers() -> dict[str, list[Consumer]]:
    """The durable consumers each process declares, keyed by process module, in the order the
    code declares them (the first is the service's main handler)."""
    from services.alert import app as alert
    from services.asset import app as asset
    from services.company import app as company
    from services.console.consumers import ConsoleConsumers
    from services.cwrmm_connector.handlers import CommandHandlers
    from services.cwrmm_connector.settings import ConnectorSettings
    from services.revio_connector.app import Connector
    from services.revio_connector.settings import RevioConnectorSettings
    from services.ticket import app as ticket

    def plain(module: Any, name: str) -> Any:
        # run_service(name, ...) names the service; register() takes it as `name`
        return lambda: module.register(None, mock.MagicMock(), name=name)

    cwrmm = object.__new__(CommandHandlers)
    cwrmm.settings = ConnectorSettings(_env_file=None)  # type: ignore[call-arg]
    cwrmm.tenant_slots = mock.MagicMock()
    revio = object.__new__(Connector)
    revio.settings = RevioConnectorSettings(_env_file=None)  # type: ignore[call-arg]
    revio.broker, revio.commands = None, mock.MagicMock()
    return {
        "services.alert": _record(ROUTES, plain(alert, "alert")),
        "services.ticket": _record(ROUTES, plain(ticket, "ticket")),
        "services.company": _record(ROUTES, plain(company, company.SERVICE)),
        "services.asset": _record(ROUTES, plain(asset, asset.SERVICE)),
        "services.cwrmm_connector": _record(
            "services.cwrmm_connector.handlers", lambda: cwrmm.register(None)
        ),
        "services.revio_connector": _record("services.revio_connector.app", revio._subscribe),
        "services.console": _record(
            "services.console.consumers",
            lambda: ConsoleConsumers(mock.MagicMock(), service="console").register(None),
        ),
    }
