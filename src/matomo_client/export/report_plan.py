"""Which report periods an export covers, and how they go in chunks (`reports.py`).

Each site's periods run from `--from` to `--to` in its timezone, plus those an earlier run left
open that the range no longer covers; a site's periods go in chunks of consecutive periods, one
request each, and those before the site was created in one chunk asked nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from .errors import ExportUsageError
from .sites import SiteInfo
from .state import OPEN, WindowRecord
from .windows import resolve_day, site_tz

__all__ = [
    "CHUNK",
    "before_created",
    "chunks",
    "period_key_start",
    "period_start",
    "plan_periods",
    "with_left_open",
]

CHUNK = {"day": 31, "week": 13, "month": 12, "year": 5}  # periods a request, per kind of period


def period_start(period: str, d: date) -> date:
    """The first day of the period containing `d` (weeks start on Monday, as in Matomo)."""
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=d.weekday())
    if period == "month":
        return d.replace(day=1)
    if period == "year":
        return d.replace(month=1, day=1)
    raise ExportUsageError(f"invalid period {period!r}: use day, week, month or year")


def _period_end(period: str, start: date) -> date:
    """The last day of the period starting at `start`."""
    if period == "day":
        return start
    if period == "week":
        return start + timedelta(days=6)
    if period == "month":
        nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return nxt - timedelta(days=1)
    return start.replace(month=12, day=31)


def period_key_start(key: str) -> date:
    """The first day of a Map key: `2024-01-31`, `2024-01-29,2024-02-04`, `2024-01`, `2024`."""
    first = key.split(",")[0]
    if len(first) == 4:
        return date(int(first), 1, 1)
    if len(first) == 7:
        return date(int(first[:4]), int(first[5:7]), 1)
    return date.fromisoformat(first)


def plan_periods(
    site_list: list[SiteInfo],
    period: str,
    start: date | str,
    end: date | str,
    now: datetime,
    settle: timedelta,
) -> list[tuple[SiteInfo, date, date, bool]]:
    """Each site's periods from `start` to `end` in its timezone: (site, first day, last day,
    closed)."""
    plan: list[tuple[SiteInfo, date, date, bool]] = []
    for site in site_list:
        try:
            tz = site_tz(site.timezone)
        except ValueError as e:  # a timezone this machine's zone data does not know
            raise ExportUsageError(f"site {site.id_site}: {e}") from None
        today = now.astimezone(tz).date()
        a, b = resolve_day(start, today), min(resolve_day(end, today), today)
        p = period_start(period, a)
        while p <= b:
            plan.append(_planned(site, tz, period, p, now, settle))
            p = plan[-1][2] + timedelta(days=1)
    return plan


def _planned(
    site: SiteInfo, tz: tzinfo, period: str, p: date, now: datetime, settle: timedelta
) -> tuple[SiteInfo, date, date, bool]:
    """(site, first day, last day, closed) of the period starting on `p`."""
    last = _period_end(period, p)
    end_utc = datetime(last.year, last.month, last.day, tzinfo=tz) + timedelta(days=1)
    return (site, p, last, now >= end_utc + settle)


def with_left_open(
    plan: list[tuple[SiteInfo, date, date, bool]],
    recorded: dict[tuple[int, date], WindowRecord],
    site_list: list[SiteInfo],
    period: str,
    now: datetime,
    settle: timedelta,
) -> list[tuple[SiteInfo, date, date, bool]]:
    """`plan` and the periods an earlier run left open that it no longer covers (`--from
    today`, or runs missed): fetched again, not left incomplete."""
    planned = {(s.id_site, p) for s, p, _, _ in plan}
    sites = {s.id_site: (i, s) for i, s in enumerate(site_list)}
    extra = [
        _planned(sites[id_site][1], site_tz(sites[id_site][1].timezone), period, p, now, settle)
        for (id_site, p), rec in recorded.items()
        if rec.status == OPEN and id_site in sites and (id_site, p) not in planned
    ]
    if not extra:
        return plan
    return sorted([*plan, *extra], key=lambda x: (sites[x[0].id_site][0], x[1]))


def chunks(
    site_list: list[SiteInfo], todo: list[tuple[SiteInfo, date, date, bool]], size: int
) -> list[tuple[SiteInfo, list[tuple[date, date, bool]]]]:
    """`todo` as chunks of up to `size` consecutive periods of one site, site by site, in one
    pass (it was quadratic: 100 sites over 11 years of days took 30 s before the first
    request). The periods before the site was created are one chunk, written without a
    request. A chunk is one `date=A,B` request: periods apart (a day an earlier run left open
    months ago, and this run's days) go in separate chunks, or every period between them
    was asked for too."""
    by_site: dict[int, list[tuple[date, date, bool]]] = {}
    for site, first, last, closed in todo:
        by_site.setdefault(site.id_site, []).append((first, last, closed))
    work: list[tuple[SiteInfo, list[tuple[date, date, bool]]]] = []
    for site in site_list:
        mine = by_site.get(site.id_site, [])
        early = [p for p in mine if before_created(site, p[1])]
        if early:
            work.append((site, early))
            mine = mine[len(early) :]
        run: list[tuple[date, date, bool]] = []
        for p in mine:
            if run and (len(run) == size or p[0] != run[-1][1] + timedelta(days=1)):
                work.append((site, run))
                run = []
            run.append(p)
        if run:
            work.append((site, run))
    return work


def before_created(site: SiteInfo, last: date) -> bool:
    """Whether a period ending on `last` has no data in Matomo: it ends more than two days
    before the site was created (core/Archive.php skips archiving it)."""
    return site.created is not None and last + timedelta(days=2) < site.created
