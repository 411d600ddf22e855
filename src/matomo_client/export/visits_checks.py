"""Matomo's own visit counts in a visits export (`export_visits`, engine.py): the done days it
now counts more visits for (`refetch_short`, before the windows are fetched), and the
reconciliation of the windows with its counts (after they are written).

Both ask for the counts of every site at once (`counts_of_windows`, through
`reconcile.fetch_counts_of_sites`); `reconcile.compare` judges each site's windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from ..errors import MatomoError
from .reconcile import compare, fetch_counts_of_sites
from .state import DONE, WindowRecord

if TYPE_CHECKING:
    from .run import _Run
    from .sites import SiteInfo
    from .windows import Window

__all__ = ["Counts", "counts_of_windows", "reconcile_windows", "short_days"]

Counts = list["dict[date, int] | str"]  # per site: Matomo's counts, or why there are none


async def short_days(
    run: _Run,
    site_list: Sequence[SiteInfo],
    windows: Sequence[Window],
    recorded: dict[tuple[int, date], WindowRecord],
    segment: str | None,
) -> dict[tuple[int, date], int]:
    """The done windows of `windows` Matomo now counts more visits for than were exported
    (tracked late), with the visits exported: one `VisitsSummary` call a site
    (`counts_of_windows`)."""
    done = [w for w in windows if getattr(recorded.get((w.id_site, w.day)), "status", None) == DONE]
    if not done:
        return {}
    counts = await counts_of_windows(run, site_list, done, segment, "done days not checked")
    short: dict[tuple[int, date], int] = {}
    for site, site_counts in zip(site_list, counts, strict=True):
        if isinstance(site_counts, str):
            run.summary.warnings.append(site_counts)
            continue
        for w in done:
            exported = recorded[(w.id_site, w.day)].visits or 0
            if w.id_site == site.id_site and site_counts.get(w.day, 0) > exported:
                short[(w.id_site, w.day)] = exported
    return short


async def counts_of_windows(
    run: _Run,
    site_list: Sequence[SiteInfo],
    windows: Sequence[Window],
    segment: str | None,
    failed: str = "not reconciled",
) -> Counts:
    """Matomo's daily visit counts for every site at once: the sites' requests in a few bulk
    requests side by side (the client's own concurrency limit applies), so many sites cost
    about one round trip and few requests."""
    days: dict[int, tuple[date, date]] = {}
    for w in windows:
        first, last = days.get(w.id_site, (w.day, w.day))
        days[w.id_site] = (min(first, w.day), max(last, w.day))
    asked = [(i, site.id_site) for i, site in enumerate(site_list) if site.id_site in days]
    got = await fetch_counts_of_sites(run.client, [(s, *days[s]) for _, s in asked], segment)
    results: Counts = [{} for _ in site_list]
    for (i, id_site), counts in zip(asked, got, strict=True):
        if isinstance(counts, MatomoError):
            message = getattr(counts, "message", None) or str(counts)
            results[i] = f"site {id_site}: {failed} ({message})"
        else:
            results[i] = counts
    return results


async def reconcile_windows(
    run: _Run,
    site_list: Sequence[SiteInfo],
    windows: Sequence[Window],
    counts: Counts,
    segment: str | None,
) -> None:
    """Compare each site's recorded windows with Matomo's counts; record them, in site order."""
    updated_all: list[WindowRecord] = []
    for site, site_counts in zip(site_list, counts, strict=True):
        if isinstance(site_counts, str):
            run.summary.warnings.append(site_counts)
            run.summary.not_reconciled.append(site.id_site)
            continue
        recs = [
            run.records[(w.id_site, w.day)]
            for w in windows
            if w.id_site == site.id_site and (w.id_site, w.day) in run.records
        ]
        updated, mismatches = compare(recs, site_counts, segment, run.summary.windows_kept)
        updated_all.extend(updated)
        run.summary.mismatches.extend(mismatches)
    await run.in_thread(run.sink.record_windows, updated_all)
    # "every window matches" only when every site was compared (none failed or left out)
    run.summary.reconciled = not run.summary.not_reconciled
