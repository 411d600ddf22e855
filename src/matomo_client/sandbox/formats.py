"""Presentation formats Matomo's API uses: PHP-like numbers, durations, dates, icon paths."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = [
    "ICONS",
    "MORPHEUS",
    "clock",
    "money",
    "pretty_date",
    "pretty_duration",
    "pretty_stamp",
    "utc",
]

MORPHEUS = "plugins/Morpheus/images/"
ICONS = "plugins/Morpheus/icons/dist/"
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def money(value: float) -> int | float:
    """A PHP-like JSON number: whole values print as integers."""
    value = round(value, 2)
    return int(value) if value == int(value) else value


def pretty_duration(seconds: int) -> str:
    """Matomo's short duration text: '0s', '48s', '3 min 32s', '1 hours 5 min'."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} hours {minutes} min"
    if minutes:
        return f"{minutes} min {secs}s"
    return f"{secs}s"


def utc(ts: int) -> datetime:
    """The UTC datetime of a timestamp."""
    return datetime.fromtimestamp(ts, timezone.utc)


def pretty_date(d: datetime) -> str:
    """'Friday, November 20, 2026'."""
    return f"{_DAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day}, {d.year}"


def clock(d: datetime) -> str:
    """'HH:MM:SS'."""
    return f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}"


def pretty_stamp(d: datetime) -> str:
    """'Nov 20, 2026 14:03:09', as action rows show it."""
    return f"{_MONTHS[d.month - 1][:3]} {d.day}, {d.year} {clock(d)}"
