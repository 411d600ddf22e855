"""Periods and site timezones: Matomo's offset names and the messages of `DateRange.parse`."""

from __future__ import annotations

import datetime as dt

import pytest

from matomo_client import DateRange
from matomo_client._core.periods import site_tz


@pytest.mark.parametrize(
    ("name", "minutes"),
    [
        ("UTC+5.5", 330),
        ("UTC-3.5", -210),
        ("UTC+5.75", 345),
        ("UTC+12.75", 765),
        ("UTC+14", 840),
        ("UTC-12", -720),
        ("UTC+5:30", 330),
        ("UTC-9:30", -570),
    ],
)
def test_site_tz_offsets(name: str, minutes: int) -> None:
    """Matomo's `UTC+5.5` counts hours; `UTC+5:30` counts minutes (it read as 5:18)."""
    assert site_tz(name).utcoffset(None) == dt.timedelta(minutes=minutes)


def test_site_tz_refuses_minutes_past_the_hour() -> None:
    """`UTC+5:75` is no offset."""
    with pytest.raises(ValueError, match="unknown site timezone"):
        site_tz("UTC+5:75")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1990-01-01,2024-01-01", "range start 1990-01-01 is before 1991-08-06"),
        ("2024-01-01,1990-01-01", "range end 1990-01-01 is before 1991-08-06"),
        ("2024-02-01,2024-01-01", "before its start"),
        ("2024-01-01,now", "must be YYYY-MM-DD, today or yesterday"),
    ],
)
def test_parse_names_what_is_wrong(text: str, message: str) -> None:
    """A start before 1991-08-06 was reported as a malformed end ('must be YYYY-MM-DD')."""
    with pytest.raises(ValueError, match=message):
        DateRange.parse(text)
