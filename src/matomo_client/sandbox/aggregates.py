"""Sum visits into per-day facts, cached, and merge days into any period.

A day's `DayFacts` hold the VisitsSummary counters and one compact row per key of each
table (page URL, page title, download, outlink, referrer, country, browser, event): a
list of additive slots, then min slots, then max slots, then an optional goals dict
(`_LAYOUTS`). Merging days adds rows slot by slot; `Facts.tables` turns the merged rows
into the keyed accumulators (`Acc` dicts) report builders read, once per period.
Daily unique counts (`nb_uniq_visitors`, ...) add up to Matomo's `sum_daily_*` over
longer periods; the visitors of each day are kept so week/month uniques can be unioned.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from operator import add
from typing import Any

from .accumulators import ACCUMULATORS, GOAL_KEYS, GOAL_SLOTS, PLAIN_GOAL_SLOTS
from .day_sums import DayFacts, Row, Table, sum_day
from .dimensions import (
    DAYS_TO_CONVERSION,
    DIMENSION_TABLES,
    ITEM_TABLES,
    SEARCH_TABLES,
    USER_LAST,
    sum_dimensions,
)
from .records import Visit, gc_paused, local_midnight
from .world import World

__all__ = [
    "DayFacts",
    "Facts",
    "FactsCache",
    "compute_day",
    "dimension_facts",
    "facts_for",
    "merge_acc",
]

Acc = dict[str, Any]
_COUNTERS = (
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
)

_VISIT_LAYOUT = (9, 0, 1, True)
_LAYOUTS: dict[str, tuple[int, int, int, bool]] = {
    "referrer": _VISIT_LAYOUT,
    "country": _VISIT_LAYOUT,
    "browser": _VISIT_LAYOUT,
    "page": (19, 6, 6, True),
    "title": (19, 6, 6, True),
    "download": (4, 0, 0, False),
    "outlink": (4, 0, 0, False),
    "event": (5, 1, 1, False),
    **dict.fromkeys(DIMENSION_TABLES, _VISIT_LAYOUT),
    **dict.fromkeys(ITEM_TABLES, (9, 0, 0, False)),
    **dict.fromkeys(SEARCH_TABLES, (4, 0, 0, False)),
    USER_LAST: (0, 0, 1, False),  # the latest (last action, idVisit, visitorId)
    DAYS_TO_CONVERSION: (1, 0, 0, False),
}


class Facts:
    """Counters of one or more days of one site, with lazily built report views."""

    def __init__(self) -> None:
        self.nb_visits = 0
        self.nb_actions = 0
        self.nb_visits_converted = 0
        self.bounce_count = 0
        self.sum_visit_length = 0
        self.max_actions = 0
        self.nb_pageviews = 0
        self.nb_downloads = 0
        self.nb_outlinks = 0
        self.nb_searches = 0
        self.nb_events = 0
        self.users: set[str] = set()
        self._visitor_days: list[array[int]] = []
        self._days: list[DayFacts] = []  # rows not merged yet (VisitsSummary never needs them)
        self._rows: dict[str, Table] = {}
        self._goal_visits = [0, 0, 0]
        self._converted_visits = [0, 0, 0]
        self._keywords: set[int] = set()
        self._goal_rows: dict[str, Row] = {}
        self._tables: _Tables | None = None
        self._visitors: set[int] | None = None

    def add(self, other: DayFacts) -> None:
        """Add one day's counters now; its rows are merged when a report needs them."""
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.max_actions = max(self.max_actions, other.max_actions)
        self._visitor_days.append(other.visitor_ids)
        self.users.update(other.user_ids)
        self._days.append(other)
        self._tables = None
        self._visitors = None

    def _merge_days(self) -> None:
        """Merge the rows of the days added since the last merge (days are not modified)."""
        for day in self._days:
            for table, rows in day.rows.items():
                n_add, n_min, n_max, goals = _LAYOUTS[table]
                mine = self._rows.setdefault(table, {})
                for key, row in rows.items():
                    have = mine.get(key)
                    if have is None:
                        mine[key] = _copy_row(row) if goals else row[:]
                    else:
                        _merge_row(have, row, n_add, n_min, n_max, goals)
            self._goal_visits[:] = map(add, self._goal_visits, day.goal_visits)
            self._converted_visits[:] = map(add, self._converted_visits, day.converted_visits)
            self._keywords |= day.search_keywords
            _merge_goals(self._goal_rows, day.goal_rows)
        self._days.clear()

    @property
    def visitors(self) -> set[int]:
        """Distinct visitors over all merged days (built on first use)."""
        if self._visitors is None:
            self._visitors = set().union(*self._visitor_days)
        return self._visitors

    @property
    def tables(self) -> Mapping[str, dict[Any, Acc]]:
        """Keyed accumulators per table, as the report builders read them (each table built
        the first time a report reads it)."""
        if self._tables is None:
            self._merge_days()
            self._tables = _Tables(self._rows)
        return self._tables

    @property
    def nb_keywords(self) -> int:
        """Distinct site search keywords over all days (Matomo counts its keyword rows)."""
        self._merge_days()
        return len(self._keywords)

    @property
    def goals(self) -> Acc:
        """Goals.get accumulators: visits and converted visits (new/returning), and per goal."""
        self._merge_days()
        all_visits, new, returning = self._goal_visits
        converted, converted_new, converted_returning = self._converted_visits
        out: Acc = {
            "nb_visits": all_visits,
            "nb_visits_new_visit": new,
            "nb_visits_returning_visit": returning,
            "nb_visits_converted": converted,
            "nb_visits_converted_new_visit": converted_new,
            "nb_visits_converted_returning_visit": converted_returning,
        }
        for name, row in self._goal_rows.items():
            slots = GOAL_SLOTS.get(name, PLAIN_GOAL_SLOTS)
            acc = {GOAL_KEYS[i]: row[i] for i in slots}
            for offset, suffix in ((8, "_new_visit"), (16, "_returning_visit")):
                acc.update({GOAL_KEYS[i] + suffix: row[offset + i] for i in slots})
            out[name] = acc
        return out


class _Tables(Mapping[str, dict[Any, Acc]]):
    """The accumulators of merged rows, table by table as reports ask for them."""

    def __init__(self, rows: dict[str, Table]) -> None:
        self._rows = rows
        self._built: dict[str, dict[Any, Acc]] = {}

    def __getitem__(self, table: str) -> dict[Any, Acc]:
        built = self._built.get(table)
        if built is None:
            acc = ACCUMULATORS[table]
            built = self._built[table] = {key: acc(row) for key, row in self._rows[table].items()}
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


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


class FactsCache:
    """Day facts of closed days, least recently used dropped beyond `max_days` entries."""

    def __init__(self, max_days: int = 4096) -> None:
        self.max_days = max_days
        self._days: OrderedDict[tuple[int, date], DayFacts] = OrderedDict()

    def __len__(self) -> int:
        return len(self._days)

    def get(self, key: tuple[int, date]) -> DayFacts | None:
        """The cached facts of (site, day), marked as recently used."""
        hit = self._days.get(key)
        if hit is not None:
            self._days.move_to_end(key)
        return hit

    def put(self, key: tuple[int, date], facts: DayFacts) -> None:
        """Remember the facts of a closed day."""
        self._days[key] = facts
        self._days.move_to_end(key)
        while len(self._days) > self.max_days:
            self._days.popitem(last=False)


def facts_for(world: World, cache: FactsCache, id_site: int, days: Iterable[date]) -> Facts:
    """Merged facts of `days` for one site, from the per-day cache where days are final.

    Days are summed last first: each needs the next day's early visits, which the day summed
    just before drew (a big day is not kept drawn), then added in order.
    """
    summed: dict[date, DayFacts] = {}
    days = list(days)
    for day in reversed(days):
        key = (id_site, day)
        day_facts = cache.get(key)
        if day_facts is None:
            day_facts = compute_day(world, world.day_visits(id_site, day), id_site, day)
            if world.day_is_final(id_site, day):
                cache.put(key, day_facts)
        summed[day] = day_facts
    total = Facts()
    for day in days:
        total.add(summed[day])
    return total


def dimension_facts(
    world: World,
    cache: FactsCache,
    id_site: int,
    days: Iterable[date],
    segment: Callable[[Visit], bool] | None = None,
) -> Facts:
    """Merged dimension and item tables (`dimensions.py`) of `days` for one site, from
    `cache` (its own, apart from `facts_for`'s) where days are final and not segmented."""
    site = world.site(id_site)
    summed: dict[date, DayFacts] = {}
    days = list(days)
    for day in reversed(days):  # as `facts_for`: the next day's early visits drawn first
        key = (id_site, day)
        day_facts = cache.get(key) if segment is None else None
        if day_facts is None:
            visits = world.day_visits(id_site, day)
            spill = world.early_visits(id_site, day + timedelta(days=1))
            if segment is not None:
                visits = tuple(filter(segment, visits))
                spill = tuple(filter(segment, spill))
            bounds = (
                local_midnight(day, site.timezone),
                local_midnight(day + timedelta(days=1), site.timezone),
            )
            with gc_paused():
                day_facts = sum_dimensions(site, visits, bounds, spill, world.seed)
            if segment is None and world.day_is_final(id_site, day):
                cache.put(key, day_facts)
        summed[day] = day_facts
    total = Facts()
    for day in days:
        total.add(summed[day])
    return total


# -- merging compact rows --------------------------------------------------------------


def _copy_row(row: Row) -> Row:
    out = row[:]
    goals = out[-1]
    if goals:
        out[-1] = {name: g[:] for name, g in goals.items()}
    return out


def _merge_row(have: Row, row: Row, n_add: int, n_min: int, n_max: int, goals: bool) -> None:
    have[:n_add] = map(add, have[:n_add], row[:n_add])
    end = n_add + n_min
    for i in range(n_add, end):
        if row[i] < have[i]:
            have[i] = row[i]
    for i in range(end, end + n_max):
        if row[i] > have[i]:
            have[i] = row[i]
    if goals and row[-1]:
        if have[-1] is None:
            have[-1] = {}
        _merge_goals(have[-1], row[-1])


def _merge_goals(into: dict[str, Row], other: dict[str, Row]) -> None:
    for name, g in other.items():
        have = into.get(name)
        if have is None:
            into[name] = g[:]
        else:
            have[:] = map(add, have, g)


# -- one day ---------------------------------------------------------------------------


def compute_day(
    world: World,
    visits: Sequence[Visit],
    id_site: int,
    day: date,
    segment: Callable[[Visit], bool] | None = None,
) -> DayFacts:
    """Sum one day's visits (or a segment of them) into counters and compact rows; actions
    and conversions on their own day, those of the next day's visits begun before midnight
    included (`sum_day`)."""
    tz = world.site(id_site).timezone
    bounds = (local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz))
    spill = world.early_visits(id_site, day + timedelta(days=1))
    if segment is not None:
        spill = tuple(filter(segment, spill))
    with gc_paused():
        return sum_day(world.site(id_site), visits, bounds, spill)
