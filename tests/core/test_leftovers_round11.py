"""Round 10's leftovers in the library's values: saved cursors, `Params.set` of dates, `ymd`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from matomo_client import Cursor, Date, DateRange, Limit, Params, Period

CURSOR = Cursor(1, Period.day(dt.date(2024, 5, 1)), Limit(10), min_timestamp=5, seen=(7,))


@pytest.mark.parametrize("version", [True, 1.0, "1", 2, None])
def test_a_saved_cursor_s_version_is_the_number_1(version: Any) -> None:
    """`"v": true` (and `1.0`) passed the version check, as `True == 1`."""
    data = json.loads(CURSOR.to_json())
    data["v"] = version
    with pytest.raises(ValueError, match=r"^not a saved Cursor: unsupported cursor version"):
        Cursor.from_json(json.dumps(data))


@pytest.mark.parametrize("key", ["id_site", "period", "limit"])
def test_a_saved_cursor_without_a_key_says_which_is_missing(key: str) -> None:
    """The message was `not a saved Cursor: 'id_site'`: the KeyError's bare text."""
    data = json.loads(CURSOR.to_json())
    del data[key]
    with pytest.raises(ValueError, match=r"^not a saved Cursor") as info:
        Cursor.from_json(json.dumps(data))
    assert str(info.value) == f"not a saved Cursor: it has no {key!r}"


def test_a_saved_cursor_still_round_trips() -> None:
    """What `to_json` writes reads back as the same cursor."""
    back = Cursor.from_json(CURSOR.to_json())
    assert back == CURSOR
    assert back.seen == (7,)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Date.TODAY, "today"),
        (Date.YESTERDAY, "yesterday"),
        (DateRange.last(7), "last7"),
        (DateRange.previous(30), "previous30"),
        (DateRange.ymd((2024, 1, 1), (2024, 1, 31)), "2024-01-01,2024-01-31"),
        (DateRange.between(dt.date(2024, 1, 1), dt.date(2024, 1, 2)), "2024-01-01,2024-01-02"),
    ],
)
def test_params_take_dates_and_ranges_as_period_writes_them(value: Any, text: str) -> None:
    """`Params().set("date", Date.TODAY)` was refused ("unsupported value type Date") while
    `Limit(5)` was taken: the library's own date values render as `date=` text."""
    assert Params().set("date", value).get("date") == text
    assert Params({"date": value}).get("date") == text
    assert Params().set("date", value).get("date") == (
        Params().period(Period.range(value) if isinstance(value, DateRange) else Period.day(value))
    ).get("date")


def test_a_period_given_to_set_points_to_period() -> None:
    """A Period is two parameters: `.set("date", Period...)` says to use `.period()`."""
    with pytest.raises(ValueError, match=r"use \.period\(\), not \.set\(\)"):
        Params().set("date", Period.day(dt.date(2024, 1, 1)))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2024, 1, 1), dt.date(2024, 1, 2)),
        ((2024, 1, 1), dt.date(2024, 1, 2)),
        (dt.datetime(2024, 1, 1), (2024, 1, 2)),
    ],
)
def test_ymd_given_dates_points_to_between(start: Any, end: Any) -> None:
    """`DateRange.ymd(date, date)` said "datetime.date() argument after * must be an iterable"."""
    with pytest.raises(ValueError, match=r"^DateRange\.ymd takes") as info:
        DateRange.ymd(start, end)
    assert "DateRange.between(start, end)" in str(info.value)
    assert "iterable" not in str(info.value)
