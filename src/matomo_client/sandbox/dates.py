"""Matomo's `period` + `date` rules: what is accepted, how periods are keyed, the error texts.

`resolve(period, date, today)` gives a `Periods` value: the periods asked for and whether
the answer is a Map keyed by period (lastN, previousN, `A,B` with period != range) or a
single table. Errors carry the exact 5.11.2 messages and statuses (recorded 204-213).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["ApiFailure", "Period", "Periods", "containing", "resolve", "single_date"]

_PERIODS = ("day", "week", "month", "year", "range")
_FIRST_DAY = date(1991, 8, 6)
_LAST_N = re.compile(r"^(last|previous)(\d+)$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_CAPS = {"day": 1825, "week": 520, "month": 120, "year": 10}
_STRTOTIME = (
    "Date format must be: YYYY-MM-DD, or 'today' or 'yesterday' or any keyword supported by "
    "the strtotime function (see https://php.net/strtotime for more information): "
)


class ApiFailure(Exception):
    """A Matomo API error: rendered as `{"result":"error","message":...}` with `status`."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Period:
    """One Matomo period: kind and inclusive first/last day."""

    kind: str
    start: date
    end: date

    @property
    def key(self) -> str:
        """How Matomo keys this period in a Map."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "month":
            return self.start.strftime("%Y-%m")
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()},{self.end.isoformat()}"

    def days(self) -> list[date]:
        """Every day of the period."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


@dataclass(frozen=True)
class Periods:
    """The periods of a request; `multi` means the answer is keyed by period."""

    items: tuple[Period, ...]
    multi: bool
    relative_to_today: bool  # date was today/lastN/...: Live has no end bound then


def containing(kind: str, day: date) -> Period:
    """The `kind` period (day, week, month, year) that holds `day`."""
    if kind == "day":
        return Period("day", day, day)
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        # the week of 9999-12-31 ends past Python's last date: it ends there instead
        end = start + timedelta(days=6) if start < date.max - timedelta(days=6) else date.max
        return Period("week", start, end)
    if kind == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return Period("month", day.replace(day=1), day.replace(day=last))
    return Period("year", date(day.year, 1, 1), date(day.year, 12, 31))


def _step(kind: str, p: Period, n: int) -> Period:
    """The period `n` steps after (or before, n<0) `p`."""
    if kind == "day":
        return containing(kind, p.start + timedelta(days=n))
    if kind == "week":
        return containing(kind, p.start + timedelta(weeks=n))
    if kind == "month":
        months = p.start.year * 12 + p.start.month - 1 + n
        return containing(kind, date(months // 12, months % 12 + 1, 1))
    return containing(kind, date(p.start.year + n, 1, 1))


def _one_date(text: str, today: date, *, whole: str | None = None) -> date:
    word = text.strip().lower()
    if word in ("today", "now"):
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    m = _YMD.match(word)
    if m is None:
        if whole is not None:
            raise ApiFailure(f"{_STRTOTIME}'{whole}'")
        raise ApiFailure(f"{_STRTOTIME}false")
    try:
        value = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ApiFailure(f"{_STRTOTIME}false") from None
    if value < _FIRST_DAY:
        stamp = (value - date(1970, 1, 1)).days * 86400
        raise ApiFailure(
            f"The date '{text}' is a date before first website was online. Try date that's "
            f"after Aug 6, 1991 (timestamp 681436800).: {stamp}"
        )
    return value


def single_date(text: str, today: date) -> date:
    """A single `date` parameter (today, now, yesterday, YYYY-MM-DD) as a date."""
    return _one_date(text, today)


def _bad_range(text: str) -> ApiFailure:
    return ApiFailure(
        f"The date '{text}' is not a correct date range. It should have the following "
        "format:  'lastN', 'previousN', 'YYYY-MM-DD,YYYY-MM-DD'."
    )


def check_period(period: str | None) -> str:
    """Validate the `period` parameter (missing: 400; unknown: 200 with Matomo's text)."""
    if period is None or period == "":
        raise ApiFailure("Please specify a value for 'period'.", 400)
    if period not in _PERIODS:
        raise ApiFailure(
            f"The period '{period}' is not supported. Try any of the following instead: "
            "day, week, month, year, range"
        )
    return period


def resolve(period: str | None, date_text: str | None, today: date) -> Periods:
    """Resolve `period` and `date` as Matomo 5.11 does, relative to the site's `today`."""
    kind = check_period(period)
    if date_text is None or date_text == "":
        raise ApiFailure("Please specify a value for 'date'.", 400)
    text = date_text.strip()
    last_n = _LAST_N.match(text)
    if kind == "range":
        return Periods((_range(text, today),), False, last_n is not None or "today" in text)
    if last_n is not None:
        n = min(int(last_n[2]), _CAPS[kind])
        anchor = containing(kind, today)
        if last_n[1] == "previous":
            anchor = _step(kind, anchor, -1)
        items = tuple(_step(kind, anchor, i - n + 1) for i in range(n))
        return Periods(items, True, True)
    if "," in text:
        first, _, last = text.partition(",")
        if _LAST_N.match(first.strip()):
            raise ApiFailure(f"{_STRTOTIME}'{text}'")
        a = _one_date(first, today, whole=text)
        b = _one_date(last, today, whole=text)
        if b < a:
            raise ApiFailure("Specified date range is invalid.")
        p = containing(kind, a)
        spanned = [p]
        while p.end < b:
            p = _step(kind, p, 1)
            spanned.append(p)
        capped = spanned[-_CAPS[kind] :]
        return Periods(tuple(capped), True, last.strip().lower() in ("today", "now"))
    day = _one_date(text, today)
    return Periods((containing(kind, day),), False, text.lower() in ("today", "now"))


def _range(text: str, today: date) -> Period:
    m = _LAST_N.match(text)
    if m is not None:
        n = max(1, int(m[2]))
        end = today if m[1] == "last" else today - timedelta(days=1)
        # a range is not capped: lastN reaching before Matomo's first day starts there
        # (no site has data before it), rather than before Python's first date
        start = _FIRST_DAY if n - 1 > (end - _FIRST_DAY).days else end - timedelta(days=n - 1)
        return Period("range", start, end)
    if "," not in text:
        raise _bad_range(text)
    first, _, last = text.partition(",")
    if _LAST_N.match(first.strip()) or not _YMD.match(first.strip()):
        raise _bad_range(text)
    a = _one_date(first, today)
    b = _one_date(last, today)
    if b < a:
        raise ApiFailure("Specified date range is invalid.")
    if a == b:
        return Period("day", a, a)
    return Period("range", a, b)
