"""`Live.getLastVisitsDetails` over a `World`: the visits of the asked days in Matomo's order.

Days are read as Matomo reads them (`period`/`date` in the site's timezone, the next midnight
included, `minTimestamp` strict), paged with `filter_limit`/`filter_offset`, and rendered with
`showColumns`/`hideColumns` applied as Matomo's ColumnDelete filter does.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from .datatable import limit_and_offset
from .dates import resolve
from .records import Visit, local_midnight
from .render import render_visit
from .segments import parse_segment
from .world import World

__all__ = ["live_visits", "live_window"]


def live_visits(world: World, ids: list[int], params: Mapping[str, str]) -> list[dict[str, Any]]:
    """The rendered visits of sites `ids` that a Live request with `params` answers."""
    segment = parse_segment(params.get("segment"))
    limit, offset = limit_and_offset(params)
    if params.get("countVisitorsToFetch"):
        limit, offset = int(params["countVisitorsToFetch"]), 0
    ascending = (params.get("filter_sort_order") or "").lower() == "asc"
    min_ts = params.get("minTimestamp")
    min_timestamp = int(min_ts) if min_ts and min_ts.lstrip("-").isdigit() else None
    with_actions = params.get("doNotFetchActions") not in ("1", "true")
    windows: dict[int, tuple[list[date], int | None, int | None]] = {}
    period, date_text = params.get("period"), params.get("date")
    for id_site in ids:
        windows[id_site] = live_window(world, id_site, period, date_text)
    wanted = None if limit < 0 else offset + limit
    picked: list[Visit] = []
    for id_site in ids:
        days, lo, hi = windows[id_site]
        if min_timestamp is not None:  # strict: last action after minTimestamp
            lo = min_timestamp + 1 if lo is None else max(lo, min_timestamp + 1)
        tz = world.site(id_site).timezone
        for day in sorted(days, reverse=not ascending):
            # A day's visits end before its next midnight: a day wholly outside [lo, hi]
            # is skipped without generating it (as Matomo's index range would skip it).
            if lo is not None and local_midnight(day + timedelta(days=1), tz) <= lo:
                continue
            if hi is not None and local_midnight(day, tz) > hi:
                continue
            ordered = world.live_order(id_site, day)
            start = 0 if lo is None else bisect_left(ordered, lo, key=_last_ts)
            stop = len(ordered) if hi is None else bisect_right(ordered, hi, key=_last_ts)
            visits = ordered[start:stop] if ascending else ordered[start:stop][::-1]
            if segment is not None:
                visits = tuple(v for v in visits if segment(v))
            picked.extend(visits)
            if wanted is not None and len(picked) >= wanted:
                break
    page = picked[offset:] if limit < 0 else picked[offset : offset + limit]
    rendered = [
        render_visit(v, world.site(v.id_site), world.seed, with_actions=with_actions) for v in page
    ]
    return _live_columns(rendered, params)


def live_window(
    world: World, id_site: int, period: str | None, date_text: str | None
) -> tuple[list[date], int | None, int | None]:
    """The days a Live request's `period`/`date` covers on a site, and its timestamp bounds
    (`lo` to `hi` inclusive; None: open)."""
    all_days = [world.first_day + timedelta(days=i) for i in range(world.days)]
    if not period or not date_text:
        return all_days, None, None
    periods = resolve(period, date_text, world.today)
    tz = world.site(id_site).timezone
    start = min(p.start for p in periods.items)
    end = max(p.end for p in periods.items)
    if periods.relative_to_today:
        if period == "day" and date_text.strip().lower() in ("today", "now"):
            start = world.today - timedelta(days=1)  # Matomo 5.11: today starts yesterday
        lo, hi = local_midnight(start, tz), None
        end = world.today
    else:
        # past dates: 00:00 of the first day to 00:00 of the day after, both inclusive
        lo, hi = local_midnight(start, tz), local_midnight(end + timedelta(days=1), tz)
    # visits are filed under the local day of their last action, which never falls on
    # 00:00:00 itself, so the inclusive upper bound needs no day beyond `end`
    days = [d for d in all_days if start <= d <= end]
    return days, lo, hi


def _last_ts(v: Visit) -> int:
    return v.last_ts


def _live_columns(visits: list[dict[str, Any]], params: Mapping[str, str]) -> list[dict[str, Any]]:
    """Matomo's `showColumns`/`hideColumns` on Live rows (its ColumnDelete filter), in place.

    `hideColumns` names are removed from each visit and, as Matomo does for Live unless
    `hideColumnsRecursively=0`, from every array or object nested in it (`actionDetails`...);
    `showColumns` keeps only the named keys of each visit. `visits` are freshly rendered, so
    the keys are deleted where they are: copying every dict cost twice as long.
    """
    hidden = [c for c in (params.get("hideColumns") or "").split(",") if c]
    shown = [c for c in (params.get("showColumns") or "").split(",") if c]
    if not hidden and not shown:
        return visits
    recursive = (params.get("hideColumnsRecursively") or "1").strip() not in ("0", "")
    hide = frozenset(hidden)

    def drop(value: dict[str, Any] | list[Any]) -> None:
        if isinstance(value, dict):
            for key in hide.intersection(value):
                del value[key]
            nested: Any = value.values()
        else:
            nested = value
        if recursive:
            for v in nested:
                if isinstance(v, (dict, list)):
                    drop(v)

    out = []
    for visit in visits:
        if hide:
            drop(visit)
        if shown:
            visit = {k: v for k, v in visit.items() if k in shown}
        out.append(visit)
    return out
