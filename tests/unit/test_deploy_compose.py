"""docker-compose.yml, deploy/Dockerfile and `python -m revsync.migrate`, checked without a
Docker engine.

docker-compose.yml is validated against the Compose Specification's JSON schema (vendored:
tests/unit/schemas/compose-spec.json is schema/compose-spec.json of
github.com/compose-spec/compose-spec at 170098ba07d9, Apache-2.0), then against what the code
says (tests/unit/deploy_support.py): a service per process, its command, health check, port,
dependencies and environment; `docker compose config -q` runs too when the client has the
compose plugin. The Dockerfile is parsed and linted (pinned base, non-root user, frozen
locked install without dev groups, overridable CMD, no secrets). The `*_is_caught` tests break
a copy on purpose and expect the check to say so.
"""

import copy
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from revsync import migrate
from revsync.settings import RuntimeSettings

from services import stack
from tests.unit import deploy_support as code

COMPOSE_FILE = code.REPO / "docker-compose.yml"
DOCKERFILE = code.REPO / "deploy" / "Dockerfile"
SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
INFRASTRUCTURE = {"nats", "postgres", "jaeger"}
ONE_SHOT = {"migrate", "demo-tenant"}
# what compose must point at its own containers: .env.example's values are for `make run`
IN_NETWORK = {"NATS_URL", "DATABASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"}
Compose = dict[str, Any]


@pytest.fixture(scope="module")
def compose() -> Compose:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def argv_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def is_revsync(service: dict[str, Any]) -> bool:
    return service.get("build", {}).get("dockerfile") == "deploy/Dockerfile"


def readiness_url(service: dict[str, Any]) -> str | None:
    test = service.get("healthcheck", {}).get("test", [])
    urls = [str(t) for t in test if str(t).startswith("http://")]
    return urls[0] if len(urls) == 1 else None


# --- checks (each returns what is wrong; the tests assert it is nothing) -----------------------


def schema_problems(compose: Compose) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    return [
        f"{'.'.join(str(p) for p in error.path)}: {error.message[:200]}"
        for error in validator.iter_errors(compose)
    ]


def service_problems(compose: Compose) -> list[str]:
    """A service per process (every module `make run` starts), each built from deploy/Dockerfile
    and running its module, with a health check on its /readyz."""
    services = compose["services"]
    problems = []
    wanted = {code.NAMES[m]: m for m in code.PROCESSES}
    wanted |= {"demo-tenant": None}
    for module, _ in stack.PROCESSES:
        if code.NAMES.get(module) not in services:
            problems.append(f"`make run` starts {module}; docker-compose.yml does not")
    for name in sorted(set(wanted) - set(services)):
        problems.append(f"no service {name}")
    for name in sorted(set(services) - set(wanted) - INFRASTRUCTURE):
        problems.append(f"service {name} is no revsync process")
    for name, module in wanted.items():
        service = services.get(name)
        if service is None:
            continue
        if not is_revsync(service) or service.get("build", {}).get("context") != ".":
            problems.append(f"{name}: not built from deploy/Dockerfile in the repository root")
        argv = argv_of(service)
        if module and argv[:3] != ["python", "-m", module]:
            problems.append(f"{name}: runs {argv}, not python -m {module}")
        command = code.command_of(argv)
        environment = service.get("environment", {})
        names = command.health_port_names
        if names:
            ports = [str(environment[n]) for n in names if n in environment]
            url = readiness_url(service)
            if not ports:
                problems.append(f"{name}: no {'/'.join(names)} in environment")
            elif url != f"http://127.0.0.1:{ports[0]}/readyz":
                problems.append(f"{name}: health check is {url}, not /readyz on {ports[0]}")
        elif name == "sandbox" and readiness_url(service) is None:
            problems.append("sandbox: no health check")
    for name in INFRASTRUCTURE:
        service = services.get(name, {})
        if not service.get("healthcheck", {}).get("test"):
            problems.append(f"{name}: no health check")
        image = service.get("image", "")
        if ":" not in image or image.endswith(":latest"):
            problems.append(f"{name}: image {image!r} has no fixed tag")
    return problems


def dependency_problems(compose: Compose) -> list[str]:
    services = compose["services"]
    problems = []

    def needs(name: str, other: str, condition: str) -> None:
        got = services.get(name, {}).get("depends_on", {})
        got = {k: {"condition": "service_started"} for k in got} if isinstance(got, list) else got
        if got.get(other, {}).get("condition") != condition:
            problems.append(f"{name} must depend on {other} ({condition})")

    needs("migrate", "postgres", "service_healthy")
    needs("demo-tenant", "migrate", "service_completed_successfully")
    for name, service in services.items():
        if name in INFRASTRUCTURE or name == "sandbox" or not is_revsync(service):
            continue
        if name not in ONE_SHOT:
            needs(name, "migrate", "service_completed_successfully")
            needs(name, "nats", "service_healthy")
    for name in ONE_SHOT:
        if services.get(name, {}).get("restart", "no") != "no":
            problems.append(f"{name} is a one-shot step: restart must be 'no'")
    return problems


def env_problems(compose: Compose) -> list[str]:
    """Configuration is .env (the names of .env.example); `environment:` only redirects to the
    containers of the file and sets ports; secrets never appear in the file."""
    example = set(code.env_example_names())
    problems = []
    for name, service in compose["services"].items():
        if name in INFRASTRUCTURE:
            continue
        command = code.command_of(argv_of(service))
        environment = service.get("environment", {})
        if isinstance(environment, list):
            problems.append(f"{name}: environment must be a mapping")
            continue
        env_file = service.get("env_file")
        if command.reads and env_file != ".env":
            problems.append(f"{name}: configuration must come from env_file .env")
        if not command.reads and (env_file or environment):
            problems.append(f"{name}: reads no environment and must be given none")
        for variable in sorted(set(environment) - command.reads):
            problems.append(f"{name}: {variable} is read by no code this service runs")
        for variable in sorted(command.required & IN_NETWORK - set(environment)):
            problems.append(f"{name}: {variable} must point at this file's containers")
        for variable in sorted(command.required - IN_NETWORK - set(environment) - example):
            problems.append(f"{name}: {variable} is needed and neither in .env nor set")
        for variable in ("REVSYNC_SECRET_KEY", "REVSYNC_ADMIN_PASSWORD"):
            if variable in environment:
                problems.append(f"{name}: {variable} is a secret: it belongs in .env only")
        url = str(environment.get("DATABASE_URL", ""))
        password = re.match(r"postgresql://[^:/@]+:([^@]*)@", url)
        if url and (password is None or not re.fullmatch(r"\$\{[A-Z_]+(:?-[^}]*)?\}", password[1])):
            problems.append(f"{name}: the DATABASE_URL password must be a ${{...}} from .env")
    return problems


def infrastructure_problems(compose: Compose) -> list[str]:
    services, problems = compose["services"], []
    nats = services.get("nats", {})
    argv = argv_of(nats)
    if "-js" not in argv and "--jetstream" not in argv:
        problems.append("nats: JetStream is not enabled (-js)")
    store = next((argv[i + 1] for i, a in enumerate(argv) if a in ("-sd", "--store_dir")), None)
    mounts = {str(v).split(":")[1] for v in nats.get("volumes", []) if ":" in str(v)}
    if store is None or store not in mounts:
        problems.append(f"nats: the JetStream store ({store}) is not on a volume")
    postgres_mounts = [str(v) for v in services.get("postgres", {}).get("volumes", [])]
    if not any(v.endswith(":/var/lib/postgresql/data") for v in postgres_mounts):
        problems.append("postgres: its data directory is not on a volume")
    jaeger_ports = {str(p).rsplit(":", 1)[-1] for p in services.get("jaeger", {}).get("ports", [])}
    for port in ("4317", "4318", "16686"):
        if port not in jaeger_ports:
            problems.append(f"jaeger: port {port} is not published")
    named = {str(v).split(":")[0] for s in services.values() for v in s.get("volumes", [])}
    for volume in sorted(named - set(compose.get("volumes") or {})):
        problems.append(f"volume {volume} is not declared")
    return problems


# --- tests: docker-compose.yml ------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification(compose):
    assert schema_problems(compose) == []


def test_compose_has_a_service_per_process_with_its_health_check(compose):
    assert service_problems(compose) == []


def test_compose_starts_everything_after_the_migration(compose):
    assert dependency_problems(compose) == []


def test_compose_environment_is_what_the_code_reads(compose):
    assert env_problems(compose) == []


def test_compose_infrastructure_keeps_its_data_and_exposes_tracing(compose):
    assert infrastructure_problems(compose) == []


def test_env_example_names_only_variables_the_code_reads():
    assert set(code.env_example_names()) - code.all_env_reads() == set()


def test_compose_demo_tenant_points_at_the_sandbox(compose):
    sandbox = argv_of(compose["services"]["sandbox"])
    revio, rmm = (sandbox[sandbox.index(flag) + 1] for flag in ("--revio-port", "--rmm-port"))
    assert sandbox[sandbox.index("--host") + 1] == "0.0.0.0"
    script = argv_of(compose["services"]["demo-tenant"])[2]
    assert f'revio_url="http://sandbox:{revio}/v1"' in script
    assert f'rmm_url="http://sandbox:{rmm}"' in script
    console = compose["services"]["console"]
    assert f"127.0.0.1:8080:{console['environment']['CONSOLE_PORT']}" in console["ports"]


def test_docker_compose_config_accepts_the_file(tmp_path):
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client installed")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip(
            "the docker client has no compose plugin (`docker compose` is unknown); the file is "
            "validated against the Compose Specification schema instead"
        )
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copy(code.REPO / ".env.example", tmp_path / ".env")
    (tmp_path / "deploy").mkdir()
    shutil.copy(DOCKERFILE, tmp_path / "deploy" / "Dockerfile")
    result = subprocess.run(
        [docker, "compose", "config", "-q"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def broken(compose: Compose) -> Compose:
    return copy.deepcopy(compose)


def test_a_missing_health_check_is_caught(compose):
    changed = broken(compose)
    del changed["services"]["alert"]["healthcheck"]
    assert any(p.startswith("alert: health check") for p in service_problems(changed))
    changed = broken(compose)
    del changed["services"]["nats"]["healthcheck"]
    assert "nats: no health check" in service_problems(changed)


def test_a_missing_service_or_wrong_dependency_is_caught(compose):
    changed = broken(compose)
    del changed["services"]["ticket"]
    assert any("services.ticket" in p for p in service_problems(changed))
    changed = broken(compose)
    changed["services"]["company"]["depends_on"] = {"migrate": {"condition": "service_started"}}
    assert any(p.startswith("company must depend on migrate") for p in dependency_problems(changed))


def test_a_stray_or_secret_variable_is_caught(compose):
    changed = broken(compose)
    changed["services"]["asset"]["environment"] = {
        **changed["services"]["asset"]["environment"],
        "RMM_TENANTS": "acme",
        "REVSYNC_SECRET_KEY": "oops",
    }
    problems = env_problems(changed)
    assert any("RMM_TENANTS is read by no code" in p for p in problems)
    assert any("REVSYNC_SECRET_KEY" in p for p in problems)
    changed = broken(compose)
    environment = dict(changed["services"]["console"]["environment"])
    environment["DATABASE_URL"] = "postgresql://revsync:hunter2@postgres:5432/revsync"
    changed["services"]["console"]["environment"] = environment
    assert any("DATABASE_URL password" in p for p in env_problems(changed))


def test_lost_jetstream_or_volume_is_caught(compose):
    changed = broken(compose)
    changed["services"]["nats"]["command"] = ["--store_dir", "/data"]
    changed["services"]["postgres"]["volumes"] = []
    problems = infrastructure_problems(changed)
    assert "nats: JetStream is not enabled (-js)" in problems
    assert "postgres: its data directory is not on a volume" in problems
    changed["services"]["alert"]["healtcheck"] = {}
    assert schema_problems(changed) != []


# --- tests: deploy/Dockerfile --------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    joined, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += stripped[:-1] + " " if stripped.endswith("\\") else stripped
        if not stripped.endswith("\\"):
            joined.append(pending)
            pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined]


def dockerfile_problems(text: str) -> list[str]:
    steps = instructions(text)
    problems = []
    froms = [args.split()[0] for op, args in steps if op == "FROM"]
    for image in froms:
        if not re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image):
            problems.append(f"base image {image} is not a pinned python:3.11.x-slim")
    if len(set(froms)) != 1:
        problems.append(f"stages use different bases {froms}: the venv needs the same Python")
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [args.strip() for op, args in final if op == "USER"]
    if not users or re.fullmatch(r"(root|0)(:.*)?", users[-1]):
        problems.append("the final stage does not switch to a non-root USER")
    cmds = [args for op, args in final if op == "CMD"]
    if not cmds or not cmds[-1].startswith("["):
        problems.append("no exec-form CMD")
    if any(op == "ENTRYPOINT" for op, _ in steps):
        problems.append("ENTRYPOINT makes the default command harder to override; use CMD")
    syncs = [args for op, args in steps if op == "RUN" and "uv sync" in args]
    if not syncs:
        problems.append("dependencies are not installed with uv sync")
    for args in syncs:
        for flag in ("--frozen", "--no-dev", "--no-default-groups"):
            if flag not in args:
                problems.append(f"uv sync without {flag}")
    makefile = (code.REPO / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION := (\S+)", makefile, flags=re.MULTILINE)
    if uv_version is None or f"uv=={uv_version[1]}" not in text:
        problems.append("uv is not pinned to the Makefile's UV_VERSION")
    for op, args in steps:
        if op in ("ENV", "ARG") and re.search(r"(SECRET|PASSWORD|PASSWD|TOKEN|_KEY)\w*\s*=", args):
            problems.append(f"{op} {args}: secrets come from the environment at run time")
        if op in ("COPY", "ADD") and re.search(r"(^|\s)\.env|secret|\.revsync", args):
            problems.append(f"{op} {args}: copies secret material")
    if re.search(r"[A-Za-z0-9_-]{43}=", text):
        problems.append("something like a Fernet key is written in the Dockerfile")
    return problems


def test_dockerfile_is_pinned_unprivileged_and_secret_free():
    assert dockerfile_problems(DOCKERFILE.read_text()) == []


def test_dockerfile_lint_can_fail():
    text = DOCKERFILE.read_text()
    assert any("non-root" in p for p in dockerfile_problems(text.replace("USER 10001:10001", "")))
    assert any(
        "pinned" in p for p in dockerfile_problems(text.replace("3.11.15-slim", "3.11-slim"))
    )
    assert any("--no-dev" in p for p in dockerfile_problems(text.replace(" --no-dev", "")))
    leaked = text.replace("ENV PATH=", "ENV REVSYNC_SECRET_KEY=abc PATH=")
    assert any("secrets" in p for p in dockerfile_problems(leaked))


def test_build_context_admits_only_sources():
    lines = [
        line.strip()
        for line in (code.REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "the context must be an allowlist"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert admitted == {"pyproject.toml", "uv.lock", "README.md", "libs", "services"}
    copied = set()
    for op, args in instructions(DOCKERFILE.read_text()):
        if op == "COPY" and "--from=" not in args:
            copied |= {source.rstrip("/").removeprefix("./") for source in args.split()[:-1]}
    assert copied <= admitted
    for source in copied:
        assert (code.REPO / source).exists(), source


def test_image_default_command_is_a_real_process():
    final = [args for op, args in instructions(DOCKERFILE.read_text()) if op == "CMD"][-1]
    argv = json.loads(final)
    assert code.command_of(argv).process is not None


# --- python -m revsync.migrate ---------------------------------------------------------------


async def test_migrate_applies_migrations_to_the_configured_database(monkeypatch):
    calls: list[str] = []

    class Connection:
        async def close(self) -> None:
            calls.append("close")

    async def connect(url: str) -> Connection:
        calls.append(url)
        return Connection()

    async def apply(conn: Connection) -> list[str]:
        calls.append("apply")
        return ["001_event_log.sql"]

    monkeypatch.setattr(migrate, "connect", connect)
    monkeypatch.setattr(migrate, "apply_migrations", apply)
    monkeypatch.setenv("DATABASE_URL", "postgresql://revsync@db.example/revsync")
    assert await migrate.migrate(RuntimeSettings(_env_file=None)) == ["001_event_log.sql"]  # type: ignore[call-arg]
    assert calls == ["postgresql://revsync@db.example/revsync", "apply", "close"]


async def test_migrate_waits_for_the_database_then_gives_up(monkeypatch):
    attempts = []

    async def refused(url: str) -> None:
        attempts.append(url)
        raise ConnectionRefusedError(111, "refused")

    monkeypatch.setattr(migrate, "connect", refused)
    monkeypatch.setattr(migrate, "RETRY_DELAY_S", 0.01)
    settings = RuntimeSettings(database_url="postgresql://x@db.example/x", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConnectionRefusedError):
        await migrate.migrate(settings, timeout_s=0.05)
    assert len(attempts) >= 2
