"""`python -m services.sandbox.raise_alert`: without `--summary`, an alert says what its
condition is, so the Rev.io ticket's title matches its "Alert condition:" line."""

from services.sandbox.common.seed_words import ALERT_CONDITIONS
from services.sandbox.raise_alert import alert_summary


def test_a_known_condition_gets_the_seeds_summary_for_that_host() -> None:
    assert alert_summary("cpu-high", "WS-0042") == "CPU above 95% for 15 minutes on WS-0042"
    assert alert_summary("agent-offline", "SRV-0001") == "Agent offline: SRV-0001"


def test_any_other_condition_is_named_in_its_summary() -> None:
    assert alert_summary("fan-failure", "WS-0042") == "fan-failure on WS-0042"


def test_every_seed_condition_has_a_summary_naming_the_host() -> None:
    for condition, _ in ALERT_CONDITIONS:
        assert "WS-7" in alert_summary(condition, "WS-7")
