"""ASGI middleware: applies fault rules to vendor requests and logs every one of them.

Requests under `/_sandbox` (the control API) pass straight through, unlogged.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.sandbox.common import clock
from services.sandbox.common.faults import FaultDecision, FaultRules
from services.sandbox.common.malformed_json import MalformingSend
from services.sandbox.common.request_log import LoggedRequest, RequestLog

CONTROL_PREFIX = "/_sandbox"
DROPPED_STATUS = 0  # logged status of a request whose connection was dropped


class ConnectionDropped(Exception):
    """Raised by a `timeout` fault after its hang: the server closes the connection."""


@dataclass(frozen=True, slots=True)
class RequestInfo:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


AccountResolver = Callable[[RequestInfo], str | None]
ErrorBody = Callable[[int, str], Any]


class SandboxMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        request_log: RequestLog,
        faults: FaultRules,
        account_of: AccountResolver,
        error_body: ErrorBody,
    ) -> None:
        self.app = app
        self.request_log = request_log
        self.faults = faults
        self.account_of = account_of
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        account = self.account_of(RequestInfo(method, path, headers, body))
        decision = self.faults.decide(method, path, account)
        status = [DROPPED_STATUS]
        try:
            await self._answer(scope, _replay(body), send, decision, status)
        except ConnectionDropped:
            status[0] = DROPPED_STATUS
            raise
        except Exception:
            status[0] = status[0] or 500  # the server answers an unhandled error with a 500
            raise
        finally:
            self.request_log.record(
                LoggedRequest(account, method, path, _template(scope), status[0], clock.now())
            )

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, decision: FaultDecision, status: list[int]
    ) -> None:
        if decision.status is not None:
            status[0] = decision.status
            await self._send_error(send, decision)
            return
        if decision.delay_s:
            await asyncio.sleep(decision.delay_s)
        if decision.drop_after_s is not None:
            await asyncio.sleep(decision.drop_after_s)
            await self._drop(scope, send)
        sender = MalformingSend(send) if decision.malform_json else send

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await sender(message)

        await self.app(scope, receive, recording_send)

    @staticmethod
    async def _drop(scope: Scope, send: Send) -> None:
        """Start a response that promises a body, then fail: servers (uvicorn) close the
        connection mid-response instead of answering 500; clients see a broken response."""
        headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        raise ConnectionDropped(f"sandbox dropped {scope['method']} {scope['path']}")

    async def _send_error(self, send: Send, decision: FaultDecision) -> None:
        payload = orjson.dumps(self.error_body(decision.status or 500, decision.message))
        headers = [(b"content-type", b"application/json")]
        headers.append((b"content-length", str(len(payload)).encode()))
        if decision.retry_after_s is not None:
            headers.append((b"retry-after", str(decision.retry_after_s).encode()))
        await send({"type": "http.response.start", "status": decision.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _template(scope: Scope) -> str | None:
    """The route template that served the request, or would have (faults answer early)."""
    route = scope.get("route")
    if route is None and "app" in scope:
        matching = (r for r in scope["app"].routes if r.matches(scope)[0] == Match.FULL)
        route = next(matching, None)
    return getattr(route, "path", None)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # like a client that stays connected
        return {"type": "http.disconnect"}

    return receive
