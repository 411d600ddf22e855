"""Merged compact rows to report accumulators: the `Acc` dict of each table's rows.

`aggregates.Facts.tables` turns each merged row (`day_sums.py`'s and `dimensions.py`'s slot
layouts) into a keyed accumulator, once per period, with `ACCUMULATORS[table]`: visit tables
(referrer, country, browser, dimensions) give visit counters and goals per goal, page tables
hits, time, timings in seconds, page goals, entries and exits, link and event tables their
counters, item and site search tables theirs. `GOAL_KEYS` and the slot tuples name the goal
slots of a visit row, which `Facts.goals` reads too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .day_sums import (
    E_ACTIONS,
    E_BOUNCE,
    E_LENGTH,
    E_UNIQ,
    E_VISITS,
    EV_MAX,
    EV_MIN,
    EV_N,
    EV_SUM,
    EV_UNIQ,
    EV_VISITS,
    EV_WITH_VALUE,
    L_FOLLOW,
    L_HITS,
    L_UNIQ,
    L_VISITS,
    P_FOLLOW,
    P_GOALS,
    P_HITS,
    P_PERF_MAX,
    P_PERF_MIN,
    P_PERF_N,
    P_PERF_SUM,
    P_TIME,
    P_UNIQ,
    P_VISITS,
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
    X_UNIQ,
    X_VISITS,
    Row,
)
from .dimensions import (
    DAYS_TO_CONVERSION,
    DIMENSION_TABLES,
    I_CART_QTY,
    I_CART_REVENUE,
    I_CARTS,
    I_HITS,
    I_ORDERS,
    I_QTY,
    I_REVENUE,
    I_UNIQ,
    I_VISITS,
    ITEM_TABLES,
    S_HITS,
    S_TIME,
    S_UNIQ,
    S_VISITS,
    SEARCH_TABLES,
    USER_LAST,
)
from .page_goals import page_goal_metrics

if TYPE_CHECKING:
    from .aggregates import Acc

__all__ = ["ACCUMULATORS", "GOAL_KEYS", "GOAL_SLOTS", "PLAIN_GOAL_SLOTS"]

_PERF = ("network", "server", "transfer", "dom_processing", "dom_completion", "on_load")
_CART = "idgoal=ecommerceAbandonedCart"
_ORDER = "idgoal=ecommerceOrder"
# visit goal slots: conversions, visits converted, revenue, order parts, items
GOAL_KEYS = (
    "nb_conversions",
    "nb_visits_converted",
    "revenue",
    "revenue_subtotal",
    "revenue_tax",
    "revenue_shipping",
    "revenue_discount",
    "items",
)
GOAL_SLOTS = {_ORDER: (0, 1, 2, 3, 4, 5, 6, 7), _CART: (0, 1, 2, 7)}
PLAIN_GOAL_SLOTS = (0, 1, 2)


def _visit_acc(row: Row) -> Acc:
    acc: Acc = {
        "nb_visits": row[V_VISITS],
        "nb_actions": row[V_ACTIONS],
        "max_actions": row[V_MAX_ACTIONS],
        "sum_visit_length": row[V_LENGTH],
        "bounce_count": row[V_BOUNCE],
        "nb_visits_converted": row[V_CONVERTED],
        "nb_uniq_visitors": row[V_UNIQ],
        "nb_users": row[V_USERS],
    }
    goals = row[V_GOALS]
    if goals:
        acc["goals"] = {
            name: {GOAL_KEYS[i]: g[i] for i in GOAL_SLOTS.get(name, PLAIN_GOAL_SLOTS)}
            for name, g in goals.items()
        }
        acc["nb_conversions"] = row[V_CONV]
        acc["revenue"] = row[V_REVENUE]
    return acc


def _page_acc(row: Row) -> Acc:
    acc: Acc = {"nb_hits": row[P_HITS], "sum_time_spent": row[P_TIME]}
    if row[P_FOLLOW]:
        acc["nb_hits_following_search"] = row[P_FOLLOW]
    n = row[P_PERF_N]
    if n:
        for k, name in enumerate(_PERF):
            acc[f"nb_hits_with_time_{name}"] = n
            acc[f"sum_time_{name}"] = row[P_PERF_SUM + k] / 1000  # kept in milliseconds
            acc[f"min_time_{name}"] = row[P_PERF_MIN + k] / 1000
            acc[f"max_time_{name}"] = row[P_PERF_MAX + k] / 1000
    acc["nb_visits"] = row[P_VISITS]
    acc["nb_uniq_visitors"] = row[P_UNIQ]
    goals = row[P_GOALS]
    if goals:
        acc["goals"] = {name: page_goal_metrics(name, g) for name, g in goals.items()}
    if row[E_VISITS]:
        acc["entry_nb_visits"] = row[E_VISITS]
        acc["entry_nb_actions"] = row[E_ACTIONS]
        acc["entry_sum_visit_length"] = row[E_LENGTH]
        acc["entry_bounce_count"] = row[E_BOUNCE]
        acc["entry_nb_uniq_visitors"] = row[E_UNIQ]
    if row[X_VISITS]:
        acc["exit_nb_visits"] = row[X_VISITS]
        acc["exit_nb_uniq_visitors"] = row[X_UNIQ]
    return acc


def _link_acc(row: Row) -> Acc:
    acc: Acc = {"nb_hits": row[L_HITS], "sum_time_spent": 0}
    if row[L_FOLLOW]:
        acc["nb_hits_following_search"] = row[L_FOLLOW]
    acc["nb_visits"] = row[L_VISITS]
    acc["nb_uniq_visitors"] = row[L_UNIQ]
    return acc


def _event_acc(row: Row) -> Acc:
    acc: Acc = {
        "nb_events": row[EV_N],
        "nb_events_with_value": row[EV_WITH_VALUE],
        "sum_event_value": row[EV_SUM],
    }
    if row[EV_WITH_VALUE]:
        acc["min_event_value"] = row[EV_MIN]
        acc["max_event_value"] = row[EV_MAX]
    acc["nb_visits"] = row[EV_VISITS]
    acc["nb_uniq_visitors"] = row[EV_UNIQ]
    return acc


def _item_acc(row: Row) -> Acc:
    return {
        "nb_visits": row[I_VISITS],
        "nb_actions": row[I_HITS],
        "nb_uniq_visitors": row[I_UNIQ],
        "revenue": row[I_REVENUE],
        "quantity": row[I_QTY],
        "orders": row[I_ORDERS],
        "cart_revenue": row[I_CART_REVENUE],
        "cart_quantity": row[I_CART_QTY],
        "abandoned_carts": row[I_CARTS],
    }


def _search_acc(row: Row) -> Acc:
    return {
        "nb_visits": row[S_VISITS],
        "nb_hits": row[S_HITS],
        "sum_time_spent": row[S_TIME],
        "nb_uniq_visitors": row[S_UNIQ],
    }


ACCUMULATORS: dict[str, Callable[[Row], Acc]] = {
    **dict.fromkeys(DIMENSION_TABLES, _visit_acc),
    **dict.fromkeys(ITEM_TABLES, _item_acc),
    **dict.fromkeys(SEARCH_TABLES, _search_acc),
    USER_LAST: lambda row: {"last_visit": row[0]},
    DAYS_TO_CONVERSION: lambda row: {"nb_conversions": row[0]},
    "referrer": _visit_acc,
    "country": _visit_acc,
    "browser": _visit_acc,
    "page": _page_acc,
    "title": _page_acc,
    "download": _link_acc,
    "outlink": _link_acc,
    "event": _event_acc,
}
