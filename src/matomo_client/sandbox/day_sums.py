"""One day's visits summed into `DayFacts`: VisitsSummary counters and compact rows.

Each table keeps one row (a list) per key; `_LAYOUTS` in `aggregates.py` says which slots
add up, which take the minimum or maximum, and whether the last slot holds goals. While a
day is summed, unique-visitor slots hold sets and rows carry one extra trailing slot, the
last visit that touched them (so "visits" count each visit once); `_finish` turns sets
into counts and drops that slot. Sums run in visit and action order, as Matomo's archiver
and the tests that recount visits expect.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import add
from typing import Any

from . import catalog as c
from .records import DOWNLOAD, EVENT, GOAL, ORDER, OUTLINK, PAGE, SEARCH, Visit

__all__ = ["DayFacts", "Row", "Table", "sum_day"]

Row = list[Any]
Table = dict[Any, Row]
_INF = float("inf")
_CART = "idgoal=ecommerceAbandonedCart"
_ORDER = "idgoal=ecommerceOrder"

# Row layouts: (additive slots, min slots, max slots, has a goals dict in the last slot).
# visit tables (referrer, country, browser)
V_VISITS, V_ACTIONS, V_LENGTH, V_BOUNCE, V_CONVERTED, V_CONV, V_REVENUE, V_UNIQ, V_USERS = range(9)
V_MAX_ACTIONS, V_GOALS = 9, 10
# page tables (page URL, page title): entry/exit counters, then page timings
(P_HITS, P_TIME, P_FOLLOW, P_VISITS, P_UNIQ, E_VISITS, E_ACTIONS, E_LENGTH, E_BOUNCE, E_UNIQ,
 X_VISITS, X_UNIQ, P_PERF_N) = range(13)  # fmt: skip
P_PERF_SUM, P_PERF_MIN, P_PERF_MAX, P_GOALS = 13, 19, 25, 31
# link tables (downloads, outlinks)
L_HITS, L_FOLLOW, L_VISITS, L_UNIQ = range(4)
# events: (category, action)
EV_N, EV_WITH_VALUE, EV_SUM, EV_VISITS, EV_UNIQ, EV_MIN, EV_MAX = range(7)


@dataclass
class DayFacts:
    """What one day of one site adds up to, in compact rows (see `_LAYOUTS`)."""

    nb_visits: int = 0
    nb_actions: int = 0
    nb_visits_converted: int = 0
    bounce_count: int = 0
    sum_visit_length: int = 0
    max_actions: int = 0
    nb_pageviews: int = 0
    nb_downloads: int = 0
    nb_outlinks: int = 0
    nb_searches: int = 0
    nb_events: int = 0
    visitor_ids: array[int] = field(default_factory=lambda: array("q"))
    user_ids: frozenset[str] = frozenset()
    rows: dict[str, Table] = field(default_factory=dict)
    goal_visits: list[int] = field(default_factory=lambda: [0, 0, 0])  # all, new, returning
    goal_rows: dict[str, Row] = field(default_factory=dict)  # visit goal slots x (all, new, ret.)


def _visit_goals(
    site: c.SiteInfo, convs: list[Any]
) -> tuple[dict[str, Row], list[tuple[int, str, float]]]:
    """Goal slots of one visit, and (time, goal, revenue) of each conversion for pages."""
    goals: dict[str, Row] = {}
    timeline: list[tuple[int, str, float]] = []
    for a in convs:
        kind = a[0]
        order = a.order
        if kind == GOAL:
            name = f"idgoal={a[2]}"
            revenue = next((g[2] for g in site.goals if g[0] == a[2]), 0.0)
        elif order is None:
            continue
        else:
            name = _ORDER if kind == ORDER else _CART
            revenue = order.revenue
        g = goals.get(name)
        if g is None:
            g = goals[name] = [0, 1, 0, 0, 0, 0, 0, 0]
        g[0] += 1
        g[2] += revenue
        if order is not None:
            if kind == ORDER:
                g[3] += order.subtotal
                g[4] += order.tax
                g[5] += order.shipping
                g[6] += order.discount
            g[7] += order.quantity
        timeline.append((a[1], name, revenue))
    return goals, timeline


def _page_goals(timeline: list[tuple[int, str, float]], ts: int) -> dict[str, Row]:
    """Conversions at or after a page view, per goal: [conversions, revenue, 1]."""
    goals: dict[str, Row] = {}
    for cts, name, revenue in timeline:
        if cts < ts:
            continue
        g = goals.get(name)
        if g is None:
            g = goals[name] = [0, 0, 1]
        g[0] += 1
        g[1] += revenue
    return goals


def _add_goals(into: dict[str, Row], goals: dict[str, Row]) -> None:
    for name, g in goals.items():
        have = into.get(name)
        if have is None:
            into[name] = g[:]
        else:
            have[:] = map(add, have, g)


def sum_day(site: c.SiteInfo, visits: Sequence[Visit]) -> DayFacts:
    """Sum one day's visits (or a segment of them) into counters and compact rows."""
    titles = [p.title for p in site.pages]
    event_keys = [(e[0], e[1]) for e in c.EVENTS]
    event_values = [e[3] for e in c.EVENTS]
    pages: Table = {}
    page_titles: Table = {}
    downloads: Table = {}
    outlinks: Table = {}
    events: Table = {}
    referrers: Table = {}
    countries: Table = {}
    browsers: Table = {}
    goal_rows: dict[str, Row] = {}
    goal_visits = [0, 0, 0]
    visitors: set[int] = set()
    users: set[str] = set()
    n_visits = n_actions = n_converted = n_bounces = sum_length = max_actions = 0
    n_pageviews = n_downloads = n_outlinks = n_searches = n_events = 0
    for v in visits:
        id_visit = v.id_visit
        visitor = v.visitor
        user_id = v.user_id
        acts = v.actions
        counted = v.n_actions
        length = v.last_ts - v.first_ts
        bounce = 1 if counted == 1 else 0
        converted = 1 if v.conversions else 0
        n_visits += 1
        n_actions += counted
        sum_length += length
        n_bounces += bounce
        n_converted += converted
        if counted > max_actions:
            max_actions = counted
        visitors.add(visitor)
        if user_id:
            users.add(user_id)
        convs = [a for a in acts if a[0] >= GOAL]
        vgoals: dict[str, Row] | None = None
        timeline: list[tuple[int, str, float]] = []
        vconv = 0
        vrevenue: float = 0
        if convs:
            vgoals, timeline = _visit_goals(site, convs)
            for name, g in vgoals.items():
                if name != _CART:
                    vconv += g[0]
                    vrevenue += g[2]
            returning = 2 if v.returning else 1
            goal_visits[0] += 1
            goal_visits[returning] += 1
            for name, g in vgoals.items():
                r = goal_rows.get(name)
                if r is None:
                    r = goal_rows[name] = [0] * 24
                r[0:8] = map(add, r[0:8], g)
                off = 8 * returning
                r[off : off + 8] = map(add, r[off : off + 8], g)
        else:
            goal_visits[0] += 1
            goal_visits[2 if v.returning else 1] += 1
        for table, key in ((referrers, v.referrer), (countries, v.country), (browsers, v.browser)):
            row = table.get(key)
            if row is None:
                row = table[key] = [0, 0, 0, 0, 0, 0, 0, set(), set(), 0, None]
            row[V_VISITS] += 1
            row[V_ACTIONS] += counted
            row[V_LENGTH] += length
            row[V_BOUNCE] += bounce
            row[V_CONVERTED] += converted
            if counted > row[V_MAX_ACTIONS]:
                row[V_MAX_ACTIONS] = counted
            row[V_UNIQ].add(visitor)
            if user_id:
                row[V_USERS].add(user_id)
            if vgoals:
                row[V_CONV] += vconv
                row[V_REVENUE] += vrevenue
                if row[V_GOALS] is None:
                    row[V_GOALS] = {}
                _add_goals(row[V_GOALS], vgoals)
        # actions
        n = len(acts)
        after_search = False
        entry = True
        exit_rows: tuple[Row, Row] | None = None
        for i in range(n):
            a = acts[i]
            kind = a[0]
            if kind == PAGE:
                n_pageviews += 1
                ts = a[1]
                j = i + 1
                while j < n and acts[j][1] <= ts:
                    j += 1
                spent = acts[j][1] - ts if j < n else 0
                ref = a[2]
                query = a[4]
                perf = a[5]
                pkey = (ref, query) if query else ref
                prow = pages.get(pkey)
                if prow is None:
                    prow = pages[pkey] = _page_row()
                title = titles[ref]
                trow = page_titles.get(title)
                if trow is None:
                    trow = page_titles[title] = _page_row()
                secs = [ms / 1000 for ms in perf] if perf is not None else None
                page_goals: dict[str, Row] | None = None
                for row in (prow, trow):
                    row[P_HITS] += 1
                    row[P_TIME] += spent
                    if after_search:
                        row[P_FOLLOW] += 1
                    if secs is not None:
                        row[P_PERF_N] += 1
                        row[13:19] = map(add, row[13:19], secs)
                        row[19:25] = map(min, row[19:25], secs)
                        row[25:31] = map(max, row[25:31], secs)
                    if row[-1] != id_visit:
                        row[-1] = id_visit
                        row[P_VISITS] += 1
                        row[P_UNIQ].add(visitor)
                        if timeline:
                            if page_goals is None:
                                page_goals = _page_goals(timeline, ts)
                            if page_goals:
                                if row[P_GOALS] is None:
                                    row[P_GOALS] = {}
                                _add_goals(row[P_GOALS], page_goals)
                    if entry:
                        row[E_VISITS] += 1
                        row[E_ACTIONS] += counted
                        row[E_LENGTH] += length
                        row[E_BOUNCE] += bounce
                        row[E_UNIQ].add(visitor)
                entry = False
                exit_rows = (prow, trow)
                after_search = False
            elif kind in (DOWNLOAD, OUTLINK):
                if kind == DOWNLOAD:
                    n_downloads += 1
                    table = downloads
                else:
                    n_outlinks += 1
                    table = outlinks
                row = table.get(a[2])
                if row is None:
                    row = table[a[2]] = [0, 0, 0, set(), None]
                row[L_HITS] += 1
                if after_search:
                    row[L_FOLLOW] += 1
                if row[-1] != id_visit:
                    row[-1] = id_visit
                    row[L_VISITS] += 1
                    row[L_UNIQ].add(visitor)
            elif kind == SEARCH:
                n_searches += 1
                after_search = True
            elif kind == EVENT:
                n_events += 1
                ekey = event_keys[a[2]]
                value = event_values[a[2]]
                row = events.get(ekey)
                if row is None:
                    row = events[ekey] = [0, 0, 0, 0, set(), _INF, -_INF, None]
                row[EV_N] += 1
                if value is not None:
                    row[EV_WITH_VALUE] += 1
                    row[EV_SUM] += value
                    if value < row[EV_MIN]:
                        row[EV_MIN] = value
                    if value > row[EV_MAX]:
                        row[EV_MAX] = value
                if row[-1] != id_visit:
                    row[-1] = id_visit
                    row[EV_VISITS] += 1
                    row[EV_UNIQ].add(visitor)
        if exit_rows is not None:
            for row in exit_rows:
                row[X_VISITS] += 1
                row[X_UNIQ].add(visitor)
    f = DayFacts(
        nb_visits=n_visits,
        nb_actions=n_actions,
        nb_visits_converted=n_converted,
        bounce_count=n_bounces,
        sum_visit_length=sum_length,
        max_actions=max_actions,
        nb_pageviews=n_pageviews,
        nb_downloads=n_downloads,
        nb_outlinks=n_outlinks,
        nb_searches=n_searches,
        nb_events=n_events,
        visitor_ids=array("q", visitors),
        user_ids=frozenset(users),
        goal_visits=goal_visits,
        goal_rows=goal_rows,
    )
    f.rows = {
        "page": {
            (k if isinstance(k, tuple) else (k, "")): _finish(r, (P_UNIQ, E_UNIQ, X_UNIQ), True)
            for k, r in pages.items()
        },
        "title": {k: _finish(r, (P_UNIQ, E_UNIQ, X_UNIQ), True) for k, r in page_titles.items()},
        "download": {k: _finish(r, (L_UNIQ,), True) for k, r in downloads.items()},
        "outlink": {k: _finish(r, (L_UNIQ,), True) for k, r in outlinks.items()},
        "event": {k: _finish(r, (EV_UNIQ,), True) for k, r in events.items()},
        "referrer": {_referrer_key(k): _finish(r, (V_UNIQ, V_USERS)) for k, r in referrers.items()},
        "country": {k: _finish(r, (V_UNIQ, V_USERS)) for k, r in countries.items()},
        "browser": {k: _finish(r, (V_UNIQ, V_USERS)) for k, r in browsers.items()},
    }
    return f


def _page_row() -> Row:
    return [0, 0, 0, 0, set(), 0, 0, 0, 0, set(), 0, set(), 0, 0, 0, 0, 0, 0, 0,
            _INF, _INF, _INF, _INF, _INF, _INF, -_INF, -_INF, -_INF, -_INF, -_INF, -_INF,
            None, None]  # fmt: skip


def _finish(row: Row, sets: tuple[int, ...], marked: bool = False) -> Row:
    for i in sets:
        row[i] = len(row[i])
    if marked:
        row.pop()
    return row


def _referrer_key(ref: Any) -> tuple[str, str, str]:
    detail = ref.keyword if ref.type in ("search", "campaign") else (ref.url or "")
    return (ref.type, ref.name, detail)
