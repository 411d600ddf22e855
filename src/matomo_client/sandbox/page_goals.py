"""Goal metrics of page URL and page title rows: conversions after the page, attribution, entries.

A page row's `goals` dict holds one slot list per goal (`G_*`). `sum_day` fills the first three
(conversions after the visit's first view of the page, their revenue, converting visits); the
attribution and entry slots follow Matomo 5's archiver, for goals and orders but not abandoned
carts (Matomo stores no `pageviews_before` for them):

* a conversion's pages-before count is the visit's page views at or before it; each view of a
  page before the conversion is credited `round(1 / pages_before, 4)` of it, and that share of
  its revenue (rounded to cents per visit, page and goal), so attributed conversions summed over
  all pages give back the conversions;
* `nb_conv_pages_before` is the largest pages-before count of the day's conversions the page
  led to (Matomo keeps the maximum within a day, then adds days and subfolders up);
* entry metrics count the conversions of visits that entered on the page; the day's rate and
  revenue per entry divide by the page's entrances of that day, and longer periods add the days.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "G_ATTRIB",
    "G_BEFORE",
    "G_CONV",
    "G_ENTRY",
    "G_ENTRY_RATE",
    "G_REVENUE",
    "G_REVENUE_ATTRIB",
    "G_REVENUE_ENTRY",
    "G_REVENUE_PER_ENTRY",
    "G_UNIQ",
    "attribute_visit",
    "finish_page_goals",
    "new_page_goal",
    "page_goal_metrics",
]

Row = list[Any]
_CART = "idgoal=ecommerceAbandonedCart"
_NONE: dict[str, Row] = {}  # read only: a page row without goals yet
(G_CONV, G_REVENUE, G_UNIQ, G_BEFORE, G_ATTRIB, G_REVENUE_ATTRIB, G_ENTRY, G_REVENUE_ENTRY,
 G_ENTRY_RATE, G_REVENUE_PER_ENTRY) = range(10)  # fmt: skip


def new_page_goal() -> Row:
    """The slots of one goal on one page row, for one converting visit (no conversion yet)."""
    return [0, 0, 1, 0, 0.0, 0.0, 0, 0.0, 0.0, 0.0]


def attribute_visit(
    hits: list[tuple[int, tuple[Row, Row]]], timeline: list[tuple[int, str, float]], slot: int
) -> None:
    """Add a visit's attribution and entry slots to the goals dicts at `slot` of its page rows.

    `hits` are the visit's page views in time order (time, (URL row, title row)); `timeline`
    its conversions (time, goal, revenue).
    """
    n_hits = len(hits)
    revenues: dict[int, list[Any]] = {}  # id of a goal's slots -> [slots, attributed revenue]
    for cts, name, revenue in timeline:
        if name == _CART:
            continue
        before = 0
        while before < n_hits and hits[before][0] <= cts:
            before += 1
        if not before:
            continue
        share = round(1 / before, 4)
        part = revenue / before
        for i in range(before):
            for row in hits[i][1]:
                g = row[slot].get(name) or _goal(row, slot, name)
                if g[G_BEFORE] < before:
                    g[G_BEFORE] = before
                g[G_ATTRIB] += share
                if part:
                    pending = revenues.get(id(g))
                    if pending is None:
                        revenues[id(g)] = [g, part]
                    else:
                        pending[1] += part
    for g, revenue in revenues.values():
        g[G_REVENUE_ATTRIB] += round(revenue, 2)  # Matomo rounds per visit, page and goal
    if n_hits:
        entry = hits[0][1]
        for _, name, revenue in timeline:
            if name == _CART:
                continue
            for row in entry:
                g = (row[slot] or _NONE).get(name) or _goal(row, slot, name)
                g[G_ENTRY] += 1
                g[G_REVENUE_ENTRY] += revenue


def _goal(row: Row, slot: int, name: str) -> Row:
    """The slots of goal `name` on a page row (`sum_day` made them for converting visits)."""
    goals: dict[str, Row] | None = row[slot]
    if goals is None:
        goals = row[slot] = {}
    g = goals.get(name)
    if g is None:
        g = goals[name] = [0] * 10
    return g


def finish_page_goals(goals: dict[str, Row] | None, entrances: int) -> None:
    """End of a day: entry revenue to cents, then the day's rate and revenue per entrance."""
    if not goals or not entrances:
        return
    for g in goals.values():
        if g[G_ENTRY]:
            g[G_REVENUE_ENTRY] = round(g[G_REVENUE_ENTRY], 2)
            g[G_ENTRY_RATE] = round(g[G_ENTRY] / entrances, 3)
            g[G_REVENUE_PER_ENTRY] = round(g[G_REVENUE_ENTRY] / entrances, 3)


def page_goal_metrics(name: str, g: Row) -> dict[str, Any]:
    """A page row's metrics for one goal, keyed as Matomo names them (page rate added later)."""
    out: dict[str, Any] = {"nb_conversions": g[G_CONV], "revenue": g[G_REVENUE]}
    if name == _CART:
        out["nb_conversions_page_uniq"] = g[G_UNIQ]
        return out
    out["nb_conv_pages_before"] = g[G_BEFORE]
    out["nb_conversions_attrib"] = g[G_ATTRIB]
    out["nb_conversions_page_uniq"] = g[G_UNIQ]
    out["revenue_attrib"] = g[G_REVENUE_ATTRIB]
    if g[G_ENTRY]:
        out["revenue_entry"] = g[G_REVENUE_ENTRY]
        out["nb_conversions_entry_rate"] = g[G_ENTRY_RATE]
        out["revenue_per_entry"] = g[G_REVENUE_PER_ENTRY]
        out["nb_conversions_entry"] = g[G_ENTRY]
    return out
