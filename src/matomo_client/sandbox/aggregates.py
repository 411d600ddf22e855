"""Sum visits into per-day facts, cached, and merge days into any period.

A day's `DayFacts` hold the VisitsSummary counters and keyed accumulators (per page URL,
page title, download, outlink, referrer, country, browser, event) from which every report
is grouped at request time. Accumulators are plain dicts: keys starting with `max_`/`min_`
merge by max/min, `goals` merges per goal, everything else adds up. Daily unique counts
(`nb_uniq_visitors`, ...) add up to Matomo's `sum_daily_*` over longer periods.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import catalog as c
from .world import CART, DOWNLOAD, EVENT, GOAL, ORDER, OUTLINK, PAGE, SEARCH, Visit, World

__all__ = ["DayFacts", "Facts", "facts_for", "merge_acc"]

Acc = dict[str, Any]
Seen = dict[tuple[str, Any, str], set[Any]]
_PERF = ("network", "server", "transfer", "dom_processing", "dom_completion", "on_load")


@dataclass
class Facts:
    """Counters of one or more days of one site."""

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
    visitors: set[int] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    tables: dict[str, dict[Any, Acc]] = field(default_factory=dict)
    goals: Acc = field(default_factory=dict)

    def add(self, other: DayFacts) -> None:
        """Merge one day into these facts (visitor sets are unioned for week/month)."""
        for name in (
            "nb_visits",
            "nb_actions",
            "nb_visits_converted",
            "bounce_count",
            "sum_visit_length",
            "nb_pageviews",
            "nb_downloads",
            "nb_outlinks",
            "nb_searches",
            "nb_events",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.max_actions = max(self.max_actions, other.max_actions)
        self.visitors.update(other.visitor_ids)
        self.users.update(other.user_ids)
        for table, rows in other.tables.items():
            mine = self.tables.setdefault(table, {})
            for key, acc in rows.items():
                merge_acc(mine.setdefault(key, {}), acc)
        merge_acc(self.goals, other.goals)


@dataclass
class DayFacts:
    """What one day of one site adds up to (visitor ids kept compactly)."""

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
    tables: dict[str, dict[Any, Acc]] = field(default_factory=dict)
    goals: Acc = field(default_factory=dict)


def merge_acc(into: Acc, other: Acc) -> None:
    """Add accumulator `other` into `into` (max_/min_ keys by max/min, goals per goal)."""
    for key, value in other.items():
        if isinstance(value, dict):
            merge_acc(into.setdefault(key, {}), value)
        elif key.startswith("max_"):
            old = into.get(key)
            into[key] = value if old is None or (value is not None and value > old) else old
        elif key.startswith("min_"):
            old = into.get(key)
            into[key] = value if old is None or (value is not None and value < old) else old
        else:
            into[key] = into.get(key, 0) + value


def facts_for(
    world: World, cache: dict[tuple[int, date], DayFacts], id_site: int, days: Iterable[date]
) -> Facts:
    """Merged facts of `days` for one site, from the per-day cache where days are final."""
    total = Facts()
    for day in days:
        key = (id_site, day)
        day_facts = cache.get(key)
        if day_facts is None:
            day_facts = compute_day(world, world.day_visits(id_site, day), id_site)
            if world.day_is_final(id_site, day):
                cache[key] = day_facts
        total.add(day_facts)
    return total


def _visit_metrics(v: Visit, n_actions: int) -> Acc:
    acc: Acc = {
        "nb_visits": 1,
        "nb_actions": n_actions,
        "max_actions": n_actions,
        "sum_visit_length": v.duration,
        "bounce_count": 1 if n_actions == 1 else 0,
        "nb_visits_converted": 1 if v.conversions else 0,
    }
    goals = _visit_goals(v)
    if goals:
        acc["goals"] = goals
        acc["nb_conversions"] = sum(
            g["nb_conversions"] for k, g in goals.items() if k != "idgoal=ecommerceAbandonedCart"
        )
        acc["revenue"] = sum(
            g["revenue"] for k, g in goals.items() if k != "idgoal=ecommerceAbandonedCart"
        )
    return acc


def _visit_goals(v: Visit) -> dict[str, Acc]:
    goals: dict[str, Acc] = {}
    for a in v.actions:
        if a.kind == GOAL:
            revenue = next((g[2] for g in c.GOALS.get(v.id_site, ()) if g[0] == a.ref), 0.0)
            g = goals.setdefault(
                f"idgoal={a.ref}", {"nb_conversions": 0, "nb_visits_converted": 1, "revenue": 0}
            )
            g["nb_conversions"] += 1
            g["revenue"] += revenue
        elif a.order is not None:
            name = "idgoal=ecommerceOrder" if a.kind == ORDER else "idgoal=ecommerceAbandonedCart"
            g = goals.setdefault(
                name, {"nb_conversions": 0, "nb_visits_converted": 1, "revenue": 0}
            )
            g["nb_conversions"] += 1
            g["revenue"] += a.order.revenue
            if a.kind == ORDER:
                g["revenue_subtotal"] = g.get("revenue_subtotal", 0) + a.order.subtotal
                g["revenue_tax"] = g.get("revenue_tax", 0) + a.order.tax
                g["revenue_shipping"] = g.get("revenue_shipping", 0) + a.order.shipping
                g["revenue_discount"] = g.get("revenue_discount", 0) + a.order.discount
            g["items"] = g.get("items", 0) + a.order.quantity
    return goals


def compute_day(world: World, visits: tuple[Visit, ...], id_site: int) -> DayFacts:
    """Sum one day's visits into counters and keyed accumulators."""
    site = world.site(id_site)
    f = DayFacts()
    tables: dict[str, dict[Any, Acc]] = {
        name: {}
        for name in (
            "page",
            "title",
            "download",
            "outlink",
            "referrer",
            "country",
            "browser",
            "event",
        )
    }
    seen: Seen = {}
    visitors = set()
    users = set()
    goals_total: Acc = {}
    for v in visits:
        n_actions = v.n_actions
        f.nb_visits += 1
        f.nb_actions += n_actions
        f.sum_visit_length += v.duration
        f.max_actions = max(f.max_actions, n_actions)
        if n_actions == 1:
            f.bounce_count += 1
        if v.conversions:
            f.nb_visits_converted += 1
        visitors.add(v.visitor)
        if v.user_id:
            users.add(v.user_id)
        metrics = _visit_metrics(v, n_actions)
        ref = v.referrer
        detail = ref.keyword if ref.type in ("search", "campaign") else (ref.url or "")
        for table, key in (
            ("referrer", (ref.type, ref.name, detail)),
            ("country", v.country),
            ("browser", v.browser),
        ):
            merge_acc(tables[table].setdefault(key, {}), metrics)
            seen.setdefault((table, key, "nb_uniq_visitors"), set()).add(v.visitor)
            users_seen = seen.setdefault((table, key, "nb_users"), set())
            if v.user_id:
                users_seen.add(v.user_id)
        _goals_summary(goals_total, v)
        _actions_of(v, site, tables, seen, f)
    for (table, key, name), members in seen.items():
        tables[table][key][name] = len(members)
    f.visitor_ids = array("q", sorted(visitors))
    f.user_ids = frozenset(users)
    f.tables = tables
    f.goals = goals_total
    return f


def _goals_summary(total: Acc, v: Visit) -> None:
    suffix = "returning_visit" if v.returning else "new_visit"
    total["nb_visits"] = total.get("nb_visits", 0) + 1
    total[f"nb_visits_{suffix}"] = total.get(f"nb_visits_{suffix}", 0) + 1
    for name, g in _visit_goals(v).items():
        per = total.setdefault(name, {})
        merge_acc(per, g)
        merge_acc(per, {f"{k}_{suffix}": x for k, x in g.items()})


def _actions_of(
    v: Visit,
    site: c.SiteInfo,
    tables: dict[str, dict[Any, Acc]],
    seen: Seen,
    f: DayFacts,
) -> None:
    pages = [a for a in v.actions if a.kind == PAGE]
    conversions = [a for a in v.actions if a.kind in (GOAL, ORDER, CART)]
    n_actions = v.n_actions
    visited: set[tuple[str, Any]] = set()
    after_search = False
    for i, a in enumerate(v.actions):
        if a.kind == PAGE:
            f.nb_pageviews += 1
            page = site.pages[a.ref]
            nxt = next((b.ts for b in v.actions[i + 1 :] if b.ts > a.ts), a.ts)
            for table, key in (("page", (a.ref, a.query)), ("title", page.title)):
                acc = tables[table].setdefault(key, {})
                acc["nb_hits"] = acc.get("nb_hits", 0) + 1
                acc["sum_time_spent"] = acc.get("sum_time_spent", 0) + nxt - a.ts
                if after_search:
                    acc["nb_hits_following_search"] = acc.get("nb_hits_following_search", 0) + 1
                if a.perf is not None:
                    for name, ms in zip(_PERF, a.perf, strict=True):
                        secs = ms / 1000
                        count = f"nb_hits_with_time_{name}"
                        acc[count] = acc.get(count, 0) + 1
                        total = f"sum_time_{name}"
                        acc[total] = acc.get(total, 0) + secs
                        low, high = f"min_time_{name}", f"max_time_{name}"
                        acc[low] = min(acc.get(low, secs), secs)
                        acc[high] = max(acc.get(high, secs), secs)
                if (table, key) not in visited:
                    visited.add((table, key))
                    acc["nb_visits"] = acc.get("nb_visits", 0) + 1
                    seen.setdefault((table, key, "nb_uniq_visitors"), set()).add(v.visitor)
                    goals = _page_goals(v, a.ts, conversions)
                    if goals:
                        merge_acc(acc, {"goals": goals})
                if a is pages[0]:
                    merge_acc(
                        acc,
                        {
                            "entry_nb_visits": 1,
                            "entry_nb_actions": n_actions,
                            "entry_sum_visit_length": v.duration,
                            "entry_bounce_count": 1 if n_actions == 1 else 0,
                        },
                    )
                    seen.setdefault((table, key, "entry_nb_uniq_visitors"), set()).add(v.visitor)
                if a is pages[-1]:
                    merge_acc(acc, {"exit_nb_visits": 1})
                    seen.setdefault((table, key, "exit_nb_uniq_visitors"), set()).add(v.visitor)
            after_search = False
        elif a.kind in (DOWNLOAD, OUTLINK):
            table = "download" if a.kind == DOWNLOAD else "outlink"
            if a.kind == DOWNLOAD:
                f.nb_downloads += 1
            else:
                f.nb_outlinks += 1
            link: Any = a.ref
            acc = tables[table].setdefault(link, {})
            hit = {"nb_hits": 1, "sum_time_spent": 0}
            if after_search:
                hit["nb_hits_following_search"] = 1
            merge_acc(acc, hit)
            if (table, link) not in visited:
                visited.add((table, link))
                acc["nb_visits"] = acc.get("nb_visits", 0) + 1
                seen.setdefault((table, link, "nb_uniq_visitors"), set()).add(v.visitor)
        elif a.kind == SEARCH:
            f.nb_searches += 1
            after_search = True
        elif a.kind == EVENT:
            f.nb_events += 1
            category, action, _, value = c.EVENTS[a.ref]
            event_key: Any = (category, action)
            acc = tables["event"].setdefault(event_key, {})
            ev: Acc = {"nb_events": 1, "nb_events_with_value": 0, "sum_event_value": 0}
            if value is not None:
                ev.update(
                    nb_events_with_value=1,
                    sum_event_value=value,
                    min_event_value=value,
                    max_event_value=value,
                )
            merge_acc(acc, ev)
            if ("event", event_key) not in visited:
                visited.add(("event", event_key))
                acc["nb_visits"] = acc.get("nb_visits", 0) + 1
                seen.setdefault(("event", event_key, "nb_uniq_visitors"), set()).add(v.visitor)


def _page_goals(v: Visit, ts: int, conversions: list[Any]) -> dict[str, Acc]:
    goals: dict[str, Acc] = {}
    for a in conversions:
        if a.ts < ts:
            continue
        if a.kind == GOAL:
            name = f"idgoal={a.ref}"
            revenue = next((g[2] for g in c.GOALS.get(v.id_site, ()) if g[0] == a.ref), 0.0)
        else:
            name = "idgoal=ecommerceOrder" if a.kind == ORDER else "idgoal=ecommerceAbandonedCart"
            revenue = a.order.revenue if a.order else 0.0
        g = goals.setdefault(
            name, {"nb_conversions": 0, "revenue": 0, "nb_conversions_page_uniq": 1}
        )
        g["nb_conversions"] += 1
        g["revenue"] += revenue
    return goals
