"""In-memory log of every vendor request a sandbox answered, for tests and benchmarks."""

from collections import Counter
from dataclasses import dataclass
from typing import Literal

CountKey = Literal["template", "path", "status"]
"""What calls are counted by: "METHOD template", "METHOD path", or the answer's status."""


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    account: str | None
    method: str
    path: str
    template: str | None
    status: int
    at: float

    def key(self, by: CountKey = "template") -> str:
        if by == "status":
            return str(self.status)
        shown = self.template if by == "template" and self.template else self.path
        return f"{self.method} {shown}"


class RequestLog:
    """Append-only list of requests; filters by account and by concrete path prefix."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []

    def record(self, entry: LoggedRequest) -> None:
        self._entries.append(entry)

    def entries(
        self, account: str | None = None, path_prefix: str | None = None
    ) -> list[LoggedRequest]:
        return [
            e
            for e in self._entries
            if (account is None or e.account == account)
            and (path_prefix is None or e.path.startswith(path_prefix))
        ]

    def counts(
        self, account: str | None = None, path_prefix: str | None = None, by: CountKey = "template"
    ) -> dict[str, int]:
        """Calls per "METHOD path", the path being the route template where one matched;
        with `by="status"`, calls per answered status ("429", "0" for a dropped connection)."""
        return dict(Counter(e.key(by) for e in self.entries(account, path_prefix)))

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
