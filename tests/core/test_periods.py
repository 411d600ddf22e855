"""Dates, periods, ranges and limits (SPEC 2.3): only what Matomo accepts can be built."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matomo_client import Date, DateRange, Limit, Period, RangeEnd

JAN31 = dt.date(2024, 1, 31)


def test_relative_dates() -> None:
    """Date.TODAY and Date.YESTERDAY render as Matomo's keywords."""
    assert Date.TODAY.to_param() == "today"
    assert Date.YESTERDAY.to_param() == "yesterday"
    assert Date("today") == Date.TODAY
    assert hash(Date("yesterday")) == hash(Date.YESTERDAY)
    assert repr(Date.TODAY) == "Date.TODAY"


@pytest.mark.parametrize("keyword", ["now", "last week", "Today", "", "yesterdaySameTime"])
def test_other_relative_dates_are_refused(keyword: str) -> None:
    """Only today and yesterday are relative dates; other keywords are a ValueError."""
    with pytest.raises(ValueError, match="relative date"):
        Date(keyword)


@pytest.mark.parametrize(
    ("period", "params"),
    [
        (Period.day(JAN31), {"period": "day", "date": "2024-01-31"}),
        (Period.week(JAN31), {"period": "week", "date": "2024-01-31"}),
        (Period.month(JAN31), {"period": "month", "date": "2024-01-31"}),
        (Period.year(JAN31), {"period": "year", "date": "2024-01-31"}),
        (Period.day(Date.TODAY), {"period": "day", "date": "today"}),
        (Period.month(Date.YESTERDAY), {"period": "month", "date": "yesterday"}),
        (Period.day(dt.datetime(2024, 1, 31, 23, 59)), {"period": "day", "date": "2024-01-31"}),
        (Period.range(DateRange.last(7)), {"period": "range", "date": "last7"}),
        (Period.range(DateRange.previous(30)), {"period": "range", "date": "previous30"}),
        (
            Period.range(DateRange.ymd((2024, 1, 1), (2024, 6, 30))),
            {"period": "range", "date": "2024-01-01,2024-06-30"},
        ),
        (
            Period.range(DateRange.between(dt.date(2024, 1, 1), RangeEnd.TODAY)),
            {"period": "range", "date": "2024-01-01,today"},
        ),
        (
            Period.range(DateRange.between(dt.date(2024, 1, 1), RangeEnd.YESTERDAY)),
            {"period": "range", "date": "2024-01-01,yesterday"},
        ),
        (
            Period.range(DateRange.between(dt.date(2024, 1, 1), dt.date(2024, 1, 1))),
            {"period": "range", "date": "2024-01-01,2024-01-01"},
        ),
        (Period.day(dt.date(1991, 8, 6)), {"period": "day", "date": "1991-08-06"}),
    ],
)
def test_period_params(period: Period, params: dict[str, str]) -> None:
    """Each constructor renders exactly the period and date Matomo expects."""
    assert period.to_params() == params


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Period.day(DateRange.last(7)), "one date"),
        (lambda: Period.range(JAN31), "DateRange"),
        (lambda: Period.range(Date.TODAY), "DateRange"),
        (lambda: Period("fortnight", JAN31), "unknown period"),
        (lambda: Period("range", JAN31), "DateRange"),
        (lambda: Period.day("2024-01-31"), "datetime.date"),
        (lambda: Period.month(20240131), "datetime.date"),
        (lambda: Period.day(dt.date(1991, 8, 5)), "1991-08-06"),
        (lambda: DateRange.last(0), "at least 1"),
        (lambda: DateRange.previous(-3), "at least 1"),
        (lambda: DateRange.last(True), "whole number"),
        (lambda: DateRange.last(1.5), "whole number"),
        (lambda: DateRange.last(1826), "1825"),
        (lambda: DateRange.ymd((2024, 6, 30), (2024, 1, 1)), "before its start"),
        (lambda: DateRange.ymd((2024, 13, 1), (2024, 12, 1)), "invalid date"),
        (lambda: DateRange.ymd((2024, 2, 30), (2024, 3, 1)), "invalid date"),
        (lambda: DateRange.between(dt.date(2024, 2, 1), dt.date(2024, 1, 31)), "before"),
        (lambda: DateRange.between(Date.TODAY, RangeEnd.TODAY), "keyword"),
        (lambda: DateRange.between(dt.date(2024, 1, 1), "today"), "datetime.date"),
        (lambda: DateRange.between(dt.date(1990, 1, 1), RangeEnd.TODAY), "1991-08-06"),
        (lambda: DateRange("lastN", 7), "unknown DateRange kind"),
        (lambda: DateRange("last", 7, start=JAN31), "takes a count"),
        (lambda: DateRange("span"), "start and an end"),
        (lambda: Limit(0), "at least 1"),
        (lambda: Limit(-1), "at least 1"),
        (lambda: Limit(True), "whole number"),
        (lambda: Limit(2.0), "whole number"),
        (lambda: Limit("10"), "whole number"),
        (lambda: Limit(1_000_001), "at most"),
        (lambda: Limit(10**18), "at most"),
    ],
)
def test_invalid_values_fail_at_construction(build: Any, message: str) -> None:
    """Every combination Matomo would reject is a ValueError when built, never a request."""
    with pytest.raises(ValueError, match=message):
        build()


def test_keyword_start_text_is_refused() -> None:
    """Matomo's own text `last7,today` (a keyword start) is not a date range."""
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        DateRange.parse("last7,today")


@pytest.mark.parametrize(
    "text",
    ["last7", "previous30", "2024-01-01,2024-06-30", "2024-01-01,today", "2024-01-01,yesterday"],
)
def test_range_text_round_trip(text: str) -> None:
    """DateRange.parse reads back what to_param writes."""
    assert DateRange.parse(text).to_param() == text


@pytest.mark.parametrize("text", ["", "7", "lastweek", "2024-01-01", "2024-01-01,soon", "x,y"])
def test_bad_range_text(text: str) -> None:
    """Text that is not lastN, previousN or START,END is a ValueError."""
    with pytest.raises(ValueError, match=r"range|YYYY"):
        DateRange.parse(text)


def test_limit_bounds() -> None:
    """Limit takes 1 to 1,000,000 and converts to int."""
    assert Limit(1).n == 1
    assert int(Limit(1_000_000)) == 1_000_000


def test_range_resolution() -> None:
    """resolve() gives the first and last day, given the site's today."""
    today = dt.date(2024, 3, 10)
    assert DateRange.last(7).resolve(today) == (dt.date(2024, 3, 4), today)
    assert DateRange.previous(7).resolve(today) == (dt.date(2024, 3, 3), dt.date(2024, 3, 9))
    start = dt.date(2024, 3, 1)
    assert DateRange.between(start, RangeEnd.TODAY).resolve(today) == (start, today)
    assert DateRange.between(start, RangeEnd.YESTERDAY).resolve(today) == (
        start,
        dt.date(2024, 3, 9),
    )


def test_values_are_immutable_and_hashable() -> None:
    """Periods, ranges and limits are frozen values usable as dict keys."""
    period = Period.day(JAN31)
    with pytest.raises(dataclasses.FrozenInstanceError):
        period.unit = "week"  # type: ignore[misc]
    assert {Period.day(JAN31): 1}[Period.day(JAN31)] == 1
    assert {DateRange.last(7), DateRange.last(7), Limit(3), Limit(3)} == {
        DateRange.last(7),
        Limit(3),
    }


def test_repr_shows_matomo_text() -> None:
    """The repr of a period or range shows Matomo's parameter text."""
    assert repr(Period.day(JAN31)) == "Period(day, 2024-01-31)"
    assert repr(DateRange.last(7)) == "DateRange('last7')"


_dates = st.dates(min_value=dt.date(1991, 8, 6), max_value=dt.date(2200, 12, 31))
_relative = st.sampled_from([Date.TODAY, Date.YESTERDAY])
_ranges = st.one_of(
    st.builds(DateRange.last, st.integers(1, 1825)),
    st.builds(DateRange.previous, st.integers(1, 1825)),
    st.builds(
        lambda a, n: DateRange.between(a, a + dt.timedelta(days=n)), _dates, st.integers(0, 5000)
    ),
    st.builds(DateRange.between, _dates, st.sampled_from(list(RangeEnd))),
)
_periods = st.one_of(
    st.builds(Period.day, st.one_of(_dates, _relative)),
    st.builds(Period.week, st.one_of(_dates, _relative)),
    st.builds(Period.month, st.one_of(_dates, _relative)),
    st.builds(Period.year, st.one_of(_dates, _relative)),
    st.builds(Period.range, _ranges),
)


@given(_periods)
def test_period_json_round_trip(period: Period) -> None:
    """Any period survives to_json/from_json unchanged."""
    back = Period.from_json(period.to_json())
    assert back == period
    assert back.to_params() == period.to_params()


@given(_ranges)
def test_range_parse_round_trip(date_range: DateRange) -> None:
    """Any range survives to_param/parse unchanged."""
    assert DateRange.parse(date_range.to_param()) == date_range


TODAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("period", "pinned"),
    [
        (Period.day(Date.YESTERDAY), Period.day(dt.date(2026, 2, 28))),
        (Period.day(Date.TODAY), Period.day(TODAY)),
        (Period.week(Date.TODAY), Period.week(TODAY)),
        (Period.month(Date.YESTERDAY), Period.month(dt.date(2026, 2, 28))),
        (Period.range(DateRange.last(7)), Period.range(DateRange.ymd((2026, 2, 23), (2026, 3, 1)))),
        (
            Period.range(DateRange.previous(2)),
            Period.range(DateRange.ymd((2026, 2, 27), (2026, 2, 28))),
        ),
        (
            Period.range(DateRange.between(dt.date(2026, 1, 1), RangeEnd.TODAY)),
            Period.range(DateRange.ymd((2026, 1, 1), (2026, 3, 1))),
        ),
        (
            Period.range(DateRange.between(dt.date(2026, 1, 1), RangeEnd.YESTERDAY)),
            Period.range(DateRange.ymd((2026, 1, 1), (2026, 2, 28))),
        ),
    ],
    ids=repr,
)
def test_relative_periods_pin_to_calendar_dates(period: Period, pinned: Period) -> None:
    """Each relative period becomes the calendar dates it means on the site's `today`."""
    assert period.is_relative
    assert period.pinned(TODAY) == pinned
    assert not pinned.is_relative


@pytest.mark.parametrize(
    "period",
    [Period.day(dt.date(2026, 1, 5)), Period.range(DateRange.ymd((2026, 1, 1), (2026, 1, 9)))],
    ids=repr,
)
def test_calendar_periods_are_not_relative(period: Period) -> None:
    """A period of calendar dates is already pinned: `pinned` returns it as it is."""
    assert not period.is_relative
    assert period.pinned(TODAY) is period
