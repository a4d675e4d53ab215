"""Whether services are behind on a stream: a "quiet" rule must not read a backlog as quiet.

    if await changes_waiting(js, "CHANGES", ["company-revio-customers"]):
        ...  # something is still coming: nothing moved only because it was not read yet

A consumer that does not exist (its service is not deployed) waits for nothing.
"""

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError


async def changes_waiting(js: JetStreamContext, stream: str, consumers: list[str]) -> bool:
    """Whether any of these durable consumers has messages not yet delivered or not yet
    acknowledged (all tenants: the counts are the consumer's, not a tenant's)."""
    for consumer in consumers:
        try:
            info = await js.consumer_info(stream, consumer)
        except NotFoundError:
            continue
        if info.num_pending or info.num_ack_pending:
            return True
    return False
