"""`TenantSlots`: a tenant's bound, and its line of messages waiting for a slot."""

import pytest
from revsync.messaging import TenantSlots


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
