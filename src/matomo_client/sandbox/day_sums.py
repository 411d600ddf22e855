"""One day's visits summed into `DayFacts`: VisitsSummary counters and compact rows.

Each table keeps one row (a list) per key; `_LAYOUTS` in `aggregates.py` says which slots
add up, which take the minimum or maximum, and whether the last slot holds goals. While a
day is summed, unique-visitor slots hold sets and rows carry one extra trailing slot, the
last visit that touched them (so "visits" count each visit once); `_finish` turns sets
into counts and drops that slot. Float sums (revenue, attribution) run in visit and action
order, as Matomo's archiver and the tests that recount visits expect; a title row's integer
counters (hits, time, timings, entries, exits) are added up from its URL rows at the end.
Actions and conversions count on their own day, visits on their last action's (`sum_day`).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from . import catalog as c
from .page_goals import attribute_visit, finish_page_goals
from .records import DOWNLOAD, EVENT, GOAL, OUTLINK, PAGE, SEARCH, Visit
from .visit_goals import add_goals, goal_summary, goals_after, visit_goals

__all__ = ["DayFacts", "Row", "Table", "sum_day"]

Row = list[Any]
Table = dict[Any, Row]
_INF = float("inf")
_NEVER = 1 << 62  # an instant after any action

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
    # visits with a conversion (abandoned carts aside): all, new, returning (Goals.get's
    # nb_visits_converted is VisitsSummary's, not a sum over goals)
    converted_visits: list[int] = field(default_factory=lambda: [0, 0, 0])
    search_keywords: frozenset[int] = frozenset()  # site search keywords (Actions.get nb_keywords)


def sum_day(
    site: c.SiteInfo,
    visits: Sequence[Visit],
    bounds: tuple[int, int] | None = None,
    spill: Sequence[Visit] = (),
) -> DayFacts:
    """Sum one day's visits (or a segment of them) into counters and compact rows.

    One pass: each visit's fields are read once, while it is in the CPU cache, and added
    to its rows (integer sums in any order are exact; float sums keep visit order). With
    `bounds`, the day's [start, end) in UTC seconds, actions and conversions count on their
    own day, as Matomo's archivers put them (`server_time`): those of `visits` before `start`
    are left out, those of `spill` (the next day's visits) before `end` are added. Visit
    figures (VisitsSummary, visit tables, entry and exit pages) stay with `visits`.
    """
    titles = [p.title for p in site.pages]
    goal_revenue: dict[int, float] = {}
    for g in site.goals:
        goal_revenue.setdefault(g[0], g[2])
    event_keys = [(e[0], e[1]) for e in c.EVENTS]
    event_values = [e[3] for e in c.EVENTS]
    pages: dict[Any, tuple[Row, Row]] = {}  # page key -> (URL row, title row)
    page_titles: Table = {}
    downloads: Table = {}
    outlinks: Table = {}
    events: Table = {}
    referrers: Table = {}
    countries: Table = {}
    browsers: Table = {}
    goal_rows: dict[str, Row] = {}
    goal_visits = [0, 0, 0]
    converted_visits = [0, 0, 0]
    keywords: set[int] = set()
    visitors: set[int] = set()
    users: set[str] = set()
    n_actions = n_converted = n_bounced = total_length = max_actions = 0
    n_pageviews = n_downloads = n_outlinks = n_searches = n_events = 0
    start, end = bounds or (-1, _NEVER)
    for v in chain(visits, spill):
        (_, id_visit, visitor, user, returning, referrer, _, browser, country, _, acts,
         first_ts, last_ts, counted, conversions) = v  # fmt: skip
        n = len(acts)
        lo = 0
        vrows: tuple[Row, ...] | None = None
        last_page: Row | None = None
        if last_ts >= end:  # the next day's visit: its actions before `end`, no visit figures
            n = _first_at(acts, end)
            if not n:
                continue
            last_page = _page_row()  # not None: no entry here
            length = bounced = 0
        else:
            length = last_ts - first_ts
            visitors.add(visitor)
            if user:
                users.add(user)
            n_actions += counted
            total_length += length
            if counted > max_actions:
                max_actions = counted
            bounced = counted == 1
            if bounced:
                n_bounced += 1
            if conversions:
                n_converted += 1
                converted_visits[2 if returning else 1] += 1
            vrows = (
                referrers.get(referrer) or _new_row(referrers, referrer),
                countries.get(country) or _new_row(countries, country),
                browsers.get(browser) or _new_row(browsers, browser),
            )
            for row in vrows:
                row[V_VISITS] += 1
                row[V_ACTIONS] += counted
                row[V_LENGTH] += length
                row[V_UNIQ].add(visitor)
                if counted > row[V_MAX_ACTIONS]:
                    row[V_MAX_ACTIONS] = counted
                if bounced:
                    row[V_BOUNCE] += 1
                if conversions:
                    row[V_CONVERTED] += 1
                if user is not None:
                    row[V_USERS].add(user)
            goal_visits[2 if returning else 1] += 1
            # begun the day before: entry here, earlier actions there (unlike Matomo, its pages
            # there get no share of conversions here)
            if first_ts < start:
                lo = _first_at(acts, start)
                last_page = _early_pages(acts, lo, pages, page_titles, titles, visitor, counted)
        timeline: list[tuple[int, str, float]] = []
        if len(acts) != counted:  # goals, orders or an abandoned cart (not in `actions`)
            part = acts if n - lo == len(acts) else acts[lo:n]
            vgoals, timeline = visit_goals(goal_revenue, [a for a in part if a[0] >= GOAL])
            if vgoals:
                vconv, vrevenue = goal_summary(goal_rows, vgoals, returning)
                if vrows is None:
                    vrows = (
                        referrers.get(referrer) or _new_row(referrers, referrer),
                        countries.get(country) or _new_row(countries, country),
                        browsers.get(browser) or _new_row(browsers, browser),
                    )
                for row in vrows:
                    row[V_CONV] += vconv
                    row[V_REVENUE] += vrevenue
                    if row[V_GOALS] is None:
                        row[V_GOALS] = {}
                    add_goals(row[V_GOALS], vgoals)
        hits: list[tuple[int, tuple[Row, Row]]] | None = None
        if timeline:
            hits = []
            # pages viewed up to the first conversion all lead to every conversion
            first_conversion = min(t[0] for t in timeline)
            all_goals = goals_after(timeline, first_conversion)
        after_search = False
        for i in range(lo, n):
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
                pair = pages.get(pkey) or _new_pair(pages, pkey, page_titles, titles[ref])
                perf = a[5]
                page_goals = None
                prow = pair[0]  # the title row gets hits, timings and entries at the end
                prow[P_HITS] += 1
                prow[P_TIME] += spent
                if after_search:
                    prow[P_FOLLOW] += 1
                    after_search = False
                if perf is not None:
                    prow[_PERF_LIST].append(perf)
                for row in pair:
                    if row[-1] != id_visit:
                        row[-1] = id_visit
                        row[P_VISITS] += 1
                        row[P_UNIQ].add(visitor)
                        if timeline:
                            if page_goals is None:
                                page_goals = (
                                    all_goals
                                    if ts <= first_conversion
                                    else goals_after(timeline, ts)
                                )
                            if page_goals:
                                if row[P_GOALS] is None:
                                    row[P_GOALS] = {}
                                add_goals(row[P_GOALS], page_goals)
                if last_page is None:  # the entry page
                    prow[E_VISITS] += 1
                    prow[E_ACTIONS] += counted
                    prow[E_LENGTH] += length
                    if bounced:
                        prow[E_BOUNCE] += 1
                    prow[E_UNIQ].add(visitor)
                last_page = prow
                if hits is not None:
                    hits.append((ts, pair))
            elif kind == SEARCH:
                n_searches += 1
                keywords.add(a[2])
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
        if last_page is not None and last_ts < end:  # the next day's visits exit there
            last_page[X_VISITS] += 1
            last_page[X_UNIQ].add(visitor)
    for prow, trow in pages.values():
        _add_to_title(trow, prow)
    goal_visits[0] = len(visits)
    converted_visits[0] = n_converted
    f = DayFacts(
        nb_visits=len(visits),
        nb_actions=n_actions,
        nb_visits_converted=n_converted,
        bounce_count=n_bounced,
        sum_visit_length=total_length,
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
        converted_visits=converted_visits,
        search_keywords=frozenset(keywords),
    )
    f.rows = {
        "page": {
            (k if isinstance(k, tuple) else (k, "")): _finish_page(r[0]) for k, r in pages.items()
        },
        "title": {k: _finish_page(r) for k, r in page_titles.items()},
        "download": {k: _finish(r, (L_UNIQ,)) for k, r in downloads.items()},
        "outlink": {k: _finish(r, (L_UNIQ,)) for k, r in outlinks.items()},
        "event": {k: _finish(r, (EV_UNIQ,)) for k, r in events.items()},
        "referrer": {_referrer_key(k): _finish_visit(r) for k, r in referrers.items()},
        "country": {k: _finish_visit(r) for k, r in countries.items()},
        "browser": {k: _finish_visit(r) for k, r in browsers.items()},
    }
    return f


def _first_at(acts: Sequence[Any], ts: int) -> int:
    """The index of a visit's first action at or after `ts` (its length if none)."""
    i = 0
    n = len(acts)
    while i < n and acts[i][1] < ts:
        i += 1
    return i


def _early_pages(
    acts: Sequence[Any],
    lo: int,
    pages: dict[Any, tuple[Row, Row]],
    page_titles: Table,
    titles: list[str],
    visitor: int,
    counted: int,
) -> Row:
    """For a visit begun the day before (its actions from `lo` on are this day's): add its
    entry to its first page's row, and the time of an earlier page whose next action is this
    day's (Matomo's `time_spent_ref_action` counts on the next action's day); the URL row of
    its last page before `lo`, the exit page unless a later page follows."""
    last_page: Row | None = None
    n = len(acts)
    for i in range(lo):
        a = acts[i]
        if a[0] != PAGE:
            continue
        pkey = (a[2], a[4]) if a[4] else a[2]
        prow = (pages.get(pkey) or _new_pair(pages, pkey, page_titles, titles[a[2]]))[0]
        if last_page is None:
            prow[E_VISITS] += 1
            prow[E_ACTIONS] += counted
            prow[E_LENGTH] += acts[-1][1] - acts[0][1]
            prow[E_UNIQ].add(visitor)  # not a bounce: it has actions on two days
        j = i + 1
        while j < n and acts[j][1] <= a[1]:
            j += 1
        if lo <= j < n:
            prow[P_TIME] += acts[j][1] - a[1]
        last_page = prow
    assert last_page is not None  # a visit begins with a page view
    return last_page


def _new_row(table: Table, key: Any) -> Row:
    """A visit-table row while summing: unique visitors and users as sets (`_finish_visit`)."""
    row = table[key] = [0, 0, 0, 0, 0, 0, 0, set(), set(), 0, None]
    return row


def _finish_visit(row: Row) -> Row:
    row[V_UNIQ] = len(row[V_UNIQ])
    row[V_USERS] = len(row[V_USERS])
    return row


def _add_to_title(trow: Row, prow: Row) -> None:
    """Add a URL row's hits, time, timings, entries and exits to its title row (all ints)."""
    for i in (P_HITS, P_TIME, P_FOLLOW, E_VISITS, E_ACTIONS, E_LENGTH, E_BOUNCE, X_VISITS):
        trow[i] += prow[i]
    trow[_PERF_LIST] += prow[_PERF_LIST]
    trow[E_UNIQ] |= prow[E_UNIQ]
    trow[X_UNIQ] |= prow[X_UNIQ]


def _new_pair(
    pages: dict[Any, tuple[Row, Row]], pkey: Any, page_titles: Table, title: str
) -> tuple[Row, Row]:
    """The (URL row, title row) of a page key seen for the first time."""
    trow = page_titles.get(title)
    if trow is None:
        trow = page_titles[title] = _page_row()
    pair = pages[pkey] = (_page_row(), trow)
    return pair


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
