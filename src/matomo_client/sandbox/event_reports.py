"""Events.* report builders: categories, actions and names, with their subtables.

The day facts keep one accumulator per (category, action) event; the catalogue gives each
pair its one name. A report groups those keys by its own dimension, its subtables by the
request's `secondaryDimension` (`event_builder`); the subtable methods
(`EVENT_SUBTABLE_METHODS`) read another report's subtables. Rows, segments and flat labels
follow the recorded 5.11.2 answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus

from . import catalog as c
from .aggregates import Acc, Facts
from .dates import ApiFailure
from .formats import money
from .report_rows import Builder, Row, group, numbered, uniq_keys

__all__ = ["EVENT_BUILDERS", "EVENT_SUBTABLE_METHODS", "event_builder"]


def _event_row(label: str, acc: Acc, is_day: bool, meta: dict[str, Any]) -> Row:
    with_value = acc.get("nb_events_with_value", 0)
    row: Row = {
        "label": label,
        "nb_visits": acc.get("nb_visits", 0),
        "nb_events": acc.get("nb_events", 0),
        "nb_events_with_value": with_value,
        "sum_event_value": money(acc.get("sum_event_value", 0)),
        "min_event_value": acc.get("min_event_value"),
        "max_event_value": acc.get("max_event_value"),
    }
    uniq_keys(row, acc, is_day, ("nb_uniq_visitors",))
    row["avg_event_value"] = money(acc.get("sum_event_value", 0) / with_value) if with_value else 0
    row.update(meta)
    return row


# the event name of each (category, action): one name per pair in the catalogue
_EVENT_NAMES = {(e[0], e[1]): e[2] for e in c.EVENTS}


# each event dimension: its part of an event table key (category, action), its flat column
_EVENT_DIMENSIONS: dict[str, tuple[Callable[[Any], str], str]] = {
    "eventCategory": (lambda k: k[0], "Events_EventCategory"),
    "eventAction": (lambda k: k[1], "Events_EventAction"),
    "eventName": (lambda k: _EVENT_NAMES[k], "Events_EventName"),
}


def _event_report(primary: str, secondary: str) -> Builder:
    """An Events report: rows by `primary`, subtables by `secondary` (both event dimensions).

    As Matomo's archiver, rows of (category, action, name) are added up: a category's or a
    name's visits are the sum of its (category, action) rows' visits.
    """
    first, first_key = _EVENT_DIMENSIONS[primary]
    second, second_key = _EVENT_DIMENSIONS[secondary]

    def build(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
        items = f.tables.get("event", {})
        rows = []
        for label, acc in group(items, first).items():
            subs = group({k: a for k, a in items.items() if first(k) == label}, second)
            if flat:
                for sub, a in subs.items():
                    row = _event_row(f"{label} - {sub}", a, is_day, {})
                    row.update({first_key: label, second_key: sub})
                    rows.append(row)
                continue
            row = _event_row(label, acc, is_day, {"segment": f"{primary}=={quote_plus(label)}"})
            # a sub-row's segment names its own dimension only (recorded 119)
            row["_sub"] = [
                _event_row(sub, a, is_day, {"segment": f"{secondary}=={quote_plus(sub)}"})
                for sub, a in subs.items()
            ]
            rows.append(row)
        return rows if flat else numbered(rows)

    return build


# Events reports and their secondary dimensions, the default first (plugins/Events/API.php)
_EVENT_SECONDARY = {
    "getCategory": ("eventAction", "eventName"),
    "getAction": ("eventName", "eventCategory"),
    "getName": ("eventAction", "eventCategory"),
}
_EVENT_BUILDERS = {
    (report, dim): _event_report(f"event{report[3:]}", dim)
    for report, dims in _EVENT_SECONDARY.items()
    for dim in dims
}
# subtable methods: the report whose subtables they read, and which
_EVENT_SUBTABLES = {
    "getActionFromCategoryId": ("getCategory", "eventAction"),
    "getNameFromCategoryId": ("getCategory", "eventName"),
    "getNameFromActionId": ("getAction", "eventName"),
    "getCategoryFromActionId": ("getAction", "eventCategory"),
    "getActionFromNameId": ("getName", "eventAction"),
    "getCategoryFromNameId": ("getName", "eventCategory"),
}
#: the Events reports, each with its default secondary dimension's subtables
EVENT_BUILDERS: dict[str, Builder] = {
    "Events.getCategory": _EVENT_BUILDERS["getCategory", "eventAction"],
    "Events.getAction": _EVENT_BUILDERS["getAction", "eventName"],
    "Events.getName": _EVENT_BUILDERS["getName", "eventAction"],
}


def event_builder(method: str, params: Mapping[str, str]) -> Builder:
    """The Events builder for `method`: a report picks its subtables by `secondaryDimension`,
    a subtable method (which ignores it) reads the subtables it names."""
    action = method.partition(".")[2]
    if action in _EVENT_SUBTABLES:
        return _EVENT_BUILDERS[_EVENT_SUBTABLES[action]]
    dims = _EVENT_SECONDARY[action]
    secondary = params.get("secondaryDimension") or dims[0]
    if secondary not in dims:
        raise ApiFailure(
            f"Secondary dimension '{secondary}' is not valid for the API {action}. "
            f"Use one of: {', '.join(dims)}"
        )
    return _EVENT_BUILDERS[action, secondary]


EVENT_SUBTABLE_METHODS = {f"Events.{m}": f"Events.{r}" for m, (r, _) in _EVENT_SUBTABLES.items()}
