"""Reconciliation: exported visits per window against Matomo's own `VisitsSummary.nb_visits`.

One multi-period `VisitsSummary.get` (`period=day&date=A,B`) per site covers every window,
however many days; the counts go into the manifest next to ours and any difference is named
with its most likely cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from .progress import Mismatch
from .state import OPEN, WindowRecord

__all__ = ["explain", "reconcile_site"]


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


async def reconcile_site(
    client: Any,
    id_site: int,
    records: Sequence[WindowRecord],
    segment: str | None,
) -> tuple[list[WindowRecord], list[Mismatch]]:
    """Fetch the site's daily nb_visits in one request; return updated records and mismatches."""
    from .. import DateRange

    if not records:
        return [], []
    first = min(r.day for r in records)
    last = max(r.day for r in records)
    series: dict[date, Any] = await client.visits_summary.series(
        id_site, "day", DateRange.between(first, last), segment
    )
    updated: list[WindowRecord] = []
    mismatches: list[Mismatch] = []
    for rec in records:
        summary = series.get(rec.day)
        expected = int(getattr(summary, "nb_visits", 0) or 0) if summary is not None else 0
        updated.append(rec.with_nb_visits(expected))
        exported = rec.visits or 0
        if exported != expected:
            mismatches.append(
                Mismatch(rec.id_site, rec.day, exported, expected, explain(rec, expected, segment))
            )
    return updated, mismatches
