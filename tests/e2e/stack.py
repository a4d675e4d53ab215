"""The whole revsync stack as real processes, for end-to-end tests.

`E2EStack` starts, against the session's NATS and PostgreSQL: both vendor sandboxes (one
process, free ports), the outbox relay, both connectors, the company, asset, alert and ticket
services and the console, each as `python -m ...` exactly as `make run` starts them, with
short poll intervals. Tests kill (SIGKILL), restart and add replicas of any of them.

`E2ETenant` is one MSP on that stack: its own account in each sandbox (created through the
sandbox control API from a seed world, so two tenants made from one seed have the same vendor
ids), its tenant row, and the three clients a test needs: the RMM API as an integrator, Rev.io
as a person in its UI, and the console API as the operator.
"""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from revsync.db import create_pool
from revsync.devservers import die_with_parent, free_port
from revsync.secrets_box import SecretBox
from revsync.tenancy import RevioConnection, RmmConnection, SyncSettings, Tenant
from revsync.tenant_store import TenantStore

from services.demo_tenant import first_board_and_source

ADMIN = ("operator", "operator-e2e-password")
# (name, module, extra environment); the connectors also serve their own HTTP port
SERVICES: list[tuple[str, str]] = [
    ("relay", "revsync.outbox"),
    ("cwrmm_connector", "services.cwrmm_connector"),
    ("revio_connector", "services.revio_connector"),
    ("company", "services.company"),
    ("asset", "services.asset"),
    ("alert", "services.alert"),
    ("ticket", "services.ticket"),
    ("console", "services.console"),
]
# Fast enough for tests, slow enough for two cores: every poll is a vendor call per tenant.
FAST_POLLS = {
    "RMM_POLL_INTERVAL_S": "0.5",
    "RMM_COMPANY_POLL_INTERVAL_S": "2",
    "RMM_ENDPOINT_POLL_INTERVAL_S": "3",
    "RMM_TENANT_RELOAD_S": "0.5",
    "RMM_TICK_S": "0.2",
    "RMM_ENFORCE_RATE_LIMITS": "false",
    "REVIO_POLL_INTERVAL_S": "0.5",
    "REVIO_ASSET_POLL_INTERVAL_S": "5",
    "REVIO_TENANT_RELOAD_S": "0.5",
    "REVIO_CREATE_SETTLE_S": "0",
    # a restarted connector takes over a crashed one's polls after this, not minutes
    "RMM_LEASE_TTL_S": "5",
    "REVIO_LEASE_TTL_S": "5",
    # a sync run is done after this long without decisions (30 s in production)
    "SYNC_QUIET_S": "3",
    "COMPANY_RUN_QUIET_S": "3",
}


async def eventually(
    check: Callable[[], Awaitable[Any]], within_s: float = 30.0, every_s: float = 0.25
) -> Any:
    """Call `check` until it returns something truthy and return that."""
    deadline = time.monotonic() + within_s
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within_s}s (last: {value!r})")
        await asyncio.sleep(every_s)


@dataclass
class Process:
    """One running service process; its output goes to `log`."""

    name: str
    module: str
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", self.module], env=self.env, stdout=out, stderr=out,
                preexec_fn=die_with_parent,  # a killed test run leaves no service running
            )  # fmt: skip

    @property
    def port(self) -> int:
        return int(self.env["SERVICE_PORT"])

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last ack, as a crashed pod."""
        if self.popen is not None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            assert self.popen is not None
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class E2EStack:
    nats_url: str
    database_url: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    processes: dict[str, list[Process]] = field(default_factory=dict)
    rmm_port: int = field(default_factory=free_port)
    revio_port: int = field(default_factory=free_port)
    console_port: int = field(default_factory=free_port)
    sandbox: subprocess.Popen[bytes] | None = None

    @property
    def rmm_url(self) -> str:
        return f"http://127.0.0.1:{self.rmm_port}"

    @property
    def revio_url(self) -> str:
        return f"http://127.0.0.1:{self.revio_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def base_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "NATS_URL": self.nats_url,
            "DATABASE_URL": self.database_url,
            "REVSYNC_SECRET_KEY": self.secret_key,
            "REVSYNC_ADMIN_USER": ADMIN[0],
            "REVSYNC_ADMIN_PASSWORD": ADMIN[1],
            "CONSOLE_PORT": str(self.console_port),
            "LOG_LEVEL": "INFO",
            **FAST_POLLS,
            **self.extra_env,
        }

    # -- processes ---------------------------------------------------------------------------

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "sandbox.log").open("ab") as out:
            self.sandbox = subprocess.Popen(
                [sys.executable, "-m", "services.sandbox", "--seed", "1", "--size", "tiny",
                 "--rmm-port", str(self.rmm_port), "--revio-port", str(self.revio_port)],
                env=self.base_env(), stdout=out, stderr=out, preexec_fn=die_with_parent,
            )  # fmt: skip
        self.wait_http(f"{self.rmm_url}/_sandbox/accounts", "the RMM sandbox")
        self.wait_http(f"{self.revio_url}/_sandbox/accounts", "the Rev.io sandbox")
        # rate limits are switched on per test that wants them (storms, 429 runs)
        for url in (self.rmm_url, self.revio_url):
            httpx.put(f"{url}/_sandbox/rate-limits", json={"enabled": False}).raise_for_status()
        for name, _module in SERVICES:
            self.add_replica(name)
        for replicas in self.processes.values():
            for process in replicas:
                self.wait_ready(process)

    def add_replica(self, name: str, **env: str) -> Process:
        """Start one more process of service `name` (the first one when there is none)."""
        module = dict(SERVICES)[name]
        replicas = self.processes.setdefault(name, [])
        index = len(replicas)
        port = free_port()
        process_env = {**self.base_env(), "SERVICE_PORT": str(port), **env}
        if name == "revio_connector":
            process_env["REVIO_CONNECTOR_PORT"] = str(port)
        process = Process(name, module, process_env, self.workdir / f"{name}-{index}.log")
        process.start()
        replicas.append(process)
        return process

    def process(self, name: str, index: int = 0) -> Process:
        return self.processes[name][index]

    def restart(self, process: Process) -> None:
        process.start()
        self.wait_ready(process)

    def wait_ready(self, process: Process, within_s: float = 180.0) -> None:
        url = f"http://127.0.0.1:{process.port}/readyz"
        if process.name == "console":
            url = f"{self.console_url}/api/health"
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if not process.alive():
                raise AssertionError(f"{process.name} exited:\n{process.tail()}")
            try:
                if httpx.get(url, timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{process.name} not ready in {within_s}s:\n{process.tail()}")

    def wait_http(self, url: str, what: str, within_s: float = 60.0) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            try:
                httpx.get(url, timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"{what} did not answer at {url}")

    def check_alive(self) -> None:
        """Fail with the log of any process that died on its own."""
        for replicas in self.processes.values():
            for process in replicas:
                if process.popen is not None and not process.alive():
                    code = process.popen.returncode
                    if code not in (0, -signal.SIGKILL, -signal.SIGTERM):
                        raise AssertionError(f"{process.name} died ({code}):\n{process.tail()}")

    def stop(self) -> None:
        for replicas in self.processes.values():
            for process in replicas:
                if process.alive():
                    assert process.popen is not None
                    process.popen.terminate()
        for replicas in self.processes.values():
            for process in replicas:
                process.stop()
        if self.sandbox is not None and self.sandbox.poll() is None:
            self.sandbox.terminate()
            try:
                self.sandbox.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.sandbox.kill()

    # -- tenants -----------------------------------------------------------------------------

    async def new_tenant(
        self, seed: int = 7, size: str | int = "tiny", tenant_id: str | None = None,
        **settings: Any,
    ) -> "E2ETenant":  # fmt: skip
        """A tenant with fresh sandbox accounts filled from `generate_world(seed, size)`, its
        row saved (enabled) with the demo settings overridden by `settings`."""
        tenant_id = tenant_id or f"e{secrets.token_hex(4)}"
        client_code = tenant_id.upper()
        client_id, client_secret = f"{tenant_id}-client", f"rmm-{secrets.token_hex(8)}"
        password = f"revio-{secrets.token_hex(8)}"
        async with httpx.AsyncClient(timeout=60) as control:
            answer = await control.post(
                f"{self.revio_url}/_sandbox/accounts",
                json={"client_code": client_code, "password": password, "seed": seed,
                      "size": size},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text
            answer = await control.post(
                f"{self.rmm_url}/_sandbox/accounts",
                json={"client_id": client_id, "client_secret": client_secret, "seed": seed,
                      "size": size},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text
        tenant = Tenant(
            id=tenant_id,
            name=f"MSP {tenant_id}",
            rmm=RmmConnection(
                base_url=self.rmm_url, client_id=client_id,
                client_secret=SecretStr(client_secret),
            ),
            revio=RevioConnection(
                base_url=f"{self.revio_url}/v1", username="integration",
                client_code=client_code, password=SecretStr(password),
            ),
            settings=SyncSettings(),
        )  # fmt: skip
        board, source = await first_board_and_source(tenant)
        defaults: dict[str, Any] = {
            "create_mode": True,
            "rmm_to_revio_sync": False,
            "asset_sync_enabled": True,
            "endpoint_categories": ["platform", "network"],
            "asset_type": "RMM Endpoint",
            "write_revio_id_to_rmm": True,
            "sync_alerts": True,
            "min_alert_severity": "High",
            "sync_manual_tickets": True,
            "auto_close_on_alert_clear": True,
            "revio_to_rmm_tickets": True,
            "default_service_board": board,
            "default_ticket_source": source,
            "alert_ticket_type": "RMM Alert",
        }
        tenant = tenant.model_copy(update={"settings": SyncSettings(**(defaults | settings))})
        found = E2ETenant(self, tenant, client_secret, password)
        await found.save(tenant)
        return found


@dataclass
class E2ETenant:
    stack: E2EStack
    tenant: Tenant
    rmm_secret: str
    revio_password: str
    _rmm_token: str | None = None
    _console_token: str | None = None

    @property
    def id(self) -> str:
        return self.tenant.id

    async def save(self, tenant: Tenant) -> None:
        self.tenant = tenant
        pool = await create_pool(self.stack.database_url, max_size=1)
        try:
            await TenantStore(pool, SecretBox(self.stack.secret_key)).save(tenant, actor="e2e")
        finally:
            await pool.close()

    async def update_settings(self, **changes: Any) -> None:
        settings = self.tenant.settings.model_copy(update=changes)
        await self.save(self.tenant.model_copy(update={"settings": settings}))

    async def set_enabled(self, enabled: bool) -> None:
        """Disable or enable the tenant as an operator does, through the console API."""
        await self.console("POST", f"/api/tenants/{self.id}/{'enable' if enabled else 'disable'}")
        self.tenant = self.tenant.model_copy(update={"enabled": enabled})

    # -- console (as the operator) -----------------------------------------------------------

    async def console(self, method: str, path: str, **kwargs: Any) -> Any:
        """A console API call as the admin. The token is kept for the next calls (a login
        hashes the password: logging in at every poll cost the console most of its CPU in a
        benchmark), and asked for again when the console no longer takes it."""
        params = {"tenant": self.id, **kwargs.pop("params", {})}
        async with httpx.AsyncClient(base_url=self.stack.console_url, timeout=30) as client:
            for fresh in (self._console_token is None, True):
                if fresh:
                    login = {"username": ADMIN[0], "password": ADMIN[1]}
                    issued = (await client.post("/api/auth/token", json=login)).raise_for_status()
                    self._console_token = issued.json()["token"]
                headers = {"Authorization": f"Bearer {self._console_token}"}
                answer = await client.request(method, path, params=params, headers=headers,
                                              **kwargs)  # fmt: skip
                if answer.status_code != 401 or fresh:
                    break
            answer.raise_for_status()
            return answer.json() if answer.content else None

    async def initial_sync(self, within_s: float = 120.0) -> dict[str, Any]:
        run = await self.console("POST", "/api/sync-runs", json={"kind": "initial"})

        async def done() -> dict[str, Any] | None:
            progress = await self.console("GET", f"/api/sync-runs/{run['id']}")
            assert progress["phase"] not in ("failed", "cancelled"), progress
            return progress if progress["phase"] == "done" else None

        result: dict[str, Any] = await eventually(done, within_s=within_s, every_s=0.5)
        return result

    async def links(self) -> dict[str, str]:
        """RMM company id -> Rev.io customer id of every linked pair, from the console."""
        answer = await self.console("GET", "/api/mappings", params={"state": "linked"})
        items = answer["items"] if isinstance(answer, dict) else answer
        return {str(m["rmm_company_id"]): str(m["revio_customer_id"]) for m in items}

    async def linked_endpoints(
        self, categories: tuple[str, ...] = ("platform",)
    ) -> list[tuple[dict[str, Any], str]]:
        """Endpoints of companies linked to a Rev.io customer, each with the customer's id."""
        links = await self.links()
        return [
            (endpoint, links[str(endpoint["companyID"])])
            for category in categories
            for endpoint in await self.endpoints(category)
            if str(endpoint["companyID"]) in links
        ]

    async def audit(self, event_type: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if event_type:
            params["type"] = event_type
        answer = await self.console("GET", "/api/audit", params=params)
        items: list[dict[str, Any]] = answer["items"] if isinstance(answer, dict) else answer
        return items

    # -- the RMM API, as an integrator -------------------------------------------------------

    async def rmm(self, method: str, path: str, **kwargs: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.stack.rmm_url, timeout=30) as client:
            if self._rmm_token is None:
                self._rmm_token = (await client.post("/v1/token", json={
                    "grant_type": "client_credentials", "client_id": self.tenant.rmm.client_id,
                    "client_secret": self.rmm_secret,
                })).raise_for_status().json()["access_token"]  # fmt: skip
            answer = await client.request(
                method, path, headers={"Authorization": f"Bearer {self._rmm_token}"}, **kwargs
            )
            answer.raise_for_status()
            return answer.json() if answer.content else None

    async def rmm_companies(self) -> list[dict[str, Any]]:
        companies: list[dict[str, Any]] = await self.rmm(
            "GET", "/api/platform/v1/company/companies", params={"limit": 1000}
        )
        return companies

    async def endpoints(self, category: str = "platform") -> list[dict[str, Any]]:
        """Every endpoint of `category`, each with its companyID and siteID."""
        answer = await self.rmm(
            "POST", f"/api/platform/v2/device/categories/{category}/endpoints",
            params={"limit": 500}, json={"resourceType": "company", "resources": []},
        )  # fmt: skip
        return [
            {**endpoint, "companyID": group["companyID"], "siteID": group["siteID"]}
            for group in answer.get(category) or []
            for endpoint in group["endpoints"]
        ]

    async def alert(
        self, endpoint: dict[str, Any], condition: str, severity: str = "High",
        summary: str = "Disk C: is 97% full", clear: bool = False,
    ) -> None:  # fmt: skip
        item = {
            "company_id": endpoint["companyID"],
            "site_id": endpoint["siteID"],
            "endpoint_id": endpoint["endpointID"],
            "condition_id": condition,
            "alertDetails": {"severity": severity, "summary": summary,
                             "description": f"{summary} (e2e)"},
        }  # fmt: skip
        await self.rmm("DELETE" if clear else "POST", "/v2/alerts", json=[item])

    # -- Rev.io, as a person in its UI -------------------------------------------------------

    async def revio(self, method: str, path: str, **kwargs: Any) -> Any:
        auth = (f"integration@{self.tenant.revio.client_code}", self.revio_password)
        async with httpx.AsyncClient(
            base_url=f"{self.stack.revio_url}/v1", auth=auth, timeout=30
        ) as client:
            answer = await client.request(method, path, **kwargs)
            answer.raise_for_status()
            return answer.json() if answer.content else None

    async def revio_all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every record of a Rev.io listing, page by page."""
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = await self.revio("GET", path, params={**params, "search.page": page,
                                                           "search.page_size": 500})  # fmt: skip
            records.extend(answer["records"])
            if not answer.get("has_more"):
                return records
            page += 1

    # -- the sandboxes' request logs ---------------------------------------------------------

    async def vendor_calls(self, system: str, path_prefix: str | None = None) -> dict[str, int]:
        """Requests this tenant's account made to one sandbox, by `METHOD template`."""
        url = self.stack.rmm_url if system == "rmm" else self.stack.revio_url
        account = self.tenant.rmm.client_id if system == "rmm" else self.tenant.revio.client_code
        params = {"account": account, **({"path_prefix": path_prefix} if path_prefix else {})}
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(f"{url}/_sandbox/requests", params=params)
            answer.raise_for_status()
            counts: dict[str, int] = answer.json()["counts"]
            return counts


async def connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url)
