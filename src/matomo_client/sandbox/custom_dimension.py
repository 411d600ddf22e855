"""`CustomDimensions.getCustomDimension` over the sandbox's two configured dimensions.

Dimension 1 (visit scope, "Customer Type") is `new` or `returning`, as the Live visits say;
its rows are visit rows (goals included) of those visits, with Matomo's processed
`avg_time_on_site`, `bounce_rate` and `nb_actions_per_visit` (recorded 142). Dimension 2
(action scope, "Page Category") is the kind of each page viewed, as in the Live actions: a
row counts the visits that viewed such a page, and sums the hits, time spent, exits, entry
bounces and page timings of those pages' `Actions.getPageTitles` rows (recorded 143; timings
in seconds, as the sandbox's page reports give them, and no subtable of pages). Values are
ordered by visits, most first; an unknown dimension fails as recorded (221). `flat=1` rows end
with the Flattener's `CustomDimension_CustomDimension<id>` (`flat_dimension_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import quote_plus

from .aggregates import Acc, Facts, compute_day, merge_acc
from .catalog import SiteInfo
from .dates import ApiFailure, Period
from .records import PAGE, Visit
from .report_rows import Row, visit_row
from .reports import page_titles
from .settings import configured_custom_dimensions
from .world import World

__all__ = ["custom_dimension_rows", "dimension_scope", "flat_dimension_rows"]

VisitFilter = Callable[[Visit], bool]
_TIMINGS = ("network", "server", "transfer", "dom_processing", "dom_completion", "on_load")


def dimension_scope(site: SiteInfo, params: Mapping[str, str]) -> str:
    """The scope (`visit`, `action`) of the asked `idDimension` of `site`, or Matomo's error."""
    raw = (params.get("idDimension") or "").strip()
    if not raw:
        raise ApiFailure("Please specify a value for 'idDimension'.", 400)
    for dim in configured_custom_dimensions(site):
        if dim["idcustomdimension"] == raw:
            return str(dim["scope"])
    shown = raw if raw.isdigit() else "0"  # Matomo reads the id as an integer
    raise ApiFailure(f"Dimension {shown} for website {site.id} does not exist.")


def _days(world: World, id_site: int, p: Period) -> list[date]:
    last = world.site_today(id_site)
    return [d for d in p.days() if world.first_day <= d <= last]


def _rate(part: float, whole: float) -> str:
    return f"{round(part / whole * 100) if whole else 0}%"


def _visit_rows(world: World, id_site: int, p: Period, segment: VisitFilter | None) -> list[Row]:
    rows = []
    for label in ("new", "returning"):
        wanted = label == "returning"

        def keep(v: Visit, wanted: bool = wanted) -> bool:
            return v.returning == wanted and (segment is None or segment(v))

        facts = Facts()
        for day in _days(world, id_site, p):
            visits = tuple(filter(keep, world.day_visits(id_site, day)))
            facts.add(compute_day(world, visits, id_site, day, keep))
        if not facts.nb_visits:
            continue
        acc: Acc = {}
        for country in facts.tables.get("country", {}).values():
            merge_acc(acc, country)
        row = visit_row(label, acc, p.kind == "day", {})
        visits_n = row["nb_visits"]
        row["avg_time_on_site"] = round(row["sum_visit_length"] / visits_n)
        row["bounce_rate"] = _rate(row["bounce_count"], visits_n)
        actions = round(row["nb_actions"] / visits_n, 1)
        row["nb_actions_per_visit"] = int(actions) if actions == int(actions) else actions
        row["segment"] = f"dimension1=={quote_plus(label)}"
        rows.append(row)
    return rows


def _action_rows(
    world: World, id_site: int, p: Period, segment: VisitFilter | None, facts: Facts
) -> list[Row]:
    site = world.site(id_site)
    kind_of_title = {page.title: page.kind for page in site.pages}
    visits: dict[str, int] = {}
    uniq: dict[str, int] = {}
    for day in _days(world, id_site, p):
        day_visitors: dict[str, set[int]] = {}
        for v in world.day_visits(id_site, day):
            if segment is not None and not segment(v):
                continue
            for kind in {site.pages[a.ref].kind for a in v.actions if a.kind == PAGE}:
                visits[kind] = visits.get(kind, 0) + 1
                day_visitors.setdefault(kind, set()).add(v.visitor)
        for kind, seen in day_visitors.items():
            uniq[kind] = uniq.get(kind, 0) + len(seen)
    sums: dict[str, dict[str, float]] = {}
    for title_row in page_titles(facts, site, p.kind == "day", False):
        found = kind_of_title.get(title_row["label"].strip())
        if found is not None:
            _add_title(sums.setdefault(found, {}), title_row)
    rows = []
    for kind, n in visits.items():
        s = sums.get(kind, {})
        row: Row = {"label": kind, "nb_visits": n, "nb_hits": int(s.get("nb_hits", 0))}
        for t in _TIMINGS:
            for key in (
                f"sum_time_{t}",
                f"nb_hits_with_time_{t}",
                f"min_time_{t}",
                f"max_time_{t}",
            ):
                value = s.get(key, 0)
                row[key] = int(value) if key.startswith("nb_") else round(value, 3)
        row["sum_time_spent"] = int(s.get("sum_time_spent", 0))
        row["bounce_count"] = int(s.get("bounce_count", 0))
        row["exit_nb_visits"] = int(s.get("exit_nb_visits", 0))
        row["nb_uniq_visitors" if p.kind == "day" else "sum_daily_nb_uniq_visitors"] = uniq[kind]
        row["avg_time_on_dimension"] = (
            round(row["sum_time_spent"] / row["nb_hits"]) if row["nb_hits"] else 0
        )
        row["bounce_rate"] = _rate(row["bounce_count"], n)
        row["exit_rate"] = _rate(row["exit_nb_visits"], n)
        row["segment"] = f"dimension2=={quote_plus(kind)}"
        rows.append(row)
    return rows


def _num(row: Row, key: str) -> float:
    # a day's page rows carry some counts as strings, as Matomo's do ('3', '0.0080')
    return float(row.get(key) or 0)


def _add_title(into: dict[str, float], row: Row) -> None:
    """Add a page title row's additive counts and timing extremes to a dimension value's."""
    for key in ("nb_hits", "sum_time_spent", "exit_nb_visits"):
        into[key] = into.get(key, 0) + _num(row, key)
    into["bounce_count"] = into.get("bounce_count", 0) + _num(row, "entry_bounce_count")
    for t in _TIMINGS:
        n = _num(row, f"nb_hits_with_time_{t}")
        if not n:
            continue
        into[f"nb_hits_with_time_{t}"] = into.get(f"nb_hits_with_time_{t}", 0) + n
        into[f"sum_time_{t}"] = into.get(f"sum_time_{t}", 0) + float(row[f"avg_time_{t}"]) * n
        low, high = float(row[f"min_time_{t}"]), float(row[f"max_time_{t}"])
        had = f"min_time_{t}" in into
        into[f"min_time_{t}"] = min(into[f"min_time_{t}"], low) if had else low
        into[f"max_time_{t}"] = max(into.get(f"max_time_{t}", high), high)


def custom_dimension_rows(
    world: World,
    id_site: int,
    p: Period,
    scope: str,
    segment: VisitFilter | None,
    facts: Callable[[], Facts],
) -> list[Any]:
    """The rows of one dimension of `scope` for one site and period (`facts`: the period's)."""
    if scope == "visit":
        rows = _visit_rows(world, id_site, p, segment)
    else:
        rows = _action_rows(world, id_site, p, segment, facts())
    return sorted(rows, key=lambda r: -r["nb_visits"])


def flat_dimension_rows(rows: list[Row], params: Mapping[str, str]) -> list[Row]:
    """The rows, each ending with its label under the dimension's id if `flat=1` (Flattener)."""
    if params.get("flat") != "1":  # DataTablePostProcessor flattens on "1" only
        return rows
    key = f"CustomDimension_CustomDimension{(params.get('idDimension') or '').strip()}"
    return [{**row, key: str(row["label"]).strip()} for row in rows]
