"""The webhook endpoint Rev.io calls: `POST /webhooks/revio/{tenant}/{token}`.

- a request with `X-Hook-Secret` is the handshake of a registration this service started
  (the token matches a pending one): the secret is stored encrypted and echoed with 200;
- any other request is a notification `{event_id, event_type, created_date, object_id}`,
  accepted only with the right token and an `X-Hook-Signature` equal to the hex
  HMAC-SHA256 of the body under the hook secret; it triggers an immediate fetch of the
  object (in the background: Rev.io gets its 200 at once). Polling stays the backstop.
"""

import asyncio
import hashlib
import hmac
from typing import Any

import orjson
from revsync.connector import Watermarks
from revsync.logs import get_logger
from revsync.secrets_box import SecretBox
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.revio_connector.metrics import WEBHOOKS
from services.revio_connector.registry import TenantRegistry
from services.revio_connector.webhook_setup import load_state, save_state

log = get_logger(__name__)
ENTITIES = {"customer": "customer", "ticket": "ticket"}


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookReceiver:
    def __init__(self, registry: TenantRegistry, box: SecretBox) -> None:
        self.registry, self.box = registry, box
        self._tasks: set[asyncio.Task[Any]] = set()

    async def receive(self, request: Request) -> Response:
        tenant_id, token = request.path_params["tenant_id"], request.path_params["token"]
        served = await self.registry.get(tenant_id)
        watermarks = Watermarks(self.registry.pool, tenant_id, "revio")
        state = await load_state(watermarks) if served else None
        if served is None or state is None or not hmac.compare_digest(token, state.token):
            return self._answer(tenant_id, "unknown", 404)
        body = await request.body()
        secret = request.headers.get("X-Hook-Secret")
        if secret is not None:
            if state.sealed_secret is not None:
                return self._answer(tenant_id, "handshake_refused", 409)
            receiver = _json(body).get("webhook_receiver_id")
            sealed = self.box.seal(secret).decode()
            update = {"sealed_secret": sealed, "receiver_id": str(receiver) if receiver else None}
            await save_state(watermarks, state.model_copy(update=update))
            WEBHOOKS.labels(tenant_id, "handshake").inc()
            return Response(status_code=200, headers={"X-Hook-Secret": secret})
        given = request.headers.get("X-Hook-Signature", "")
        known = self.box.open(state.sealed_secret.encode()) if state.sealed_secret else None
        if known is None or not hmac.compare_digest(given, signature(known, body)):
            return self._answer(tenant_id, "bad_signature", 401)
        event = _json(body)
        entity = ENTITIES.get(str(event.get("event_type", "")).split(".")[0])
        object_id = str(event.get("object_id", ""))
        if entity is None or not object_id.isdigit():
            log.warning("Rev.io notification not understood", tenant_id=tenant_id, body=body[:500])
            return self._answer(tenant_id, "ignored", 200)
        task = asyncio.create_task(self._fetch(served.watcher, tenant_id, entity, object_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return self._answer(tenant_id, "accepted", 200)

    async def _fetch(self, watcher: Any, tenant_id: str, entity: str, object_id: str) -> None:
        try:
            await watcher.refresh(entity, object_id)
        except Exception as error:  # the next poll or reconciliation picks it up
            log.warning("fetch after a Rev.io notification failed", tenant_id=tenant_id,
                        entity=entity, object_id=object_id, error=repr(error))  # fmt: skip

    def _answer(self, tenant_id: str, outcome: str, status: int) -> Response:
        WEBHOOKS.labels(tenant_id, outcome).inc()
        return JSONResponse({"outcome": outcome}, status_code=status)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
