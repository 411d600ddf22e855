"""MultiSites.getAll rows: one per site with visits in the period, beside the previous period.

Shaped as recorded (case 145): the period's visits, actions, pageviews, hits and revenue, their
evolution from the previous period as `"4,214.3%"` strings with a trend (-1, 0, 1), the previous
values and the site's currency symbol and URL. A site with no visit in the period has no
archive, so no row (the recorded "Empty" site 3). Rows come by visits, most first.

`enhanced` (any value PHP reads as true) adds Goals' conversions and, for ecommerce sites
only, the orders and their revenue, each with its evolution and previous value; it keeps the
sites without visits too (Matomo's MultiSites API: the ecommerce-only evolution metrics drop
their column on other sites).

`showColumns` names the metrics MultiSites fetches (plugins/MultiSites/API.php buildDataTable):
the others, their evolutions and previous values are not there, and sites without visits
are dropped only when nb_visits is among them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from .aggregates import Facts
from .catalog import SiteInfo
from .dates import Period, containing
from .formats import money
from .reports import actions_object, goals_object

__all__ = ["enhanced_flag", "multi_sites_row", "previous_period", "shown_metrics"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# (metric, its evolution's name)
_EVOLUTIONS = (
    ("nb_visits", "visits"),
    ("nb_actions", "actions"),
    ("nb_pageviews", "pageviews"),
    ("hits", "hits"),
    ("ai_chatbots_requests", "ai_chatbots_requests"),
    ("revenue", "revenue"),
)
# enhanced=1: (metric, its evolution's name, ecommerce sites only)
_ENHANCED = (
    ("nb_conversions", "nb_conversions", False),
    ("orders", "orders", True),
    ("ecommerce_revenue", "ecommerce_revenue", True),
)


def enhanced_flag(value: str | None) -> bool:
    """Whether a request parameter is true as PHP reads a string: not empty, not `0`."""
    return value not in (None, "", "0")


def previous_period(p: Period) -> Period:
    """The period before `p` (a range: as many days, ending the day before)."""
    if p.kind in ("day", "week", "month", "year"):
        return containing(p.kind, p.start - timedelta(days=1))
    length = p.end - p.start
    end = p.start - timedelta(days=1)
    return Period(p.kind, end - length, end)


def _short(d: date, year: bool = True) -> str:
    text = f"{_MONTHS[d.month - 1]} {d.day}"
    return f"{text}, {d.year}" if year else text


def _label(p: Period) -> str:
    """Matomo's short name of a period: `Sep 2026`, `Nov 28, 2026`, `Nov 16 – 22, 2026`."""
    if p.kind == "day":
        return _short(p.start)
    if p.kind == "month":
        return f"{_MONTHS[p.start.month - 1]} {p.start.year}"
    if p.kind == "year":
        return str(p.start.year)
    if p.start.year != p.end.year:
        return f"{_short(p.start)} – {_short(p.end)}"
    if p.start.month != p.end.month:
        return f"{_short(p.start, False)} – {_short(p.end)}"
    return f"{_short(p.start, False)} – {p.end.day}, {p.end.year}"


def _metrics(f: Facts, kind: str, enhanced: bool, ecommerce: bool) -> dict[str, Any]:
    actions = actions_object(f, kind)
    out = {
        "nb_visits": f.nb_visits,
        "nb_actions": f.nb_actions,
        "nb_pageviews": actions["nb_pageviews"],
        "hits": actions["hits"],
        "ai_chatbots_requests": 0,
        "revenue": money(goals_object(f, kind).get("revenue", 0)),
    }
    if enhanced:
        out["nb_conversions"] = goals_object(f, kind).get("nb_conversions", 0)
        if ecommerce:
            order = goals_object(f, kind, "ecommerceOrder")
            out["orders"] = order.get("nb_conversions", 0)
            out["ecommerce_revenue"] = order.get("revenue", 0)
    return out


def _evolution(now: float, before: float) -> tuple[str, int]:
    """Matomo's evolution text and trend: 100% from nothing, one decimal, no `.0`."""
    if before == 0:
        percent = 0.0 if now == 0 else 100.0
    else:
        percent = round((now - before) / before * 100, 1)
    text = f"{percent:,.1f}".removesuffix(".0")
    return f"{text}%", (now > before) - (now < before)


def shown_metrics(params: Mapping[str, str]) -> list[str] | None:
    """MultiSites.getAll's own `showColumns`: the metrics to fetch, or None for all of them."""
    raw = params.get("showColumns") or ""
    return None if raw in ("", "0") else raw.split(",")  # PHP: "0" is empty


def multi_sites_row(
    site: SiteInfo,
    p: Period,
    now: Facts,
    before: Facts,
    enhanced: bool = False,
    shown: list[str] | None = None,
) -> dict[str, Any]:
    """One site's MultiSites.getAll row for period `p` (`before`: the previous period's facts);
    with `shown`, only those metrics are fetched, so only theirs have evolutions and previous
    values, the first one's where nb_visits' would be (EvolutionMetric sets the metadata)."""
    current = _metrics(now, p.kind, enhanced, site.ecommerce)
    previous = _metrics(before, p.kind, enhanced, site.ecommerce)
    if shown is not None:
        current = {k: v for k, v in current.items() if k in shown}
    row: dict[str, Any] = {"label": site.name, **current}
    evolutions = [(m, n) for m, n in _EVOLUTIONS if m in current]
    evolutions += [(m, n) for m, n, _ in _ENHANCED if m in current]
    for metric, name in evolutions:
        text, trend = _evolution(current[metric], previous[metric])
        row[f"{name}_evolution"] = text
        row[f"{name}_evolution_trend"] = trend
    row["idsite"] = site.id
    if evolutions:
        row.update(ratio=1, currencySymbol=site.currency_symbol)
        row[f"previous_{evolutions[0][0]}"] = previous[evolutions[0][0]]
        row.update(periodName=p.kind, previousRange=_label(previous_period(p)))
    for metric, _ in evolutions[1:]:
        row[f"previous_{metric}"] = previous[metric]
    row.update(group="", main_url=site.main_url)
    return row
