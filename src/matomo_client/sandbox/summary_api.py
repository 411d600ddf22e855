"""The summary-like methods of the Reporting API: one object (or one row per weekday) per
site and period, made of VisitsSummary's figures or of other reports'.

`SummaryMethods` is a mixin of `api.Api`, which registers these handlers in its dispatch table
and provides what they read: the world, the facts of a period, the Map shaping per site and
period. VisitsSummary.get and its scalars (`SUMMARY_SCALARS`), Goals.get, Actions.get,
VisitFrequency.get (VisitsSummary of the new and of the returning visits, cached per closed
day), the merged objects of `summaries.py` (Referrers.get, PagePerformance.get, API.get) and
VisitTime.getByDayOfWeek.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from .aggregates import Facts, FactsCache, compute_day
from .datatable import apply_filters
from .dates import ApiFailure, Period, Periods
from .reports import actions_object, goals_object, summary_object
from .segments import VisitFilter, parse_segment
from .summaries import (
    FREQUENCY_SEGMENTS,
    api_get_object,
    frequency_object,
    page_performance_object,
    referrers_object,
)
from .world import World

if TYPE_CHECKING:
    from .api import Access

__all__ = ["SUMMARY_SCALARS", "SummaryMethods"]

#: VisitsSummary's one-figure methods and the VisitsSummary.get column each answers
SUMMARY_SCALARS = {
    "getVisits": "nb_visits",
    "getUniqueVisitors": "nb_uniq_visitors",
    "getUsers": "nb_users",
    "getActions": "nb_actions",
    "getMaxActions": "max_actions",
    "getBounceCount": "bounce_count",
    "getVisitsConverted": "nb_visits_converted",
    "getSumVisitsLength": "sum_visit_length",
}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: getByDayOfWeek's dimension (VisitTime's DayOfTheWeek) as a flat row's key
_DAY_OF_WEEK_KEY = "VisitTime_DayOfTheWeek"
_WEEKDAY_COLUMNS = (
    "nb_visits",
    "nb_uniq_visitors",
    "nb_actions",
    "nb_users",
    "sum_visit_length",
    "bounce_count",
    "nb_visits_converted",
)


class SummaryMethods:
    """The summary-like handlers of `Api`: each takes (params, access) and returns JSON data."""

    # provided by `Api`
    world: World
    frequency_cache: dict[str, FactsCache]

    if TYPE_CHECKING:

        def _site_ids_param(
            self, params: Mapping[str, str], access: Access
        ) -> tuple[list[int], bool]: ...

        def _periods(self, params: Mapping[str, str], ids: list[int]) -> Periods: ...

        def _facts(
            self,
            id_site: int,
            period: Period,
            params: Mapping[str, str],
            dimensions: bool = False,
        ) -> Facts: ...

        def _days_facts(
            self,
            id_site: int,
            days: list[date],
            params: Mapping[str, str],
            dimensions: bool = False,
        ) -> Facts: ...

        def _per_site_period(
            self,
            params: Mapping[str, str],
            access: Access,
            one: Callable[[int, Period], tuple[Any, bool]],
        ) -> Any: ...

    # -- VisitsSummary / Goals / Actions.get ---------------------------------------------
    def _visits_summary(self, params: Mapping[str, str], access: Access) -> Any:
        fmt = params.get("format_metrics", "bc")
        columns = params.get("showColumns") or params.get("columns")
        hidden = set((params.get("hideColumns") or "").split(","))

        def one(id_site: int, p: Period) -> tuple[Any, bool]:
            f = self._facts(id_site, p, params)
            value = summary_object(f, p.kind, fmt)
            if columns:
                wanted = [c.strip() for c in columns.split(",")]
                value = {k: value[k] for k in wanted if k in value}
            value = {k: v for k, v in value.items() if k not in hidden}
            if len(value) == 1:  # a simple table of one column is its bare value (recording 039)
                return next(iter(value.values())), f.nb_visits == 0
            return value, f.nb_visits == 0

        return self._per_site_period(params, access, one)

    def _summary_scalar(self, params: Mapping[str, str], access: Access) -> Any:
        column = SUMMARY_SCALARS[params["method"].split(".", 1)[1]]

        def one(id_site: int, p: Period) -> Any:
            return summary_object(self._facts(id_site, p, params), "day").get(column, 0)

        ids, multi_site = self._site_ids_param(params, access)
        periods = self._periods(params, ids)
        if not periods.multi and not multi_site:
            return {"value": one(ids[0], periods.items[0])}
        values = {
            str(i): (
                {p.key: one(i, p) for p in periods.items}
                if periods.multi
                else one(i, periods.items[0])
            )
            for i in ids
        }
        return values if multi_site else values[str(ids[0])]

    def _goals_get(self, params: Mapping[str, str], access: Access) -> Any:
        id_goal = params.get("idGoal")

        def one(id_site: int, p: Period) -> tuple[Any, bool]:
            f = self._facts(id_site, p, params)
            return goals_object(f, p.kind, id_goal), f.nb_visits == 0

        return self._per_site_period(params, access, one)

    def _actions_get(self, params: Mapping[str, str], access: Access) -> Any:
        def one(id_site: int, p: Period) -> tuple[Any, bool]:
            f = self._facts(id_site, p, params)
            return actions_object(f, p.kind), f.nb_visits == 0

        return self._per_site_period(params, access, one)

    # -- VisitFrequency and the merged objects ------------------------------------------
    def _type_facts(
        self, id_site: int, period: Period, params: Mapping[str, str], visitor_type: str
    ) -> Facts:
        """Facts of the new or the returning visits (VisitsSummary narrowed as VisitFrequency
        narrows it), cached per closed day when the request has no segment of its own."""
        last = self.world.site_today(id_site)
        days = [d for d in period.days() if self.world.first_day <= d <= last]
        own = parse_segment(params.get("segment"), self.world.sites, [id_site])
        kind = parse_segment(FREQUENCY_SEGMENTS[visitor_type], self.world.sites, [id_site])
        assert kind is not None
        segment: VisitFilter = kind if own is None else (lambda v: kind(v) and own(v))
        cache = self.frequency_cache[visitor_type]
        total = Facts()
        for day in days:
            day_facts = cache.get((id_site, day)) if own is None else None
            if day_facts is None:
                visits = tuple(filter(segment, self.world.day_visits(id_site, day)))
                day_facts = compute_day(self.world, visits, id_site, day, segment)
                if own is None and self.world.day_is_final(id_site, day):
                    cache.put((id_site, day), day_facts)
            total.add(day_facts)
        return total

    def _frequency(self, id_site: int, p: Period, params: Mapping[str, str]) -> dict[str, Any]:
        fmt = params.get("format_metrics", "bc")
        new, returning = (
            summary_object(self._type_facts(id_site, p, params, kind), p.kind, fmt)
            for kind in FREQUENCY_SEGMENTS
        )
        return frequency_object(new, returning)

    def _visit_frequency(self, params: Mapping[str, str], access: Access) -> Any:
        """VisitFrequency.get: VisitsSummary.get of the new and of the returning visits."""

        def one(id_site: int, p: Period) -> tuple[Any, bool]:
            value = self._frequency(id_site, p, params)
            empty = not value["nb_visits_new"] and not value["nb_visits_returning"]
            return _with_columns(value, params), empty

        return self._per_site_period(params, access, one)

    def _merged_object(self, params: Mapping[str, str], access: Access) -> Any:
        """Referrers.get, PagePerformance.get and API.get (`summaries.py`)."""
        method = params["method"]
        fmt = params.get("format_metrics", "bc")

        def one(id_site: int, p: Period) -> tuple[Any, bool]:
            f = self._facts(id_site, p, params)
            if method == "Referrers.get":
                value = referrers_object(f, fmt)
            elif method == "PagePerformance.get":
                value = page_performance_object(f)
            else:
                value = api_get_object(
                    summary_object(f, p.kind, fmt),
                    self._frequency(id_site, p, params),
                    f,
                    goals_object(f, p.kind),
                    actions_object(f, p.kind),
                    fmt,
                )
            return _with_columns(value, params), f.nb_visits == 0

        return self._per_site_period(params, access, one)

    # -- VisitTime.getByDayOfWeek -------------------------------------------------------
    def _by_day_of_week(self, params: Mapping[str, str], access: Access) -> Any:
        """VisitTime.getByDayOfWeek: each day's VisitsSummary added up by weekday (daily
        unique visitors and users included, recorded 137), one row per weekday the period
        has, Monday first; Matomo refuses several periods, then several sites. `flat=1` rows
        end with `VisitTime_DayOfTheWeek`, the weekday's name."""
        ids, _ = self._site_ids_param(params, access)
        if self._periods(params, ids).multi:
            raise ApiFailure("VisitTime.getByDayOfWeek does not support multiple dates.")
        if len(ids) > 1:  # checked after the dates, on the sites the archive reads
            raise ApiFailure("VisitTime.getByDayOfWeek does not support multiple sites.")

        flat = params.get("flat") == "1"  # DataTablePostProcessor flattens on "1" only

        def one(id_site: int, p: Period) -> tuple[Any, bool]:
            last = self.world.site_today(id_site)
            totals: dict[int, dict[str, int]] = {}
            for day in p.days():
                total = totals.setdefault(day.weekday(), dict.fromkeys(_WEEKDAY_COLUMNS, 0))
                if self.world.first_day <= day <= last:
                    summary = summary_object(self._days_facts(id_site, [day], params), "day")
                    for key in _WEEKDAY_COLUMNS:
                        total[key] += summary[key]
            rows = [
                {"label": _WEEKDAYS[i], **totals[i], "day_of_week": i + 1} for i in sorted(totals)
            ]
            if flat:  # the Flattener's dimension key: the weekday, named before flattening
                rows = [{**row, _DAY_OF_WEEK_KEY: row["label"]} for row in rows]
            value = apply_filters(rows, params, default_sort=None)
            return value, not any(t["nb_visits"] for t in totals.values())

        return self._per_site_period(params, access, one)


def _with_columns(value: dict[str, Any], params: Mapping[str, str]) -> Any:
    """An object report narrowed to `columns` (or `showColumns`) without `hideColumns`; one
    column left is its bare value (as VisitsSummary.get, recording 039)."""
    columns = params.get("showColumns") or params.get("columns")
    if columns:
        wanted = [c.strip() for c in columns.split(",")]
        value = {k: value[k] for k in wanted if k in value}
    hidden = set((params.get("hideColumns") or "").split(","))
    value = {k: v for k, v in value.items() if k not in hidden}
    return next(iter(value.values())) if len(value) == 1 else value
