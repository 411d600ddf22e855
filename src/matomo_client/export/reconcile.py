"""Reconciliation: exported visits per window against Matomo's own `VisitsSummary.nb_visits`.

One multi-period `VisitsSummary.get` (`period=day&date=A,B`) per site covers every window,
however many days (`fetch_counts`); many sites' requests go together in `API.getBulkRequest`s
(`fetch_counts_of_sites`). The counts go into the manifest next to ours and any difference is
named with its most likely cause (`compare`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta
from typing import Any

import anyio

from .._core.params import Params
from .._core.retry import is_transient
from ..errors import DecodeError, MatomoError
from .coerce import as_number
from .progress import Mismatch
from .state import OPEN, WindowRecord

__all__ = ["compare", "explain", "fetch_counts", "fetch_counts_of_sites", "read_counts"]


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
    for params in _requests(id_site, first, last, segment):
        counts.update(read_counts(await client.call(_METHOD, params)))
    return counts


_METHOD = "VisitsSummary.get"
MAX_DAYS = 1825  # Matomo's cap on the days of one multi-day request (_core/series.py)
# Requests in one API.getBulkRequest: Matomo answers them one after another, and the body
# stays a few kB (segments included).
BULK_ITEMS = 50


def _requests(id_site: int, first: date, last: date, segment: str | None) -> list[Params]:
    """The requests for `first`..`last`, `MAX_DAYS` days each at most."""
    out: list[Params] = []
    while first <= last:
        stop = min(last, first + timedelta(days=MAX_DAYS - 1))
        params = Params().id_site(id_site).set("period", "day")
        out.append(params.set("date", f"{first.isoformat()},{stop.isoformat()}").segment(segment))
        first = stop + timedelta(days=1)
    return out


async def fetch_counts_of_sites(
    client: Any, ranges: Sequence[tuple[int, date, date]], segment: str | None
) -> list[dict[date, int] | MatomoError]:
    """`fetch_counts` of each `(id_site, first, last)`, or the MatomoError it raises, in order.

    Few requests, side by side: the sites' requests go in `API.getBulkRequest`s of at most
    `BULK_ITEMS`, as many as the client has requests in flight (`max_concurrency`); with no
    more requests than that, each goes alone, as one site's does. An item Matomo failed for a
    reason that may pass (too slow), and every item of a bulk request that failed as a whole,
    is asked again alone, with the client's retries: a site fails as its own request would.
    Any other exception is raised as it is, once every request is done.
    """
    items = [(i, p) for i, r in enumerate(ranges) for p in _requests(*r, segment)]
    got: list[dict[date, int] | MatomoError] = [{} for _ in items]
    failure: list[Exception] = []

    async def alone(k: int) -> None:
        try:
            got[k] = read_counts(await client.call(_METHOD, items[k][1]))
        except MatomoError as e:
            got[k] = e
        except Exception as e:  # raised as it is below, not inside an exception group
            failure.append(e)

    async def together(ks: range) -> None:
        try:
            answers = await client.api.bulk([(_METHOD, items[k][1]) for k in ks])
        except MatomoError:
            answers = [None] * len(ks)  # each asked alone: its own failure, or its counts
        except Exception as e:
            failure.append(e)
            return
        again: list[int] = []
        for k, res in zip(ks, answers, strict=True):
            if res is None or (res.error is not None and is_transient(res.error)):
                again.append(k)
            elif res.error is not None:
                got[k] = res.error
            else:
                try:
                    got[k] = read_counts(res.value)
                except MatomoError as e:
                    got[k] = e
        async with anyio.create_task_group() as tg:
            for k in again:
                tg.start_soon(alone, k)

    async with anyio.create_task_group() as tg:
        for ks in _batches(len(items), getattr(client, "max_concurrency", 1)):
            if len(ks) == 1:
                tg.start_soon(alone, ks[0])
            else:
                tg.start_soon(together, ks)
    if failure:
        raise failure[0]
    merged: list[dict[date, int]] = [{} for _ in ranges]
    failed: dict[int, MatomoError] = {}
    for (i, _), counts in zip(items, got, strict=True):
        if isinstance(counts, MatomoError):
            failed.setdefault(i, counts)  # the first in date order, as `fetch_counts` raises
        else:
            merged[i].update(counts)
    return [failed.get(i, merged[i]) for i in range(len(ranges))]


def _batches(n: int, lanes: int) -> list[range]:
    """`n` requests in one batch per request slot (`lanes`), or more when a batch would hold
    over `BULK_ITEMS`: never more round trips side by side than the client allows."""
    if n == 0:
        return []
    count = max(-(-n // BULK_ITEMS), min(n, lanes))
    size = -(-n // count)
    return [range(s, min(s + size, n)) for s in range(0, n, size)]


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
