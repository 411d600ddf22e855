"""A visit's conversions as goal slots, while `day_sums.sum_day` sums a day.

`visit_goals` gives one visit's goal slots (conversions, a converted visit, revenue, order
parts, items) and the time of each conversion; `goals_after` the conversions at or after a
page view, for the page rows (`page_goals.py`'s `G_*` slots); `goal_summary` adds a visit's
goals to Goals.get's rows (all, new and returning visits) and gives its conversions and
revenue, abandoned carts aside, for the visit tables; `add_goals` adds goal slots up.
"""

from __future__ import annotations

from operator import add
from typing import Any

from .page_goals import new_page_goal
from .records import GOAL, ORDER

__all__ = ["add_goals", "goal_summary", "goals_after", "visit_goals"]

Row = list[Any]
_CART = "idgoal=ecommerceAbandonedCart"
_ORDER = "idgoal=ecommerceOrder"


def visit_goals(
    revenues: dict[int, float], convs: list[Any]
) -> tuple[dict[str, Row], list[tuple[int, str, float]]]:
    """Goal slots of one visit, and (time, goal, revenue) of each conversion for pages."""
    goals: dict[str, Row] = {}
    timeline: list[tuple[int, str, float]] = []
    for a in convs:
        kind = a[0]
        order = a.order
        if kind == GOAL:
            name = f"idgoal={a[2]}"
            revenue = revenues.get(a[2], 0.0)
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


def goals_after(timeline: list[tuple[int, str, float]], ts: int) -> dict[str, Row]:
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


def add_goals(into: dict[str, Row], goals: dict[str, Row]) -> None:
    """Add each goal's slots of `goals` into `into` (a copy for a goal not there yet)."""
    for name, g in goals.items():
        have = into.get(name)
        if have is None:
            into[name] = g[:]
        else:
            have[:] = map(add, have, g)


def goal_summary(
    goal_rows: dict[str, Row], vgoals: dict[str, Row], returning: bool
) -> tuple[int, float]:
    """Add a visit's goals to Goals.get's rows; its conversions and revenue for visit tables."""
    vconv = 0
    vrevenue: float = 0
    for name, g in vgoals.items():
        if name != _CART:
            vconv += g[0]
            vrevenue += g[2]
    off = 16 if returning else 8
    for name, g in vgoals.items():
        r = goal_rows.get(name)
        if r is None:
            r = goal_rows[name] = [0] * 24
        r[0:8] = map(add, r[0:8], g)
        r[off : off + 8] = map(add, r[off : off + 8], g)
    return vconv, vrevenue
