"""RecordedEvent converts what the log hands it (JSON text, epoch seconds) only when used."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import orjson
import pytest
from revsync.eventlog import Position, RecordedEvent


def recorded(**changes: object) -> RecordedEvent:
    fields: dict[str, object] = {
        "global_position": 7,
        "tenant_id": "t1",
        "stream": "asset:1",
        "version": 2,
        "type": "AssetObserved",
        "data": '{"hostname": "WS-1", "tags": ["a"]}',
        "metadata": "{}",
        "id": uuid4(),
        "recorded_at": 1_795_891_079.934595,
        "tx_id": 5535,
    }
    return RecordedEvent(**{**fields, **changes})  # type: ignore[arg-type]


def test_json_text_is_decoded_on_first_access_and_kept() -> None:
    event = recorded()
    assert event.data == {"hostname": "WS-1", "tags": ["a"]}
    assert event.data is event.data
    assert event.metadata == {}


def test_data_given_as_a_dict_is_used_as_is() -> None:
    data = {"n": 1}
    assert recorded(data=data).data is data


def test_equal_events_compare_equal_whatever_form_their_data_came_in() -> None:
    event = recorded()
    same = event._replace(data=orjson.loads(event._data))  # type: ignore[arg-type]
    assert same == event
    assert event != event._replace(version=3)
    with pytest.raises(TypeError):
        hash(event)


def test_epoch_seconds_give_the_recorded_microsecond() -> None:
    # the log sends date_part('epoch', recorded_at): microseconds / 1e6 as a double
    start = datetime(2000, 1, 1, tzinfo=UTC)
    for micros in (0, 1, 999_999, 123_456_789_012_345, 3_311_000_000_000_001):
        when = start + timedelta(microseconds=micros)
        epoch_micros = round((when - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
        assert recorded(recorded_at=epoch_micros / 1e6).recorded_at == when
    assert recorded(recorded_at=start).recorded_at is start


def test_position_is_the_transaction_then_the_global_position() -> None:
    assert recorded().position == Position(5535, 7)
