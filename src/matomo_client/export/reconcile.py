"""Reconciliation: exported visits per window against Matomo's own `VisitsSummary.nb_visits`.

One multi-period `VisitsSummary.get` (`period=day&date=A,B`) per site covers every window,
however many days (`fetch_counts`); the counts go into the manifest next to ours and any
difference is named with its most likely cause (`compare`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta
from typing import Any

from .._core.params import Params
from ..errors import DecodeError
from .coerce import as_number
from .progress import Mismatch
from .state import OPEN, WindowRecord

__all__ = ["compare", "explain", "fetch_counts", "read_counts"]


def explain(
    rec: WindowRecord, expected: int, segment: str | None, fetched_again: bool = False
) -> str:
    """The most likely reason a window's count differs from VisitsSummary (`fetched_again`:
    this run fetched the done window again, and the visits log gave no more visits)."""
    exported = rec.visits or 0
    if rec.status == OPEN:
        return "the day is not over: visits are still arriving; the next run fetches it again"
    if expected == 0 and exported > 0:
        if segment:
            # Matomo answers no data, not an error, for a segment it may not archive on request
            # (core/ArchiveProcessor/Rules.php::isArchivingEnabledFor).
            return (
                "no archive of this segment for this day: with browser-triggered archiving off, "
                "Matomo archives a segment set to be pre-processed (or any segment, with "
                "browser_archiving_disabled_enforce=1) only in core:archive, which has not "
                "processed it for this day yet"
            )
        return "no archive for this day: archiving (core:archive) has not run for it yet"
    if segment:
        return (
            "a segment is applied: segment archives may be outdated or processed differently; "
            "check that the segment is pre-processed"
        )
    if exported < expected and fetched_again:
        return (
            "fetched again by this run, the visits log gave no more visits: Matomo counts "
            "visits it no longer holds (raw data deleted or anonymised after archiving, or the "
            "visits log truncated); the rows exported before were kept"
        )
    if exported < expected:
        return (
            "Matomo counts visits the visits log no longer holds (raw data deleted or "
            "anonymised after archiving, or the visits log truncated), or visits tracked late "
            "(queued tracking, an imported log) after this day was exported: run again with "
            "--refetch-short (refetch_short=True) to fetch such days again"
        )
    return "the archive is outdated: visits were tracked or imported after the day was archived"


_SHIFTED = (
    "visits counted on a neighbouring day: Matomo's archive cuts the days at other hours, "
    "most likely because the site's timezone changed after the day was archived (Matomo keeps "
    "past archives in the old timezone; invalidate them and run core:archive)"
)


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
    records: Sequence[WindowRecord],
    counts: dict[date, int],
    segment: str | None,
    fetched_again: Collection[tuple[int, date]] = (),
) -> tuple[list[WindowRecord], list[Mismatch]]:
    """The records whose Matomo count is new or changed, with it, and the windows whose
    counts differ (`fetched_again`: done windows this run fetched again and kept).

    Closed days of one site next to each other, one with more visits than Matomo counts and
    the other with fewer, are visits Matomo puts on the other day: their cause says so.
    `records` are one site's.
    """
    updated: list[WindowRecord] = []
    mismatches: list[Mismatch] = []
    excess = {  # closed days Matomo has an archive for (not 0: maybe none)
        (r.id_site, r.day): (r.visits or 0) - counts.get(r.day, 0)
        for r in records
        if r.status != OPEN and counts.get(r.day, 0)
    }

    def shifted(rec: WindowRecord, diff: int) -> bool:
        return any(
            excess.get((rec.id_site, rec.day + timedelta(days=step)), 0) * diff < 0
            for step in (-1, 1)
        )

    for rec in records:
        expected = counts.get(rec.day, 0)
        if rec.nb_visits != expected:  # not recorded again each run: a journal would grow
            updated.append(rec.with_nb_visits(expected))
        exported = rec.visits or 0
        if exported != expected:
            diff = exported - expected
            cause = (
                _SHIFTED
                if (rec.id_site, rec.day) in excess and shifted(rec, diff)
                else explain(rec, expected, segment, (rec.id_site, rec.day) in fetched_again)
            )
            mismatches.append(Mismatch(rec.id_site, rec.day, exported, expected, cause))
    return updated, mismatches
