"""Command windows: the window a command counts in, and what a windowed unit refuses."""

from typing import ClassVar

import pytest
from revsync.command_window import CommandWindow, window_key
from revsync.contracts.base import Command, Result, ResultStatus
from revsync.unit_of_work import UnitOfWork


def test_a_command_counts_in_the_window_of_its_issuer_system_and_entity():
    assert window_key("asset", "cmd.t1.revio.asset.upsert") == "asset:revio.asset"
    assert window_key("asset", "cmd.t1.rmm.endpoint.set_custom_field") == "asset:rmm.endpoint"


@pytest.mark.parametrize("subject", ["result.t1.revio.asset.upsert", "cmd.t1.revio", ""])
def test_only_a_command_subject_has_a_window(subject: str):
    with pytest.raises(ValueError, match="not a command subject"):
        window_key("asset", subject)


@pytest.mark.parametrize(("size", "within"), [(0, 10.0), (5, 0.0)])
def test_a_window_that_could_never_send_is_refused(size: int, within: float):
    with pytest.raises(ValueError):
        CommandWindow(size, within)


def test_a_unit_with_a_window_sends_only_commands():
    class Poke(Command):
        system: ClassVar[str] = "rmm"
        entity: ClassVar[str] = "endpoint"
        verb: ClassVar[str] = "poke"

    poke = Poke(tenant_id="t1")
    uow = UnitOfWork(None, "t1", consumer="asset", window=CommandWindow())  # type: ignore[arg-type]
    uow.send(poke)
    with pytest.raises(ValueError, match="sends only commands"):
        uow.send(Result.of(poke, ResultStatus.OK))
