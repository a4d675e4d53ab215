"""`create_once`: a create that Rev.io may have done despite an error is found, not redone."""

import pytest
from revsync.vendor import VendorError, VendorErrorKind

from services.revio_connector.handlers import create_once


def failure(kind: VendorErrorKind) -> VendorError:
    return VendorError(kind, "revio", "Tickets", "boom")


class FakeRevio:
    def __init__(self, *outcomes: VendorErrorKind | None, lands: bool = True) -> None:
        self.outcomes, self.lands = list(outcomes), lands
        self.created: list[str] = []
        self.posts = 0

    async def find(self) -> str | None:
        return self.created[0] if self.created else None

    async def create(self) -> str:
        self.posts += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is None or (outcome is VendorErrorKind.UNAVAILABLE and self.lands):
            self.created.append(str(100 + len(self.created)))  # Rev.io did create it
        if outcome is not None:
            raise failure(outcome)
        return self.created[-1]


async def test_a_create_whose_answer_was_lost_is_found_not_repeated():
    revio = FakeRevio(VendorErrorKind.UNAVAILABLE)
    assert await create_once(revio.find, revio.create, settle_s=0) == "100"
    assert revio.posts == 1 and revio.created == ["100"]


async def test_a_refused_create_is_tried_again_after_looking_for_it():
    revio = FakeRevio(VendorErrorKind.RATE_LIMITED, VendorErrorKind.UNAVAILABLE, lands=False)
    assert await create_once(revio.find, revio.create, settle_s=0) == "100"
    assert revio.posts == 3 and revio.created == ["100"]


async def test_a_rejected_create_is_not_retried():
    revio = FakeRevio(VendorErrorKind.REJECTED)
    with pytest.raises(VendorError) as caught:
        await create_once(revio.find, revio.create, settle_s=0)
    assert caught.value.kind is VendorErrorKind.REJECTED and revio.posts == 1


async def test_an_unavailable_vendor_is_given_back_transient_after_a_last_look():
    revio = FakeRevio(*[VendorErrorKind.UNAVAILABLE] * 9, lands=False)
    with pytest.raises(VendorError) as caught:
        await create_once(revio.find, revio.create, settle_s=0, attempts=3)
    assert caught.value.transient and revio.posts == 3 and revio.created == []


class CountingRevio(FakeRevio):
    def __init__(self, *outcomes: VendorErrorKind | None, lands: bool = True) -> None:
        super().__init__(*outcomes, lands=lands)
        self.looks = 0

    async def find(self) -> str | None:
        self.looks += 1
        return await super().find()


async def test_a_first_try_creates_without_looking_for_its_marker():
    revio = CountingRevio()
    assert await create_once(revio.find, revio.create, settle_s=0, look_first=False) == "100"
    assert revio.looks == 0 and revio.posts == 1


async def test_a_first_try_whose_answer_was_lost_still_looks_before_trying_again():
    revio = CountingRevio(VendorErrorKind.UNAVAILABLE)
    assert await create_once(revio.find, revio.create, settle_s=0, look_first=False) == "100"
    assert revio.looks == 1 and revio.posts == 1 and revio.created == ["100"]


async def test_a_create_tried_before_looks_first_and_finds_what_the_earlier_try_made():
    revio = CountingRevio()
    revio.created.append("100")  # an earlier try created it, then its answer was lost
    assert await create_once(revio.find, revio.create, settle_s=0) == "100"
    assert revio.looks == 1 and revio.posts == 0
