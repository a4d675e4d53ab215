"""What every command handler shares: idempotent creates and recording what we wrote.

`create_marked` looks for the object by the marker its create writes before each attempt
(and after a response that could not be read), so neither a retry nor a crash between the
vendor call and the recorded result ever creates an object twice.

`record` stores the hash of the object as it is after our write, in the command's
transaction, so the watchers do not report our own write back as a foreign change.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg
from pydantic import BaseModel
from revsync.connector import content_hash
from revsync.logs import get_logger
from revsync.vendor import VendorError, VendorErrorKind

from services.cwrmm_connector.tenants import TenantHandle
from services.cwrmm_connector.translate import Untranslatable

log = get_logger(__name__)
Doc = dict[str, Any]
CREATE_ATTEMPTS = 4


def reject(what: str, message: str) -> VendorError:
    return VendorError(VendorErrorKind.REJECTED, "cwrmm", what, message)


def not_found(what: str, message: str) -> VendorError:
    return VendorError(VendorErrorKind.NOT_FOUND, "cwrmm", what, message)


async def create_marked(
    what: str,
    find: Callable[[], Awaitable[Doc | None]],
    post: Callable[[], Awaitable[Doc | None]],
) -> tuple[Doc, bool]:
    """(the object, whether we created it): found by its marker, or created once."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        found = await find()
        if found is not None:
            return found, False
        try:
            created = await post()
        except VendorError as error:
            if not error.transient or attempt == CREATE_ATTEMPTS:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
            continue
        if created is not None:
            return created, True
    raise VendorError(
        VendorErrorKind.UNAVAILABLE, "cwrmm", what, "created, but not found by its marker yet"
    )


async def record(
    handle: TenantHandle, key: str, object_id: str, model: BaseModel, conn: asyncpg.Connection
) -> None:
    await handle.hashes(key).put(object_id, content_hash(model), conn)


@contextlib.contextmanager
def written_anyway(handle: TenantHandle, what: str, object_id: str) -> Iterator[None]:
    """Around reading back what we wrote: the write is done, so an object we cannot translate
    fails neither the command nor its result (the watcher will report and log it too)."""
    try:
        yield
    except Untranslatable as error:
        log.error(
            "written to RMM, but the result cannot be translated; its echo is not suppressed",
            tenant_id=handle.id,
            what=what,
            object_id=object_id,
            error=str(error),
            payload=error.payload,
        )


def object_id(doc: Doc, what: str, key: str = "id") -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise VendorError(
            VendorErrorKind.INVALID_RESPONSE, "cwrmm", what, f"no {key} in response", None,
            repr(doc),
        )  # fmt: skip
    return value
