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
from operator import add, itemgetter
from typing import Any

from . import catalog as c
from .page_goals import attribute_visit, finish_page_goals, new_page_goal
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
    """Conversions at or after a page view, per goal: [conversions, revenue, 1, ...] (`G_*`)."""
    goals: dict[str, Row] = {}
    for cts, name, revenue in timeline:
        if cts < ts:
            continue
        g = goals.get(name)
        if g is None:
            g = goals[name] = new_page_goal()
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
    # visit-level tables and page entries/exits: visits grouped per key, summed at the end
    by_referrer: dict[Any, list[Visit]] = {}
    by_country: dict[Any, list[Visit]] = {}
    by_browser: dict[Any, list[Visit]] = {}
    entries: dict[int, tuple[Row, list[Visit]]] = {}
    exits: dict[int, tuple[Row, list[int]]] = {}
    with_goals: list[tuple[Visit, dict[str, Row], int, float]] = []
    goal_rows: dict[str, Row] = {}
    goal_visits = [0, 0, 0]
    n_pageviews = n_downloads = n_outlinks = n_searches = n_events = 0
    for v in visits:
        id_visit = v.id_visit
        visitor = v.visitor
        acts = v.actions
        _group(by_referrer, v.referrer, v)
        _group(by_country, v.country, v)
        _group(by_browser, v.browser, v)
        goal_visits[2 if v.returning else 1] += 1
        timeline: list[tuple[int, str, float]] = []
        goal_actions = [a for a in acts if a[0] >= GOAL]
        if goal_actions:
            vgoals, timeline = _visit_goals(site, goal_actions)
            if vgoals:
                _goal_summary(goal_rows, vgoals, v.returning, v, with_goals)
        n = len(acts)
        hits: list[tuple[int, Row, Row]] | None = [] if timeline else None
        after_search = False
        first_page = True
        last_rows: tuple[Row, Row] | None = None
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
                pkey = (ref, query) if query else ref
                prow = pages.get(pkey)
                if prow is None:
                    prow = pages[pkey] = _page_row()
                title = titles[ref]
                trow = page_titles.get(title)
                if trow is None:
                    trow = page_titles[title] = _page_row()
                prow[P_HITS] += 1
                prow[P_TIME] += spent
                trow[P_HITS] += 1
                trow[P_TIME] += spent
                if after_search:
                    prow[P_FOLLOW] += 1
                    trow[P_FOLLOW] += 1
                    after_search = False
                perf = a[5]
                if perf is not None:
                    prow[_PERF_LIST].append(perf)
                    trow[_PERF_LIST].append(perf)
                page_goals = None
                for row in (prow, trow):
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
                if first_page:
                    first_page = False
                    for row in (prow, trow):
                        entry = entries.get(id(row))
                        if entry is None:
                            entries[id(row)] = (row, [v])
                        else:
                            entry[1].append(v)
                last_rows = (prow, trow)
                if hits is not None:
                    hits.append((ts, prow, trow))
            elif kind == SEARCH:
                n_searches += 1
                after_search = True
            elif kind == EVENT:
                n_events += 1
                ekey = event_keys[a[2]]
                value = event_values[a[2]]
                erow = events.get(ekey)
                if erow is None:
                    erow = events[ekey] = [0, 0, 0, 0, set(), _INF, -_INF, None]
                erow[EV_N] += 1
                if value is not None:
                    erow[EV_WITH_VALUE] += 1
                    erow[EV_SUM] += value
                    if value < erow[EV_MIN]:
                        erow[EV_MIN] = value
                    if value > erow[EV_MAX]:
                        erow[EV_MAX] = value
                if erow[-1] != id_visit:
                    erow[-1] = id_visit
                    erow[EV_VISITS] += 1
                    erow[EV_UNIQ].add(visitor)
            elif kind in (DOWNLOAD, OUTLINK):
                if kind == DOWNLOAD:
                    n_downloads += 1
                    table = downloads
                else:
                    n_outlinks += 1
                    table = outlinks
                lrow = table.get(a[2])
                if lrow is None:
                    lrow = table[a[2]] = [0, 0, 0, set(), None]
                lrow[L_HITS] += 1
                if after_search:
                    lrow[L_FOLLOW] += 1
                if lrow[-1] != id_visit:
                    lrow[-1] = id_visit
                    lrow[L_VISITS] += 1
                    lrow[L_UNIQ].add(visitor)
        if hits:
            attribute_visit(hits, timeline, P_GOALS)
        if last_rows is not None:
            for row in last_rows:
                leaving = exits.get(id(row))
                if leaving is None:
                    exits[id(row)] = (row, [visitor])
                else:
                    leaving[1].append(visitor)
    for row, entered in entries.values():
        counted = list(map(_N_ACTIONS, entered))
        row[E_VISITS] = len(entered)
        row[E_ACTIONS] = sum(counted)
        row[E_LENGTH] = sum(map(_LAST_TS, entered)) - sum(map(_FIRST_TS, entered))
        row[E_BOUNCE] = counted.count(1)
        row[E_UNIQ] = set(map(_VISITOR, entered))
    for row, left in exits.values():
        row[X_VISITS] = len(left)
        row[X_UNIQ] = set(left)
    referrers = {key: _visit_row(vs) for key, vs in by_referrer.items()}
    countries = {key: _visit_row(vs) for key, vs in by_country.items()}
    browsers = {key: _visit_row(vs) for key, vs in by_browser.items()}
    for v, vgoals, vconv, vrevenue in with_goals:
        for row in (referrers[v.referrer], countries[v.country], browsers[v.browser]):
            row[V_CONV] += vconv
            row[V_REVENUE] += vrevenue
            if row[V_GOALS] is None:
                row[V_GOALS] = {}
            _add_goals(row[V_GOALS], vgoals)
    goal_visits[0] = len(visits)
    counted = list(map(_N_ACTIONS, visits))
    users = {u for u in map(_USER_ID, visits) if u}
    f = DayFacts(
        nb_visits=len(visits),
        nb_actions=sum(counted),
        nb_visits_converted=len(visits) - list(map(_CONVERSIONS, visits)).count(0),
        bounce_count=counted.count(1),
        sum_visit_length=sum(map(_LAST_TS, visits)) - sum(map(_FIRST_TS, visits)),
        max_actions=max(counted, default=0),
        nb_pageviews=n_pageviews,
        nb_downloads=n_downloads,
        nb_outlinks=n_outlinks,
        nb_searches=n_searches,
        nb_events=n_events,
        visitor_ids=array("q", set(map(_VISITOR, visits))),
        user_ids=frozenset(users),
        goal_visits=goal_visits,
        goal_rows=goal_rows,
    )
    f.rows = {
        "page": {
            (k if isinstance(k, tuple) else (k, "")): _finish_page(r) for k, r in pages.items()
        },
        "title": {k: _finish_page(r) for k, r in page_titles.items()},
        "download": {k: _finish(r, (L_UNIQ,)) for k, r in downloads.items()},
        "outlink": {k: _finish(r, (L_UNIQ,)) for k, r in outlinks.items()},
        "event": {k: _finish(r, (EV_UNIQ,)) for k, r in events.items()},
        "referrer": {_referrer_key(k): r for k, r in referrers.items()},
        "country": countries,
        "browser": browsers,
    }
    return f


_VISITOR = itemgetter(Visit._fields.index("visitor"))
_USER_ID = itemgetter(Visit._fields.index("user_id"))
_FIRST_TS = itemgetter(Visit._fields.index("first_ts"))
_LAST_TS = itemgetter(Visit._fields.index("last_ts"))
_N_ACTIONS = itemgetter(Visit._fields.index("n_actions"))
_CONVERSIONS = itemgetter(Visit._fields.index("conversions"))


def _group(groups: dict[Any, list[Visit]], key: Any, v: Visit) -> None:
    members = groups.get(key)
    if members is None:
        groups[key] = [v]
    else:
        members.append(v)


def _visit_row(vs: list[Visit]) -> Row:
    """A visit-table row (goals added separately) from the visits of one key."""
    counted = list(map(_N_ACTIONS, vs))
    users = set(map(_USER_ID, vs))
    users.discard(None)
    return [
        len(vs),
        sum(counted),
        sum(map(_LAST_TS, vs)) - sum(map(_FIRST_TS, vs)),
        counted.count(1),
        len(vs) - list(map(_CONVERSIONS, vs)).count(0),
        0,
        0,
        len(set(map(_VISITOR, vs))),
        len(users),
        max(counted),
        None,
    ]


def _goal_summary(
    goal_rows: dict[str, Row],
    vgoals: dict[str, Row],
    returning: bool,
    v: Visit,
    with_goals: list[tuple[Visit, dict[str, Row], int, float]],
) -> None:
    """Add a visit's goals to Goals.get's rows and note them for the visit tables."""
    vconv = 0
    vrevenue: float = 0
    for name, g in vgoals.items():
        if name != _CART:
            vconv += g[0]
            vrevenue += g[2]
    with_goals.append((v, vgoals, vconv, vrevenue))
    off = 16 if returning else 8
    for name, g in vgoals.items():
        r = goal_rows.get(name)
        if r is None:
            r = goal_rows[name] = [0] * 24
        r[0:8] = map(add, r[0:8], g)
        r[off : off + 8] = map(add, r[off : off + 8], g)


_PERF_LIST = P_PERF_N  # while summing: the page timings of the row's hits


def _page_row() -> Row:
    return [0, 0, 0, 0, set(), 0, 0, 0, 0, set(), 0, set(), [], 0, 0, 0, 0, 0, 0,
            _INF, _INF, _INF, _INF, _INF, _INF, -_INF, -_INF, -_INF, -_INF, -_INF, -_INF,
            None, None]  # fmt: skip


def _finish_page(row: Row) -> Row:
    timings = row[_PERF_LIST]
    row[P_PERF_N] = len(timings)
    if timings:
        columns = list(zip(*timings, strict=True))
        row[P_PERF_SUM : P_PERF_SUM + 6] = map(sum, columns)
        row[P_PERF_MIN : P_PERF_MIN + 6] = map(min, columns)
        row[P_PERF_MAX : P_PERF_MAX + 6] = map(max, columns)
    finish_page_goals(row[P_GOALS], row[E_VISITS])
    return _finish(row, (P_UNIQ, E_UNIQ, X_UNIQ))


def _finish(row: Row, sets: tuple[int, ...]) -> Row:
    """Unique sets to counts; drop the last-visit marker."""
    for i in sets:
        row[i] = len(row[i])
    row.pop()
    return row


def _referrer_key(ref: Any) -> tuple[str, str, str]:
    detail = ref.keyword if ref.type in ("search", "campaign") else (ref.url or "")
    return (ref.type, ref.name, detail)
