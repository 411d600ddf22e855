"""One day's visits summed by the visit dimensions `sum_day` leaves out, and ecommerce items.

Devices, operating systems, browser versions, resolutions, languages, continents, cities, user
ids, the hour a visit began, its length and its number of actions: one visit row per value (the
layout of `sum_day`'s country and browser rows, goals included), so that each of these reports
adds up to VisitsSummary's visits. Items: product page views and the items of orders and
abandoned carts, by product and by category. Site searches by keyword and by category, and
conversions by the visitor's days since the first visit. Conversions, searches and views count
on their own day, visits on their last action's, as in `sum_day`. These tables are summed only
when a report asks for them (`dimension_facts`), in their own cache: VisitsSummary and the
other reports never pay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

from . import catalog as c
from .day_sums import (
    V_ACTIONS,
    V_BOUNCE,
    V_CONV,
    V_CONVERTED,
    V_GOALS,
    V_LENGTH,
    V_MAX_ACTIONS,
    V_REVENUE,
    V_UNIQ,
    V_USERS,
    V_VISITS,
    DayFacts,
    Row,
    Table,
    _finish,
    _finish_visit,
    _first_at,
    _new_row,
)
from .records import CART, GOAL, ORDER, PAGE, SEARCH, Visit, utc_offset
from .render import visit_days_since_first, visit_resolution, visitor_hex
from .visit_goals import add_goals, goal_summary, visit_goals

__all__ = [
    "CONVERSION_DAY_BUCKETS",
    "DAYS_TO_CONVERSION",
    "DIMENSION_TABLES",
    "DURATION_BUCKETS",
    "ITEM_TABLES",
    "I_CARTS",
    "I_CART_QTY",
    "I_CART_REVENUE",
    "I_HITS",
    "I_ORDERS",
    "I_QTY",
    "I_REVENUE",
    "I_UNIQ",
    "I_VISITS",
    "PAGES_BUCKETS",
    "SEARCH_TABLES",
    "S_HITS",
    "S_TIME",
    "S_UNIQ",
    "S_VISITS",
    "USER_LAST",
    "sum_dimensions",
]

#: (upper bound in seconds, label, segment) of VisitorInterest's visit length ranges
DURATION_BUCKETS: tuple[tuple[float, str, str], ...] = (
    (10, "0–10s", "visitDuration>=0;visitDuration<=10"),
    (30, "11–30s", "visitDuration>=11;visitDuration<=30"),
    (60, "31–60s", "visitDuration>=31;visitDuration<=60"),
    (120, "1-2 min", "visitDuration>=60;visitDuration<=120"),
    (240, "2-4 min", "visitDuration>=120;visitDuration<=240"),
    (420, "4-7 min", "visitDuration>=240;visitDuration<=420"),
    (600, "7-10 min", "visitDuration>=420;visitDuration<=600"),
    (900, "10-15 min", "visitDuration>=600;visitDuration<=900"),
    (1800, "15-30 min", "visitDuration>=900;visitDuration<=1800"),
    (float("inf"), "30+ min", "visitDuration>=1801"),
)
#: (upper bound of actions, label, segment) of VisitorInterest's number of actions ranges
PAGES_BUCKETS: tuple[tuple[float, str, str], ...] = (
    (1, "1 page", "actions==1"),
    (2, "2 pages", "actions==2"),
    (3, "3 pages", "actions==3"),
    (4, "4 pages", "actions==4"),
    (5, "5 pages", "actions==5"),
    (7, "6-7 pages", "actions>=6;actions<=7"),
    (10, "8-10 pages", "actions>=8;actions<=10"),
    (14, "11-14 pages", "actions>=11;actions<=14"),
    (20, "15-20 pages", "actions>=15;actions<=20"),
    (float("inf"), "21+ pages", "actions>=21"),
)


#: (upper bound in days, label) of Goals.getDaysToConversion's ranges (recorded 116)
CONVERSION_DAY_BUCKETS: tuple[tuple[float, str], ...] = (
    (0, "0 days"),
    (1, "1 day"),
    *((n, f"{n} days") for n in range(2, 8)),
    (14, "8-14 days"),
    (30, "15-30 days"),
    (60, "31-60 days"),
    (120, "61-120 days"),
    (364, "121-364 days"),
    (float("inf"), "365+ days"),
)


def _bucket(value: int, buckets: tuple[tuple[float, str, str], ...]) -> int:
    return next(i for i, (top, _, _) in enumerate(buckets) if value <= top)


def _hours(v: Visit, tz: str, seed: int) -> tuple[int, int]:
    """(site-local hour, UTC hour) of a visit's first action: Matomo's server time report
    labels the site's hour and segments on the UTC one (matomo-org/matomo#13175, #14504)."""
    del seed
    ts = v.first_ts
    return (ts + utc_offset(ts, tz)) // 3600 % 24, ts // 3600 % 24


# visit dimension tables and the key of a visit in each (site timezone, world seed)
_KEYS: dict[str, Callable[[Visit, str, int], Any]] = {
    "device_type": lambda v, tz, seed: c.DEVICES[v.device][0],
    "device_brand": lambda v, tz, seed: c.DEVICES[v.device][1],
    "os_family": lambda v, tz, seed: c.DEVICES[v.device][3:5],
    "os_version": lambda v, tz, seed: c.DEVICES[v.device][3:6],
    "browser_version": lambda v, tz, seed: (v.browser, c.BROWSERS[v.browser][1]),
    "resolution": lambda v, tz, seed: visit_resolution(v, seed),
    "language_code": lambda v, tz, seed: c.LANGUAGES[v.language],
    "language": lambda v, tz, seed: c.LANGUAGES[v.language].split("-")[0],
    "continent": lambda v, tz, seed: c.COUNTRIES[v.country][:2],
    "server_hour": _hours,
    # the visitor's local time is the first action's UTC time (Live's visitLocalHour)
    "local_hour": lambda v, tz, seed: (v.first_ts // 3600) % 24,
    "visit_duration": lambda v, tz, seed: _bucket(v.last_ts - v.first_ts, DURATION_BUCKETS),
    "visit_pages": lambda v, tz, seed: _bucket(v.n_actions, PAGES_BUCKETS),
    # no GeoIP database: every visit's city is unknown (Live's `city` is null; recorded 126)
    "city": lambda v, tz, seed: "xx",
    # visits without a user id fall in the None row, which UserId.getUsers leaves out
    "user": lambda v, tz, seed: v.user_id,
}
DIMENSION_TABLES = tuple(_KEYS)
#: per user id, (last action, idVisit, Live's visitorId) of the user's latest visit
USER_LAST = "user_last"
#: site search tables: by keyword index and by category name, and conversions by
#: (goal, days since the first visit range)
SEARCH_TABLES = ("search_keyword", "search_category")
DAYS_TO_CONVERSION = "days_to_conversion"
# search row slots: searches, visits, seconds until the next action, unique visitors
S_HITS, S_VISITS, S_TIME, S_UNIQ = range(4)
#: ecommerce item tables: by product index and by category name
ITEM_TABLES = ("item", "item_category")
# item row slots: product page views (hits, visits, unique visitors), then the items of
# orders (revenue, quantity, orders) and of abandoned carts (revenue, quantity, carts)
I_HITS, I_VISITS, I_UNIQ, I_REVENUE, I_QTY, I_ORDERS, I_CART_REVENUE, I_CART_QTY, I_CARTS = range(9)


def sum_dimensions(
    site: c.SiteInfo,
    visits: Sequence[Visit],
    bounds: tuple[int, int],
    spill: Sequence[Visit],
    seed: int,
) -> DayFacts:
    """Sum one day's visits (`spill`: the next day's begun before midnight, their
    conversions and views before the day's end only) into the dimension and item tables."""
    goal_revenue: dict[int, float] = {}
    for g in site.goals:
        goal_revenue.setdefault(g[0], g[2])
    tz = site.timezone
    keys = list(_KEYS.items())
    tables: dict[str, Table] = {name: {} for name in DIMENSION_TABLES}
    items: Table = {}
    categories: Table = {}
    products = {p.sku: i for i, p in enumerate(c.PRODUCTS)}
    page_product = [products.get(p.product or "") for p in site.pages]
    last_visits: Table = {}
    keywords: Table = {}
    search_categories: Table = {}
    conversion_days: Table = {}
    start, end = bounds
    for v in chain(visits, spill):
        acts = v.actions
        n = len(acts)
        lo = 0
        vrows: list[Row] | None = None
        if v.last_ts >= end:  # the next day's visit: its conversions before `end` only
            n = _first_at(acts, end)
            if not n:
                continue
        else:
            vrows = [_row(tables[name], key(v, tz, seed)) for name, key in keys]
            counted = v.n_actions
            for row in vrows:
                row[V_VISITS] += 1
                row[V_ACTIONS] += counted
                row[V_LENGTH] += v.last_ts - v.first_ts
                row[V_UNIQ].add(v.visitor)
                if counted > row[V_MAX_ACTIONS]:
                    row[V_MAX_ACTIONS] = counted
                if counted == 1:
                    row[V_BOUNCE] += 1
                if v.conversions:
                    row[V_CONVERTED] += 1
                if v.user_id is not None:
                    row[V_USERS].add(v.user_id)
            if v.user_id is not None:
                latest = (v.last_ts, v.id_visit, visitor_hex(seed, v.id_site, v.visitor))
                have = last_visits.get(v.user_id)
                if have is None or latest > have[0]:
                    last_visits[v.user_id] = [latest]
            if v.first_ts < start:
                lo = _first_at(acts, start)
        part = acts if lo == 0 and n == len(acts) else acts[lo:n]
        if len(acts) != v.n_actions:  # goals, orders or an abandoned cart
            vgoals, _ = visit_goals(goal_revenue, [a for a in part if a[0] >= GOAL])
            if vgoals:
                vconv, vrevenue = goal_summary({}, vgoals, v.returning)
                if vrows is None:
                    vrows = [_row(tables[name], key(v, tz, seed)) for name, key in keys]
                for row in vrows:
                    row[V_CONV] += vconv
                    row[V_REVENUE] += vrevenue
                    if row[V_GOALS] is None:
                        row[V_GOALS] = {}
                    add_goals(row[V_GOALS], vgoals)
                _add_conversion_days(v, part, seed, conversion_days)
        if site.ecommerce:
            _add_items(v, part, page_product, items, categories)
        if v.n_actions > 1:  # a visit of one action is one page view
            _add_searches(v, acts, lo, n, keywords, search_categories)
    rows: dict[str, Table] = {
        name: {k: _finish_visit(r) for k, r in table.items()} for name, table in tables.items()
    }
    rows["item"] = {k: _finish(r, (I_UNIQ,)) for k, r in items.items()}
    rows["item_category"] = {k: _finish(r, (I_UNIQ,)) for k, r in categories.items()}
    rows[USER_LAST] = last_visits
    rows["search_keyword"] = {k: _finish(r, (S_UNIQ,)) for k, r in keywords.items()}
    rows["search_category"] = {k: _finish(r, (S_UNIQ,)) for k, r in search_categories.items()}
    rows[DAYS_TO_CONVERSION] = conversion_days
    return DayFacts(nb_visits=len(visits), rows=rows)


def _row(table: Table, key: Any) -> Row:
    return table.get(key) or _new_row(table, key)


def _item_row(table: Table, key: Any) -> Row:
    row = table.get(key)
    if row is None:
        row = table[key] = [0, 0, set(), 0.0, 0, 0, 0.0, 0, 0, None]
    return row


def _add_items(
    v: Visit,
    part: Sequence[Any],
    page_product: list[int | None],
    items: Table,
    categories: Table,
) -> None:
    """A visit's product page views and its order and cart items of the day."""
    for a in part:
        kind = a[0]
        if kind == PAGE:
            index = page_product[a[2]]
            if index is None:
                continue
            product = c.PRODUCTS[index]
            for row in (
                _item_row(items, index),
                *(_item_row(categories, name) for name in product.categories),
            ):
                row[I_HITS] += 1
                if row[-1] != v.id_visit:
                    row[-1] = v.id_visit
                    row[I_VISITS] += 1
                    row[I_UNIQ].add(v.visitor)
        elif kind in (ORDER, CART) and a.order is not None:
            slots = (I_REVENUE, I_QTY, I_ORDERS) if kind == ORDER else _CART_SLOTS
            seen: set[str] = set()
            for index, quantity in a.order.items:
                product = c.PRODUCTS[index]
                revenue = product.price * quantity
                row = _item_row(items, index)
                row[slots[0]] += revenue
                row[slots[1]] += quantity
                row[slots[2]] += 1
                for name in product.categories:
                    crow = _item_row(categories, name)
                    crow[slots[0]] += revenue
                    crow[slots[1]] += quantity
                    if name not in seen:  # an order counts once per category
                        seen.add(name)
                        crow[slots[2]] += 1


_CART_SLOTS = (I_CART_REVENUE, I_CART_QTY, I_CARTS)


def _add_searches(
    v: Visit, acts: Sequence[Any], lo: int, n: int, keywords: Table, categories: Table
) -> None:
    """A visit's site searches of the day, by keyword and by category (none for ""); a
    search's time is until the visit's next later action, as a page view's (`sum_day`)."""
    for i in range(lo, n):
        a = acts[i]
        if a[0] != SEARCH:
            continue
        ts = a[1]
        j = i + 1
        while j < n and acts[j][1] <= ts:
            j += 1
        spent = acts[j][1] - ts if j < n else 0
        category = c.SITE_SEARCH_KEYWORDS[a[2]][1]
        for row in (
            _search_row(keywords, a[2]),
            *((_search_row(categories, category),) if category else ()),
        ):
            row[S_HITS] += 1
            row[S_TIME] += spent
            if row[-1] != v.id_visit:
                row[-1] = v.id_visit
                row[S_VISITS] += 1
                row[S_UNIQ].add(v.visitor)


def _search_row(table: Table, key: Any) -> Row:
    row = table.get(key)
    if row is None:
        row = table[key] = [0, 0, 0, set(), None]
    return row


def _add_conversion_days(v: Visit, part: Sequence[Any], seed: int, table: Table) -> None:
    """A visit's conversions of the day by goal and by the range of its visitor's days since
    the first visit (Live's `daysSinceFirstVisit`), as Goals.getDaysToConversion counts them."""
    bucket = -1
    for a in part:
        kind = a[0]
        if kind < GOAL:
            continue
        if kind == GOAL:
            name = f"idgoal={a[2]}"
        elif a.order is None:
            continue
        else:
            name = "idgoal=ecommerceOrder" if kind == ORDER else "idgoal=ecommerceAbandonedCart"
        if bucket < 0:
            days = visit_days_since_first(v, seed)
            bucket = next(i for i, (top, _) in enumerate(CONVERSION_DAY_BUCKETS) if days <= top)
        row = table.get((name, bucket))
        if row is None:
            table[(name, bucket)] = [1]
        else:
            row[0] += 1
