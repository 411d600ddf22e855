"""The pure plan of a long series: which `date=` ranges to ask for, given what each answer held."""

from __future__ import annotations

import datetime as dt

import pytest

from matomo_client import DateRange
from matomo_client._core.series import series_plan


def test_explicit_span_is_split_at_the_cap_on_period_bounds() -> None:
    """130 months from mid-month go out as 120 months, then 10, split on a month boundary."""
    plan = series_plan("month", DateRange.ymd((2010, 1, 15), (2020, 10, 3)))
    first = next(plan)
    assert first.to_param() == "2010-01-15,2019-12-31"
    second = plan.send([dt.date(2010 + i // 12, i % 12 + 1, 1) for i in range(120)])
    assert second.to_param() == "2020-01-01,2020-10-03"
    with pytest.raises(StopIteration):
        plan.send([dt.date(2020, m, 1) for m in range(1, 11)])


def test_capped_last_n_asks_for_the_older_periods_before_the_oldest_answered() -> None:
    """last15 years answered with the newest 10 asks for the 5 years before them, then stops."""
    plan = series_plan("year", DateRange.last(15))
    assert next(plan).to_param() == "last15"
    rest = plan.send([dt.date(y, 1, 1) for y in range(2017, 2027)])
    assert rest.to_param() == "2012-01-01,2016-12-31"
    with pytest.raises(StopIteration):
        plan.send([dt.date(y, 1, 1) for y in range(2012, 2017)])


def test_plan_never_asks_before_matomos_first_day() -> None:
    """Periods before 1991-08-06 (which Matomo refuses) are not asked for."""
    plan = series_plan("year", DateRange.last(40))
    next(plan)
    rest = plan.send([dt.date(y, 1, 1) for y in range(2017, 2027)])
    assert rest.to_param() == "1991-08-06,2000-12-31"


def test_unknown_unit_is_a_value_error() -> None:
    """A unit other than day, week, month or year is refused before anything is planned."""
    with pytest.raises(ValueError, match="unit"):
        series_plan("range", DateRange.last(7))  # type: ignore[arg-type]
