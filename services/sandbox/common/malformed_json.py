"""The `malformed_json` fault: a 200 JSON response whose body no longer parses."""

from starlette.types import Message, Send


def malformed(body: bytes) -> bytes:
    """Half the body plus an unterminated string: never valid JSON."""
    return body[: len(body) // 2] + b',"'


class MalformingSend:
    """Buffers a 200 JSON response and sends it truncated into invalid JSON."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        self.chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        assert self.start is not None
        body = b"".join(self.chunks)
        headers = [(k, v) for k, v in self.start["headers"] if k.lower() != b"content-length"]
        if self.start["status"] == 200 and is_json(headers):
            body = malformed(body)
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


def is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and b"json" in v for k, v in headers)
