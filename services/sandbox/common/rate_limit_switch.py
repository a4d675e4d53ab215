"""On/off switch for a sandbox's vendor rate limiting (benchmarks turn it off)."""


class RateLimitSwitch:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def set(self, enabled: bool) -> None:
        self.enabled = enabled
