"""`TenantSlots`: a tenant's bound, and its line of messages waiting for a slot."""

import pytest
from revsync.messaging import TenantSlots
from revsync.messaging.fairness import deferral_delay


def test_a_released_slot_goes_to_the_first_in_line_of_that_tenant_only():
    slots = TenantSlots(limit=2, name="unit-slots", line_most=2)
    started: list[str] = []
    assert slots.try_acquire("a") and slots.try_acquire("a")
    assert not slots.try_acquire("a")
    assert slots.wait_for_slot("a", lambda: started.append("a1"))
    assert slots.wait_for_slot("a", lambda: started.append("a2"))
    assert not slots.wait_for_slot("a", lambda: started.append("a3")), "its line is full"
    assert slots.try_acquire("b"), "another tenant is not held up"

    slots.release("b")
    assert started == []
    slots.release("a")
    assert started == ["a1"] and slots.in_flight("a") == 2 and slots.waiting("a") == 1
    slots.release("a")
    assert started == ["a1", "a2"] and slots.waiting("a") == 0
    slots.release("a")
    slots.release("a")
    assert slots.in_flight("a") == 0 and slots.try_acquire("a")


def test_a_line_of_zero_queues_nothing_and_bad_bounds_are_refused():
    slots = TenantSlots(limit=1, name="unit-slots-0", line_most=0)
    assert slots.try_acquire("a")
    assert not slots.wait_for_slot("a", lambda: None)
    assert slots.waiting("a") == 0
    with pytest.raises(ValueError, match="at least 1"):
        TenantSlots(limit=0, name="x")
    with pytest.raises(ValueError, match="negative"):
        TenantSlots(limit=1, name="x", line_most=-1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def full_line(name: str, line_most: int) -> tuple[Clock, TenantSlots]:
    """Slots of one message per tenant, tenant "a" holding it with a full line behind."""
    clock = Clock()
    slots = TenantSlots(limit=1, name=name, line_most=line_most, clock=clock)
    assert slots.try_acquire("a")
    for _ in range(line_most):
        assert slots.wait_for_slot("a", lambda: None)
    return clock, slots


def test_a_tenants_pace_is_how_fast_its_messages_finished_lately():
    clock, slots = full_line("unit-slots-pace", 10)
    assert slots.pace_s("a") is None and slots.come_back_in_s("a") is None, "no pace yet"
    for _ in range(5):  # one message finished every 0.5 s
        clock.now += 0.5
        slots.release("a")
    assert slots.waiting("a") == 5
    assert slots.pace_s("a") == pytest.approx(0.5)
    assert slots.pace_s("b") is None, "another tenant has finished nothing"

    clock.now += 120.0  # idle for two minutes: that pace is no longer known
    assert slots.pace_s("a") is None


def test_a_turned_away_message_comes_back_when_those_ahead_of_it_have_about_run():
    clock, slots = full_line("unit-slots-back", 4)
    for _ in range(3):  # one finished every second; one left in line
        clock.now += 1.0
        slots.release("a")
        assert slots.wait_for_slot("a", lambda: None)
    assert slots.waiting("a") == 4 and slots.pace_s("a") == pytest.approx(1.0)
    # the line is full: the first turned away comes back when half of the line has run
    assert slots.come_back_in_s("a") == pytest.approx(2.0)
    slots.deferred("a", 2.0)
    slots.deferred("a", 3.0)
    # the next one also waits for the two turned away before it
    assert slots.turned_away("a") == 2
    assert slots.come_back_in_s("a") == pytest.approx(4.0)
    assert slots.turned_away("b") == 0 and slots.come_back_in_s("b") is None
    clock.now += 2.5  # the first is back (it rejoined the line or was turned away again)
    assert slots.turned_away("a") == 1
    clock.now += 1.0
    assert slots.turned_away("a") == 0


def test_a_deferral_waits_for_its_turn_within_bounds():
    # without a pace: doubling from `first_s`, at most `most_s` (jitter 0.75-1.25)
    assert 0.75 <= deferral_delay(1, 1.0, 15.0) <= 1.25
    assert 11.25 <= deferral_delay(9, 1.0, 15.0) <= 18.75
    # its turn is near in 40 s: it comes back then
    assert 30.0 <= deferral_delay(1, 1.0, 15.0, come_back_s=40.0) <= 50.0
    # ... never later than `longest_s`, never sooner than its own doubling
    assert 450.0 <= deferral_delay(1, 1.0, 15.0, come_back_s=5000.0, longest_s=600.0) <= 750.0
    assert 11.25 <= deferral_delay(9, 1.0, 15.0, come_back_s=2.0) <= 18.75
