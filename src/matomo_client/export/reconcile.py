"""Reconciliation: exported visits per window against Matomo's own `VisitsSummary.nb_visits`.

One multi-period `VisitsSummary.get` (`period=day&date=A,B`) per site covers every window,
however many days (`fetch_counts`); the counts go into the manifest next to ours and any
difference is named with its most likely cause (`compare`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from .._core.params import Params
from ..errors import DecodeError
from .coerce import as_number
from .progress import Mismatch
from .state import OPEN, WindowRecord

__all__ = ["compare", "explain", "fetch_counts", "read_counts"]


def explain(rec: WindowRecord, expected: int, segment: str | None) -> str:
    """The most likely reason a window's count differs from VisitsSummary."""
    exported = rec.visits or 0
    if rec.status == OPEN:
        return "the day is not over: visits are still arriving; the next run fetches it again"
    if expected == 0 and exported > 0:
        return "no archive for this day: archiving (core:archive) has not run for it yet"
    if segment:
        return (
            "a segment is applied: segment archives may be outdated or processed differently; "
            "check that the segment is pre-processed"
        )
    if exported < expected:
        return (
            "Matomo counts visits the visits log no longer holds (raw data deleted or "
            "anonymised after archiving, or the visits log truncated)"
        )
    return "the archive is outdated: visits were tracked or imported after the day was archived"


async def fetch_counts(
    client: Any, id_site: int, first: date, last: date, segment: str | None
) -> dict[date, int]:
    """Matomo's nb_visits for each day of `first`..`last` (0: no archive), in one request for
    up to `MAX_DAYS` days (Matomo silently keeps only the newest 1825 days of one request).

    Read from the decoded JSON (a Map keyed by day, `[]` for a day without data), not through
    the `VisitsSummary` model, so that an export never loads pydantic.
    """
    counts: dict[date, int] = {}
    while first <= last:
        stop = min(last, first + timedelta(days=MAX_DAYS - 1))
        params = Params().id_site(id_site).set("period", "day")
        params = params.set("date", f"{first.isoformat()},{stop.isoformat()}").segment(segment)
        counts.update(read_counts(await client.call(_METHOD, params)))
        first = stop + timedelta(days=1)
    return counts


_METHOD = "VisitsSummary.get"
MAX_DAYS = 1825  # Matomo's cap on the days of one multi-day request (_core/series.py)


def read_counts(data: Any) -> dict[date, int]:
    """The daily `nb_visits` of a multi-day `VisitsSummary.get` answer."""
    if isinstance(data, list) and not data:
        return {}
    if not isinstance(data, dict):
        raise DecodeError(_METHOD, f"expected an object keyed by day, got {type(data).__name__}")
    counts: dict[date, int] = {}
    for key, metrics in data.items():
        try:
            day = date.fromisoformat(str(key).strip())
        except ValueError:
            raise DecodeError(_METHOD, f"not a day: {key!r:.40}") from None
        value = metrics.get("nb_visits", 0) if isinstance(metrics, dict) else 0
        number = as_number(value)
        if number is None or number != int(number):
            raise DecodeError(_METHOD, f"nb_visits of {day} is not a count: {value!r:.40}")
        counts[day] = int(number)
    return counts


def compare(
    records: Sequence[WindowRecord], counts: dict[date, int], segment: str | None
) -> tuple[list[WindowRecord], list[Mismatch]]:
    """The records with Matomo's counts added, and the windows whose counts differ."""
    updated: list[WindowRecord] = []
    mismatches: list[Mismatch] = []
    for rec in records:
        expected = counts.get(rec.day, 0)
        updated.append(rec.with_nb_visits(expected))
        exported = rec.visits or 0
        if exported != expected:
            mismatches.append(
                Mismatch(rec.id_site, rec.day, exported, expected, explain(rec, expected, segment))
            )
    return updated, mismatches
