"""Matomo's pretty printing, as API.getProcessedReport shows values and periods in English.

`pretty_value` is ProcessedReport::getPrettyValue (times as a clock, money with the site's
currency symbol and thousands separators, rates as percentages); `pretty_period` and
`pretty_periods` are a period's long name ('Monday, October 5, 2026', 'week November 23 – 29,
2026', 'October 2026') and the span of several periods. `is_numeric`, which tells the
values to pretty-print, is shared with `processed_report.py`'s totals.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .catalog import SiteInfo
from .datatable import number_format
from .dates import Period, Periods
from .formats import MONTHS, pretty_date

__all__ = ["is_numeric", "pretty_period", "pretty_periods", "pretty_value"]

_DASH = "\u2009\u2013\u2009"  # Matomo's English interval patterns: thin space, en dash, thin space


def _grouped(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _pretty_time(seconds: float) -> str:
    """Matomo's getPrettyTimeFromSeconds, clock style: '00:04:35', '2 days 01:00:00'."""
    negative = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if days:
        text = f"{days} days {text}"
    centis = int(seconds * 100) % 100
    if centis:
        text += f".{centis:02d}"
    return f"-{text}" if negative else text


def is_numeric(value: Any) -> bool:
    """Whether `value` is a number or a numeric string (no spaces around it), not a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return value.strip() == value and value != ""
    return False


def pretty_value(site: SiteInfo, column: str, value: Any) -> Any:
    """A metric as getProcessedReport shows it by default (ProcessedReport::getPrettyValue)."""
    if not is_numeric(value):
        return value
    number = float(value)
    if "_change" in column:
        return "+0%" if number == 0 else value
    if "time" in column:
        return _pretty_time(number)
    if ("revenue" in column or "price" in column) and "evolution" not in column:
        decimals = 0 if number == round(number) else 2
        return f"{site.currency_symbol}{_grouped(number, decimals)}"
    if "_rate" in column:
        return f"{number_format(number * 100)}%"
    return value


def _range_text(a: date, b: date) -> str:
    start, end = f"{MONTHS[a.month - 1]} {a.day}", f"{MONTHS[b.month - 1]} {b.day}, {b.year}"
    if a.year != b.year:
        return f"{start}, {a.year}{_DASH}{end}"
    if a.month != b.month:
        return f"{start}{_DASH}{end}"
    return f"{start}{_DASH}{b.day}, {b.year}"


def pretty_period(p: Period) -> str:
    """Matomo's English long name of a period: 'October 2026', 'week November 23 – 29, 2026'."""
    if p.kind == "day":
        return pretty_date(p.start)
    if p.kind == "month":
        return f"{MONTHS[p.start.month - 1]} {p.start.year}"
    if p.kind == "year":
        return str(p.start.year)
    text = _range_text(p.start, p.end)
    return f"week {text}" if p.kind == "week" else text


def pretty_periods(periods: Periods) -> str:
    """The long name of one period, or of the range several periods span."""
    if not periods.multi:
        return pretty_period(periods.items[0])
    return _range_text(periods.items[0].start, periods.items[-1].end)
