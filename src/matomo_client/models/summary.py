"""``VisitsSummary.get``: one period's visit metrics, and multi-period Maps of them.

One period gives an object of metrics; an empty period gives ``[]`` (several periods) or an
object of zeros (one period), so every metric defaults to 0. Several periods
(``period=day&date=last7``, ``date=A,B``) give a Map keyed by period: ``YYYY-MM-DD`` (day),
``YYYY-MM-DD,YYYY-MM-DD`` (week, range), ``YYYY-MM`` (month), ``YYYY`` (year).
`VisitsSummary.series` reads that Map into ``dict[date, VisitsSummary]`` keyed by each
period's first day. Unique-visitor and user counts are absent for year and range periods
(Matomo does not compute them there), so they are 0 then too. An object holding none of the
metrics but other keys (a Map keyed by site id, ``{"value": 23}`` from ``columns=``) is not a
summary and fails validation instead of reading as zeros.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, TypeAdapter, model_validator

from matomo_client.models._base import MatomoModel
from matomo_client.models._coerce import Fraction, LooseFloat, LooseInt, Seconds, to_dict

__all__ = ["PeriodStart", "VisitsSummary", "period_start"]


def period_start(key: str) -> date:
    """The first day of a Map key: ``2024-01-01``, ``2024-01-01,2024-01-07``, ``2024-01``..."""
    first = key.split(",", 1)[0].strip()
    parts = first.split("-")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a Matomo period key: {key!r:.40}")
    if len(parts[0]) != 4 or any(len(p) != 2 for p in parts[1:]):
        raise ValueError(f"not a Matomo period key: {key!r:.40}")
    year = int(parts[0])
    month = int(parts[1]) if len(parts) > 1 else 1
    day = int(parts[2]) if len(parts) > 2 else 1
    return date(year, month, day)


def _period_start_value(value: Any) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a period key, got {type(value).__name__}")
    return period_start(value)


PeriodStart = Annotated[date, BeforeValidator(_period_start_value)]
"""A Map key read as its period's first day (``"2024-01-01,2024-01-07"`` -> 2024-01-01)."""


class VisitsSummary(MatomoModel):
    """Visit metrics for one period (``VisitsSummary.get``); an empty period is all zeros."""

    nb_uniq_visitors: LooseInt = 0
    """Unique visitors (absent for year and range periods, then 0)."""
    nb_users: LooseInt = 0
    """Visitors with a User ID (absent for year and range periods, then 0)."""
    nb_visits: LooseInt = 0
    """Visits."""
    nb_actions: LooseInt = 0
    """Actions (pageviews, downloads, outlinks, searches, events...)."""
    nb_visits_converted: LooseInt = 0
    """Visits that converted at least one goal."""
    bounce_count: LooseInt = 0
    """Visits with a single action."""
    sum_visit_length: LooseInt = 0
    """Total visit time in seconds."""
    max_actions: LooseInt = 0
    """Most actions in one visit."""
    bounce_rate: Fraction = 0.0
    """Bounces over visits, as a fraction (``"46%"`` -> 0.46)."""
    nb_actions_per_visit: LooseFloat = 0.0
    """Average actions per visit."""
    avg_time_on_site: Seconds = 0
    """Average visit length in seconds."""

    @model_validator(mode="before")
    @classmethod
    def _one_summary(cls, data: Any) -> Any:
        """Refuse an object with none of the metrics but other keys: zeros would be a lie."""
        if isinstance(data, dict) and data and _METRICS.isdisjoint(data):
            raise ValueError(_not_a_summary(data))
        return data

    @classmethod
    def series(cls, data: Any) -> dict[date, VisitsSummary]:
        """Read a multi-period Map into ``{first day of the period: summary}``, in date order.

        Empty periods (``[]``) are included, zeroed. ``[]`` for the whole Map (no periods)
        gives ``{}``. Raises ``pydantic.ValidationError`` when ``data`` is not such a Map.
        """
        summaries = _series_adapter(cls).validate_python(data)
        return dict(sorted(summaries.items()))


# Matomo's own names of the metrics: a summary holds at least one (an empty one holds none).
_METRICS = frozenset(VisitsSummary.model_fields)


def _not_a_summary(data: dict[Any, Any]) -> str:
    keys = list(data)
    if keys == ["value"]:
        return (
            'not a summary but a single value ({"value": ...}), as Matomo answers when one '
            "column is asked for (columns=, showColumns=)"
        )
    if all(isinstance(k, str) and (k.isdigit() or _is_period_key(k)) for k in keys):
        return (
            "not a summary but an object keyed by site id or period (idSite=all or several "
            "sites, or several periods): use visits_summary.series for periods and "
            'call("VisitsSummary.get", ...) for several sites'
        )
    shown = ", ".join(repr(k)[:30] for k in keys[:5])
    return f"not a summary: none of its keys ({shown}) is a metric such as nb_visits"


def _is_period_key(key: str) -> bool:
    try:
        period_start(key)
    except ValueError:
        return False
    return True


_adapters: dict[type[VisitsSummary], TypeAdapter[dict[date, VisitsSummary]]] = {}


def _series_adapter(cls: type[VisitsSummary]) -> TypeAdapter[dict[date, VisitsSummary]]:
    adapter = _adapters.get(cls)
    if adapter is None:
        adapter = TypeAdapter(Annotated[dict[PeriodStart, cls], BeforeValidator(to_dict)])  # type: ignore[arg-type,valid-type]
        _adapters[cls] = adapter
    return adapter
