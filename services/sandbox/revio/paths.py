"""[doc] Rev.io paths are case-insensitive: `/v1/customers` is `/v1/Customers`.

This ASGI middleware rewrites the known segments of a `/v1/...` path to their documented
spelling before anything else sees the request, so routing, the request log and per-path
fault rules all use one spelling.
"""

from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from services.sandbox.revio.accounts import PERMISSION_RESOURCES

SPELLINGS = {name.lower(): name for name in ("v1", "SystemStatus", "activate")} | {
    name.lower(): name for name in PERMISSION_RESOURCES
}


def canonical_path(path: str) -> str:
    segments = path.split("/")
    if len(segments) < 2 or segments[1].lower() != "v1":
        return path
    return "/".join(SPELLINGS.get(segment.lower(), segment) for segment in segments)


class CanonicalPaths:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = canonical_path(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": quote(path).encode()}
        await self.app(scope, receive, send)
