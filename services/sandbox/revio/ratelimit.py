"""Rev.io's per-account quota: 500 calls a minute and 150,000 a day, then 429 + Retry-After.

[doc] "429 until the window resets": fixed windows, the minute and the UTC day of the
sandbox clock. Refused calls do not count.
"""

import math
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class RevioRateLimits:
    per_minute: int = 500
    per_day: int = 150_000


@dataclass
class CallCounter:
    """Calls one account made in the current minute and day."""

    minute: int = -1
    minute_calls: int = 0
    day: int = -1
    day_calls: int = 0

    def admit(self, limits: RevioRateLimits, at: float) -> int | None:
        """Count a call made at `at` (epoch seconds); or, over quota, the seconds to wait."""
        minute, day = int(at // 60), int(at // SECONDS_PER_DAY)
        if minute != self.minute:
            self.minute, self.minute_calls = minute, 0
        if day != self.day:
            self.day, self.day_calls = day, 0
        if self.day_calls >= limits.per_day:
            return max(1, math.ceil((day + 1) * SECONDS_PER_DAY - at))
        if self.minute_calls >= limits.per_minute:
            return max(1, math.ceil((minute + 1) * 60 - at))
        self.minute_calls += 1
        self.day_calls += 1
        return None
