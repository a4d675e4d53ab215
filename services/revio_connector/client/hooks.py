"""Rev.io webhook administration: receivers (with the `X-Hook-Secret` handshake, answered by
`services.revio_connector.webhooks`) and subscriptions."""

from services.revio_connector.client.http import RevioHttp
from services.revio_connector.client.paging import all_records

EVENT_TYPES = ("customer.created", "customer.updated", "ticket.created", "ticket.updated")


class RevioHooks:
    http: RevioHttp

    async def register_receiver(self, url: str, description: str) -> str:
        """POST a receiver; Rev.io confirms it at `url` before it answers."""
        body = {"url": url, "description": description}
        return await self.http.post_once("WebhookReceivers", "WebhookReceivers", body)

    async def receiver_active(self, receiver_id: str) -> bool | None:
        """Whether the receiver is active; None when Rev.io no longer has it."""
        path = f"WebhookReceivers/{int(receiver_id)}"
        record = await self.http.get_or_none(path, "WebhookReceivers/{id}")
        return None if record is None else bool(record.get("active"))

    async def activate_receiver(self, receiver_id: str) -> None:
        path = f"WebhookReceivers/{int(receiver_id)}/activate"
        await self.http.retrying.request("POST", path, "WebhookReceivers/{id}/activate")

    async def subscribed_events(self, receiver_id: str) -> set[str]:
        params = {"search.webhook_receiver_id": receiver_id}
        found = await all_records(self.http, "WebhookSubscriptions", "WebhookSubscriptions", params)
        return {str(s.get("event_type")) for s in found}

    async def subscribe(self, receiver_id: str, event_type: str) -> None:
        body = {"webhook_receiver_id": int(receiver_id), "event_type": event_type}
        await self.http.post_once("WebhookSubscriptions", "WebhookSubscriptions", body)
