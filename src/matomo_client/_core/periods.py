"""Dates, periods, date ranges and limits: only what Matomo accepts can be built.

Every invalid combination raises `ValueError` at construction, so no request is ever sent
with a value Matomo would reject (see matomo-api-notes.md §5). Each value renders itself as the
exact parameter text Matomo expects (`to_param()` / `to_params()`).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "EARLIEST_DAY",
    "MAX_LIMIT",
    "Date",
    "DateLike",
    "DateRange",
    "Limit",
    "Period",
    "PeriodUnit",
    "RangeEnd",
    "site_tz",
]

# Matomo refuses dates before the first Piwik release (core/Date.php, "date too old").
EARLIEST_DAY = dt.date(1991, 8, 6)
# Matomo silently caps lastN/previousN at 1825 days; we refuse instead of being surprised.
_MAX_LAST = 1825
MAX_LIMIT = 1_000_000
_UTC_OFFSET = re.compile(r"^UTC([+-])(\d{1,2})(?:([.:])(\d+))?$")

PeriodUnit = Literal["day", "week", "month", "year"]
_UNITS: tuple[str, ...] = ("day", "week", "month", "year")


class Date:
    """A relative date Matomo resolves in the site's timezone: `Date.TODAY`, `Date.YESTERDAY`."""

    __slots__ = ("keyword",)
    TODAY: ClassVar[Date]
    YESTERDAY: ClassVar[Date]

    def __init__(self, keyword: str) -> None:
        if keyword not in ("today", "yesterday"):
            raise ValueError(f"unknown relative date {keyword!r}: use Date.TODAY or Date.YESTERDAY")
        self.keyword = keyword

    def to_param(self) -> str:
        """The text Matomo expects for `date=`."""
        return self.keyword

    def __repr__(self) -> str:
        return f"Date.{self.keyword.upper()}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Date) and other.keyword == self.keyword

    def __hash__(self) -> int:
        return hash(("Date", self.keyword))


Date.TODAY = Date("today")
Date.YESTERDAY = Date("yesterday")

DateLike = Date | dt.date


class RangeEnd(enum.Enum):
    """A relative end for `DateRange.between`: Matomo accepts `today` and `yesterday` there."""

    TODAY = "today"
    YESTERDAY = "yesterday"


def _check_date(value: object, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise ValueError(f"{what} must be a datetime.date, got {type(value).__name__}")
    if value < EARLIEST_DAY:
        raise ValueError(f"{what} {value.isoformat()} is before 1991-08-06, which Matomo refuses")
    return value


def date_param(value: DateLike) -> str:
    """Render a date or relative keyword as Matomo's `date=` text."""
    if isinstance(value, Date):
        return value.to_param()
    return _check_date(value, "date").isoformat()


def _check_count(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise ValueError(f"{what} takes a whole number of days, got {n!r}")
    if n < 1:
        raise ValueError(f"{what}({n}): N must be at least 1")
    if n > _MAX_LAST:
        raise ValueError(f"{what}({n}): Matomo caps N at {_MAX_LAST}; split the range instead")
    return n


@dataclass(frozen=True, slots=True)
class DateRange:
    """A span of days: `last7`, `previous30`, `2024-01-01,2024-06-30` or `2024-01-01,today`.

    Build one with `DateRange.last(n)`, `.previous(n)`, `.ymd(a, b)` or `.between(start, end)`.
    """

    kind: Literal["last", "previous", "span"]
    count: int = 0
    start: dt.date | None = None
    end: dt.date | RangeEnd | None = None

    def __post_init__(self) -> None:
        if self.kind in ("last", "previous"):
            _check_count(self.count, f"DateRange.{self.kind}")
            if self.start is not None or self.end is not None:
                raise ValueError(f"DateRange.{self.kind} takes a count, not dates")
            return
        if self.kind != "span":
            raise ValueError(f"unknown DateRange kind {self.kind!r}")
        if isinstance(self.start, (Date, RangeEnd)):
            raise ValueError("a range start must be a calendar date, not a relative keyword")
        if self.start is None or self.end is None:
            raise ValueError("a DateRange needs a start and an end")
        if isinstance(self.start, dt.datetime):
            object.__setattr__(self, "start", self.start.date())
        if isinstance(self.end, dt.datetime):
            object.__setattr__(self, "end", self.end.date())
        start = _check_date(self.start, "range start")
        if isinstance(self.end, RangeEnd):
            return
        if isinstance(self.end, Date):
            object.__setattr__(self, "end", RangeEnd(self.end.keyword))
            return
        end = _check_date(self.end, "range end")
        if end < start:
            raise ValueError(f"range end {end.isoformat()} is before its start {start.isoformat()}")

    @classmethod
    def last(cls, n: int) -> DateRange:
        """The last N days including today (`lastN`)."""
        return cls("last", n)

    @classmethod
    def previous(cls, n: int) -> DateRange:
        """The N days before today (`previousN`)."""
        return cls("previous", n)

    @classmethod
    def ymd(cls, start: tuple[int, int, int], end: tuple[int, int, int]) -> DateRange:
        """From (year, month, day) to (year, month, day), both included."""
        if isinstance(start, dt.date) or isinstance(end, dt.date):
            raise ValueError(
                "DateRange.ymd takes (year, month, day) tuples; for datetime.date values use "
                "DateRange.between(start, end)"
            )
        try:
            a, b = dt.date(*start), dt.date(*end)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"invalid date in DateRange.ymd({start!r}, {end!r}): {exc}") from None
        return cls("span", start=a, end=b)

    @classmethod
    def between(cls, start: dt.date, end: dt.date | RangeEnd) -> DateRange:
        """From a calendar date to a date, `RangeEnd.TODAY` or `RangeEnd.YESTERDAY`."""
        return cls("span", start=start, end=end)

    def to_param(self) -> str:
        """The text Matomo expects for `date=`."""
        if self.kind != "span":
            return f"{self.kind}{self.count}"
        assert self.start is not None
        assert self.end is not None
        end = self.end.value if isinstance(self.end, RangeEnd) else self.end.isoformat()
        return f"{self.start.isoformat()},{end}"

    def resolve(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last calendar day of the range, given the site's today.

        A range ending `today`/`yesterday` that starts later than that day holds no day:
        ValueError (Matomo answers it "Specified date range is invalid.").
        """
        if self.kind == "last":
            return today - dt.timedelta(days=self.count - 1), today
        if self.kind == "previous":
            return today - dt.timedelta(days=self.count), today - dt.timedelta(days=1)
        assert self.start is not None
        assert self.end is not None
        if isinstance(self.end, RangeEnd):
            end = today if self.end is RangeEnd.TODAY else today - dt.timedelta(days=1)
            if end < self.start:
                raise ValueError(
                    f"date range {self.to_param()!r} holds no day: {self.end.value} is "
                    f"{end.isoformat()} in the site's timezone, before the start"
                )
            return self.start, end
        assert isinstance(self.end, dt.date)
        return self.start, self.end

    @classmethod
    def parse(cls, text: str) -> DateRange:
        """Read Matomo's own text form back (`last7`, `previous30`, `A,B`, `A,today`)."""
        text = text.strip()
        for kind in ("last", "previous"):
            count = text[len(kind) :]
            if text.startswith(kind) and count.isascii() and count.isdigit():  # not "last²"
                if len(count) > 9:  # past int()'s 4,300 digits its message would be Python's
                    raise ValueError(f"{kind}{count[:9]}…: Matomo caps N at {_MAX_LAST}")
                return cls(kind, int(count))
        a, sep, b = text.partition(",")
        if not sep:
            raise ValueError(f"{text!r} is not a date range: use lastN, previousN or START,END")
        try:
            start = dt.date.fromisoformat(a)
        except ValueError:
            raise ValueError(f"range start {a!r} must be a YYYY-MM-DD date") from None
        if b in ("today", "yesterday"):
            return cls.between(start, RangeEnd(b))
        try:
            end = dt.date.fromisoformat(b)
        except ValueError:
            raise ValueError(f"range end {b!r} must be YYYY-MM-DD, today or yesterday") from None
        return cls.between(start, end)  # its own message for a day before 1991-08-06, or B < A

    def __repr__(self) -> str:
        return f"DateRange({self.to_param()!r})"


@dataclass(frozen=True, slots=True)
class Period:
    """A Matomo period and its date: `Period.day(d)`, `.week`, `.month`, `.year`, `.range(r)`."""

    unit: str
    date: DateLike | DateRange

    def __post_init__(self) -> None:
        if self.unit == "range":
            if not isinstance(self.date, DateRange):
                raise ValueError("Period.range takes a DateRange")
        elif self.unit in _UNITS:
            if isinstance(self.date, DateRange):
                raise ValueError(
                    f"Period.{self.unit} takes one date; for a span use Period.range or a series"
                )
            if not isinstance(self.date, Date):
                object.__setattr__(self, "date", _check_date(self.date, f"Period.{self.unit} date"))
        else:
            raise ValueError(f"unknown period {self.unit!r}: use day, week, month, year or range")

    @classmethod
    def day(cls, d: DateLike) -> Period:
        """The day containing `d`."""
        return cls("day", d)

    @classmethod
    def week(cls, d: DateLike) -> Period:
        """The week (Monday to Sunday) containing `d`."""
        return cls("week", d)

    @classmethod
    def month(cls, d: DateLike) -> Period:
        """The calendar month containing `d`."""
        return cls("month", d)

    @classmethod
    def year(cls, d: DateLike) -> Period:
        """The calendar year containing `d`."""
        return cls("year", d)

    @classmethod
    def range(cls, r: DateRange) -> Period:
        """One aggregate over a DateRange."""
        return cls("range", r)

    def to_params(self) -> dict[str, str]:
        """`period` and `date` as Matomo expects them."""
        if isinstance(self.date, DateRange):
            return {"period": self.unit, "date": self.date.to_param()}
        return {"period": self.unit, "date": date_param(self.date)}

    def to_json(self) -> dict[str, object]:
        """A JSON-ready form (used by serialised cursors)."""
        if isinstance(self.date, DateRange):
            return {"unit": "range", "date": self.date.to_param()}
        return {"unit": self.unit, "date": date_param(self.date)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Period:
        """Rebuild a Period from `to_json()` output."""
        unit = str(data["unit"])
        raw = str(data["date"])
        if unit == "range":
            return cls.range(DateRange.parse(raw))
        try:
            d: DateLike = Date(raw) if raw in ("today", "yesterday") else dt.date.fromisoformat(raw)
        except ValueError:
            raise ValueError(
                f"period date {raw!r} must be YYYY-MM-DD, today or yesterday"
            ) from None
        return cls(unit, d)

    @property
    def is_relative(self) -> bool:
        """Whether the period names today or yesterday (`Date.TODAY`, `last7`, `A,today` ...),
        which Matomo resolves in the site's timezone on each request."""
        if isinstance(self.date, DateRange):
            return self.date.kind != "span" or isinstance(self.date.end, RangeEnd)
        return isinstance(self.date, Date)

    def pinned(self, today: dt.date) -> Period:
        """The same period with calendar dates only, given the site's `today`."""
        if isinstance(self.date, DateRange):
            if not self.is_relative:
                return self
            return Period.range(DateRange.between(*self.date.resolve(today)))
        if isinstance(self.date, Date):
            day = today if self.date == Date.TODAY else today - dt.timedelta(days=1)
            return Period(self.unit, day)
        return self

    def first_day(self) -> dt.date | None:
        """The first calendar day the period covers; None while it names today or yesterday."""
        if self.is_relative:
            return None
        if isinstance(self.date, DateRange):
            return self.date.start
        d = self.date
        assert isinstance(d, dt.date)
        if self.unit == "week":
            return d - dt.timedelta(days=d.weekday())
        if self.unit == "month":
            return d.replace(day=1)
        if self.unit == "year":
            return d.replace(month=1, day=1)
        return d

    def __repr__(self) -> str:
        p = self.to_params()
        return f"Period({p['period']}, {p['date']})"


@dataclass(frozen=True, slots=True)
class Limit:
    """A page size or row limit: a whole number from 1 to 1,000,000."""

    n: int

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int):
            raise ValueError(f"Limit takes a whole number, got {self.n!r}")
        if self.n < 1:
            raise ValueError(f"Limit({self.n}): a limit must be at least 1")
        if self.n > MAX_LIMIT:
            raise ValueError(f"Limit({self.n}): at most {MAX_LIMIT:,} rows a request; page instead")

    def __int__(self) -> int:
        return self.n


def site_tz(name: str | None) -> dt.tzinfo:
    """The tzinfo for a Matomo site timezone (`Europe/Berlin`, `UTC`, or Matomo's `UTC+5.5`)."""
    if not name or name == "UTC":
        return dt.timezone.utc
    m = _UTC_OFFSET.match(name)
    if m:
        sign, hours, sep, frac = m.groups()
        # Matomo writes `UTC+5.5` (hours); `UTC+5:30` counts minutes
        part = int(frac) if sep == ":" else round(float("0." + frac) * 60) if frac else 0
        if part >= 60:
            raise ValueError(f"unknown site timezone {name!r}")
        minutes = int(hours) * 60 + part
        return dt.timezone(dt.timedelta(minutes=minutes if sign == "+" else -minutes))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        from zoneinfo import available_timezones

        if not available_timezones():  # Windows without the tzdata package, say
            raise ValueError(
                f"site timezone {name!r}: this machine has no time zone database "
                "(pip install tzdata)"
            ) from e
        raise ValueError(f"unknown site timezone {name!r}") from e
