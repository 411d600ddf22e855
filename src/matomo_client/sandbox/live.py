"""`Live.getLastVisitsDetails` over a `World`: the visits of the asked days in Matomo's order.

Days are read as Matomo's `Live\\Model::getStartAndEndDate` reads them (`period`/`date` in the
site's timezone, UTC for several sites; the next midnight included; today's date starting a day
early and open-ended; several periods one range of days), `minTimestamp` strict, ordered by
(last action, idVisit) across all the sites asked, paged with Live's own `filter_limit`/
`filter_offset` rules, and rendered with `showColumns`/`hideColumns` applied as Matomo's
ColumnDelete filter does.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from .dates import containing, resolve, single_date
from .records import Visit, local_midnight
from .render import render_visit
from .segments import parse_segment
from .world import World

__all__ = ["live_limit_and_offset", "live_visits", "live_window"]

_INT = re.compile(r"^-?[0-9]+$")


def live_limit_and_offset(params: Mapping[str, str]) -> tuple[int, int]:
    """Live's `filter_limit` and `filter_offset` (-1: no limit), as `Live\\API` reads them.

    Matomo's API controller sends 100 when no `filter_limit` is given; Live reads it with
    `Common::getRequestVar('filter_limit', 10, 'int')` (an empty or non-integer value is 10)
    and its SQL has no LIMIT for anything below 1 (`0` and `-1` both mean every visit).
    `countVisitorsToFetch` (deprecated) is PHP's `(int)` of its value, with offset 0.
    """
    count = params.get("countVisitorsToFetch")
    if count is not None:
        m = re.match(r"\s*([+-]?[0-9]+)", count)
        limit = int(m[1]) if m else 0
        return (limit if limit >= 1 else -1), 0
    raw = (params.get("filter_limit") or "").strip()
    limit = 100 if "filter_limit" not in params else int(raw) if _INT.match(raw) else 10
    raw_offset = (params.get("filter_offset") or "").strip()
    offset = int(raw_offset) if _INT.match(raw_offset) else 0
    return (limit if limit >= 1 else -1), max(0, offset)


def _live_key(v: Visit) -> tuple[int, int]:
    return v.last_ts, v.id_visit


def live_visits(
    world: World,
    ids: list[int],
    params: Mapping[str, str],
    *,
    several_sites: bool | None = None,
) -> list[dict[str, Any]]:
    """The rendered visits of sites `ids` that a Live request with `params` answers.

    `several_sites` (default: more than one id) is whether the request named several sites
    (`idSite=all` or a list): the dates are then UTC dates, as Matomo reads them in its default
    timezone, and the sites' visits are interleaved by last action time.
    """
    segment = parse_segment(params.get("segment"), world.sites, ids)
    limit, offset = live_limit_and_offset(params)
    ascending = (params.get("filter_sort_order") or "").lower() == "asc"
    min_ts = params.get("minTimestamp")
    min_timestamp = int(min_ts) if min_ts and _INT.match(min_ts) else None
    with_actions = params.get("doNotFetchActions") not in ("1", "true")
    several = len(ids) > 1 if several_sites is None else several_sites
    period, date_text = params.get("period"), params.get("date")
    windows = {
        id_site: live_window(world, id_site, period, date_text, "UTC" if several else None)
        for id_site in ids
    }
    wanted = None if limit < 0 else offset + limit
    per_site: list[list[Visit]] = []
    for id_site in ids:
        days, lo, hi = windows[id_site]
        if min_timestamp is not None:  # strict: last action after minTimestamp
            lo = min_timestamp + 1 if lo is None else max(lo, min_timestamp + 1)
        tz = world.site(id_site).timezone
        picked: list[Visit] = []
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
        per_site.append(picked)
    if len(per_site) == 1:
        merged = per_site[0]
    else:  # ORDER BY visit_last_action_time, idvisit across the sites (no idsite first)
        merged = list(heapq.merge(*per_site, key=_live_key, reverse=not ascending))
    page = merged[offset:] if limit < 0 else merged[offset : offset + limit]
    rendered = [
        render_visit(v, world.site(v.id_site), world.seed, with_actions=with_actions) for v in page
    ]
    return _live_columns(rendered, params)


def live_window(
    world: World, id_site: int, period: str | None, date_text: str | None, tz: str | None = None
) -> tuple[list[date], int | None, int | None]:
    """The days a Live request's `period`/`date` covers on a site, and its timestamp bounds
    (`lo` to `hi` inclusive; None: open), read in `tz` (default: the site's timezone).

    As `Live\\Model::getStartAndEndDate`: several periods (lastN, previousN, `A,B`) and
    `period=range` are one range of days; a single date that is today (`today`, `now` or its
    date) is moved a day back before its period is taken (matomo#22543); the end is open for
    today, lastN/previousN and a range ending today, else the midnight after the period.
    """
    own_tz = world.site(id_site).timezone
    tz = tz or own_tz
    # relative dates in the site's timezone (in UTC for several sites)
    today = world.site_today(id_site) if tz == own_tz else world.today
    last_day = max(world.today, world.site_today(id_site))
    all_days = [
        world.first_day + timedelta(days=i) for i in range((last_day - world.first_day).days + 1)
    ]
    if not period or not date_text:
        return all_days, None, None
    periods = resolve(period, date_text, today)  # Matomo's validation and error texts
    text = date_text.strip()
    word = text.lower()
    if period == "range" or periods.multi:
        span = resolve("range", text, today).items[0]  # `new Range('range', $date)`: days
        end_word = word.partition(",")[2].strip()
        is_today = end_word in ("today", "now") or (end_word != "" and span.end == today)
        open_end = word.startswith(("last", "previous")) or is_today
    else:
        day = single_date(text, today)
        open_end = word in ("today", "now") or day == today
        span = containing(period, day - timedelta(days=1) if open_end else day)
    lo = local_midnight(span.start, tz) if span.start <= today else None
    if lo is None:  # after today: nothing to read
        return [], None, None
    # both bounds inclusive: 00:00 of the first day to 00:00 after the last one; days past
    # today hold no visits, so the bound stops at the midnight after today
    hi = None if open_end else local_midnight(min(span.end, today) + timedelta(days=1), tz)
    first, last = span.start, today if open_end else min(span.end, today)
    if tz != own_tz:
        # visits are filed under their site's local day: in another timezone the bounds fall
        # inside the neighbouring days, whose visits `lo`/`hi` then sort out
        first, last = first - timedelta(days=1), last + timedelta(days=1)
    days = [d for d in all_days if first <= d <= last]
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
