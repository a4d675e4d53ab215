"""The Rev.io connector process: command subscribers, tenant watchers, the HTTP server.

connector = Connector(RevioConnectorSettings())
await connector.start()     # broker consuming commands, one watcher task per tenant
...
await connector.stop()      # broker first (in-flight commands finish or come back)
"""

import asyncio
import os
import socket
import uuid

import asyncpg
import nats
from nats.aio.client import Client as NatsClient
from prometheus_client import CollectorRegistry
from revsync.connector import CommandExecutor
from revsync.contracts import Subjects
from revsync.contracts import revio as contracts
from revsync.db import create_pool
from revsync.eventlog.migrate import apply_migrations
from revsync.logs import get_logger
from revsync.messaging import (
    DeliveryPolicy,
    TenantSlots,
    durable_subscriber,
    ensure_streams,
    make_broker,
)
from revsync.secrets_box import SecretBox
from revsync.tenant_store import TenantStore

from services.revio_connector.commands import RevioCommands
from services.revio_connector.registry import TenantRegistry
from services.revio_connector.settings import RevioConnectorSettings
from services.revio_connector.web import Server, http_app, server
from services.revio_connector.webhooks import WebhookReceiver

log = get_logger(__name__)
SERVICE = "revio-connector"


HANDLERS: dict[type[contracts.RevioCommand], str] = {
    contracts.CreateRevioCustomer: "create_customer",
    contracts.UpdateRevioCustomer: "update_customer",
    contracts.UpsertRevioAsset: "upsert_asset",
    contracts.CreateRevioTicket: "create_ticket",
    contracts.UpdateRevioTicket: "update_ticket",
    contracts.AddRevioJournalEntry: "add_journal",
    contracts.ListRevioEverything: "list_everything",
}


class Connector:
    def __init__(
        self,
        settings: RevioConnectorSettings,
        metrics: CollectorRegistry | None = None,
        watch: bool = True,
    ) -> None:
        self.settings, self.metrics, self.watch = settings, metrics, watch
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.http: Server | None = None
        self._reload: asyncio.Task[None] | None = None
        self._serving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        settings = self.settings
        # handlers hold a connection for their transaction; the limiter has its own pool so
        # that a handler waiting for a vendor slot never waits for a connection too
        size = settings.db_pool_max + len(HANDLERS) * settings.revio_command_workers
        self.pool = await create_pool(settings.database_url, max_size=size)
        async with self.pool.acquire() as conn:
            await apply_migrations(conn)
        self.limiter_pool = await create_pool(settings.database_url, max_size=4)
        self.nats: NatsClient = await nats.connect(settings.nats_url, name=SERVICE)
        js = self.nats.jetstream()
        await ensure_streams(js, settings.duplicate_window_s, settings.stream_replicas)
        secret_key = settings.revsync_secret_key
        box = SecretBox(secret_key.get_secret_value() if secret_key else None)
        store = TenantStore(self.pool, box)
        self.registry = TenantRegistry(
            settings, store, self.pool, self.limiter_pool, js, self.holder, self.watch
        )
        self.commands = RevioCommands(self.registry, CommandExecutor(self.pool, SERVICE))
        self.broker = make_broker(settings.nats_url, metrics=self.metrics, app_name=SERVICE)
        self._subscribe()
        await self.registry.refresh()
        await self.broker.start()
        self._reload = asyncio.create_task(self.registry.run())
        self.receiver = WebhookReceiver(self.registry, box)
        if settings.revio_connector_port:
            self.http = server(http_app(self.receiver, self.checks), settings.revio_connector_port)
            self._serving = asyncio.create_task(self.http.serve())
        log.info("revio connector started", holder=self.holder)

    def _subscribe(self) -> None:
        settings = self.settings
        # one bound per tenant across every kind of command: its Rev.io limit is shared too
        slots = TenantSlots(settings.revio_tenant_max_in_flight, f"{SERVICE}-commands")
        for model, handler in HANDLERS.items():
            listing = model is contracts.ListRevioEverything
            policy = DeliveryPolicy(
                max_deliver=settings.max_deliver,
                ack_wait_s=settings.revio_listing_ack_wait_s
                if listing
                else settings.revio_command_ack_wait_s,
            )
            durable_subscriber(
                self.broker,
                service=SERVICE,
                name=f"{model.entity}-{model.verb}".replace("_", "-"),
                subject=Subjects.filter(
                    "cmd", system="revio", entity=model.entity, last=model.verb
                ),
                model=model,
                handler=getattr(self.commands, handler),
                policy=policy,
                workers=1 if listing else settings.revio_command_workers,
                slots=None if listing else slots,
                answer_dead_letters=True,  # the issuer decides on it instead of waiting
            )

    async def checks(self) -> dict[str, bool]:
        results = {"nats": self.nats.is_connected, "broker": bool(self.broker.running)}
        try:
            await self.pool.fetchval("SELECT 1")
            results["database"] = True
        except (OSError, asyncpg.PostgresError):
            results["database"] = False
        return results

    async def stop(self) -> None:
        await self.broker.stop()  # first: in-flight commands finish or are redelivered
        if self._reload is not None:
            self._reload.cancel()
            await asyncio.gather(self._reload, return_exceptions=True)
        await self.registry.close()  # watchers stop and give their leases back
        if self.http is not None and self._serving is not None:
            self.http.should_exit = True
            await self._serving
        await self.receiver.aclose()
        await self.nats.drain()
        await self.limiter_pool.close()
        await self.pool.close()
