"""Multi-period series past Matomo's caps: the `date=` ranges to ask for, one request each.

Matomo silently caps a multi-period request (`period=week&date=last600`, `date=A,B`) at 1825
days, 520 weeks, 120 months or 10 years, keeping the newest periods (core/Period/Range.php;
matomo-api-notes.md §5). `series_plan(unit, date_range)` is a generator that yields the
`DateRange` of each request and is sent the first days of the periods each answer held:

* an explicit span `A,B` is split up front into spans of at most the cap (one request if it fits);
* lastN, previousN, `A,today` and `A,yesterday` end at the site's today, which only the server
  knows: they are asked as given (one request when under the cap), then the older periods the
  cap left out are asked as explicit spans ending the day before the oldest period returned.

An answer to a split span that lacks its first period means the server capped it anyway: that
is a `DecodeError`, never a series with a hole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Generator, Iterator, Mapping
from types import MappingProxyType
from typing import cast

from matomo_client._core.periods import EARLIEST_DAY, DateRange, PeriodUnit, RangeEnd
from matomo_client.errors import DecodeError

__all__ = ["SERIES_CAPS", "check_unit", "period_first_day", "series_plan", "shift_period"]

# Most periods Matomo returns for one multi-period request (core/Period/Range.php, getMaxN).
SERIES_CAPS: Mapping[PeriodUnit, int] = MappingProxyType(
    {"day": 1825, "week": 520, "month": 120, "year": 10}
)
_DAY = dt.timedelta(days=1)

# Yields the range of the next request; is sent the first days of the periods it returned.
SeriesPlan = Generator[DateRange, Collection[dt.date], None]


def check_unit(unit: object) -> PeriodUnit:
    """`unit` itself if it is "day", "week", "month" or "year"; else ValueError."""
    if isinstance(unit, str) and unit in SERIES_CAPS:
        return cast("PeriodUnit", unit)
    raise ValueError(f"series unit must be day, week, month or year, not {unit!r}")


def period_first_day(unit: PeriodUnit, day: dt.date) -> dt.date:
    """The first day of the day, week (Monday), month or year containing `day`."""
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return dt.date(day.year, 1, 1)


def shift_period(unit: PeriodUnit, first_day: dt.date, n: int) -> dt.date:
    """The first day of the period `n` periods after (n < 0: before) the one at `first_day`."""
    if unit == "day":
        return first_day + dt.timedelta(days=n)
    if unit == "week":
        return first_day + dt.timedelta(weeks=n)
    if unit == "month":
        months = first_day.year * 12 + first_day.month - 1 + n
        return dt.date(months // 12, months % 12 + 1, 1)
    return dt.date(first_day.year + n, 1, 1)


def _spans(unit: PeriodUnit, start: dt.date, end: dt.date) -> Iterator[DateRange]:
    """`start`..`end` as consecutive spans of at most the cap's number of periods."""
    cap = SERIES_CAPS[unit]
    while start <= end:
        last_period = shift_period(unit, period_first_day(unit, start), cap - 1)
        stop = min(end, shift_period(unit, last_period, 1) - _DAY)
        yield DateRange.between(start, stop)
        start = stop + _DAY


def _check_span(method: str, unit: PeriodUnit, span: DateRange, got: Collection[dt.date]) -> None:
    assert span.start is not None
    first = period_first_day(unit, span.start)
    if first not in got:
        raise DecodeError(
            method,
            f"the answer to period={unit}&date={span.to_param()} lacks its first period "
            f"({first.isoformat()}): the server caps multi-period requests below "
            f"{SERIES_CAPS[unit]} {unit}s",
        )


def series_plan(
    unit: PeriodUnit, date_range: DateRange, method: str = "VisitsSummary.get"
) -> SeriesPlan:
    """The requests of a complete series of `unit` periods over `date_range` (see the module)."""
    check_unit(unit)
    if not isinstance(date_range, DateRange):
        raise ValueError("series takes a DateRange, e.g. DateRange.last(30)")
    return _plan(unit, date_range, method)


def _plan(unit: PeriodUnit, date_range: DateRange, method: str) -> SeriesPlan:
    if date_range.kind == "span" and not isinstance(date_range.end, RangeEnd):
        assert date_range.start is not None
        assert isinstance(date_range.end, dt.date)
        spans = list(_spans(unit, date_range.start, date_range.end))
        if len(spans) == 1:
            yield date_range  # fits: one request, as given
            return
        for span in spans:
            got = yield span
            _check_span(method, unit, span, got)
        return
    # Ends at the site's today: ask as given, then fill in what the cap left out before it.
    got = yield date_range
    if date_range.kind == "span":
        assert date_range.start is not None
        first = date_range.start
    elif date_range.count <= SERIES_CAPS[unit]:
        return  # under the cap: complete in one request
    elif not got:
        raise DecodeError(
            method,
            f"the answer to period={unit}&date={date_range.to_param()} holds no period, "
            "so the periods before it cannot be placed",
        )
    else:
        first = max(EARLIEST_DAY, shift_period(unit, max(got), 1 - date_range.count))
    if not got:
        return  # nothing in the span (a server answering `[]`): nothing to place a gap by
    oldest = min(got)
    if period_first_day(unit, first) >= oldest:
        return
    for span in _spans(unit, first, oldest - _DAY):
        got = yield span
        _check_span(method, unit, span, got)
