"""The fixed, declared schema of the export tables, and the fast row builders.

Rows are built straight from the raw dicts Matomo sends (no per-visit model validation): each
table is a list of `Column`s naming the Matomo key it is read from and the type it is stored as.
A `Batch` is columnar (one Python list per column) because every sink wants columns (Arrow,
DuckDB, COPY) or can zip them into rows cheaply. Values in a batch are plain Python:

* `INT`/`FLOAT`/`TEXT` as such (numeric strings coerced, e.g. `"4"`, `"46%"` → 0.46);
* `TIMESTAMP` as integer Unix seconds (UTC), each sink converts to its own timestamp type;
* `DATE` as `datetime.date`;
* `JSON` as the decoded object (dict/list), sinks serialise it where they have no nested type.

Keys Matomo sends that are neither declared nor presentation (`*Pretty`, icons, flags) go to the
`extra` JSON column, so custom dimensions and plugin fields survive the migration.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = [
    "ACTIONS",
    "REPORTS",
    "VISITS",
    "Batch",
    "Column",
    "ColumnType",
    "Table",
    "build_report_rows",
    "build_visit_batches",
]


class ColumnType(enum.Enum):
    """Storage type of a column, mapped by each sink to its own types."""

    INT = "int"
    FLOAT = "float"
    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    JSON = "json"


INT, FLOAT, TEXT, TS, DATE, JSON = (
    ColumnType.INT,
    ColumnType.FLOAT,
    ColumnType.TEXT,
    ColumnType.TIMESTAMP,
    ColumnType.DATE,
    ColumnType.JSON,
)


@dataclass(frozen=True)
class Column:
    """One declared column: its name in the target, the Matomo key it comes from, its type."""

    name: str
    type: ColumnType
    source: str | None = None  # Matomo key; None for columns the builder fills itself


@dataclass(frozen=True)
class Table:
    """A declared table: name, columns in order, and the key that identifies a row."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        """The column names, in order."""
        return [c.name for c in self.columns]


@dataclass
class Batch:
    """Columnar rows of one table: `columns[name]` is a list, all lists have the same length."""

    table: Table
    columns: dict[str, list[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        first = self.table.columns[0].name
        return len(self.columns.get(first, ()))

    def rows(self) -> Iterable[tuple[Any, ...]]:
        """The rows as tuples, in column order."""
        return zip(*(self.columns[c.name] for c in self.table.columns), strict=True)

    @classmethod
    def empty(cls, table: Table) -> Batch:
        """A batch with no rows."""
        return cls(table, {c.name: [] for c in table.columns})


def _c(name: str, type_: ColumnType, source: str | None = None) -> Column:
    return Column(name, type_, source)


# --- visits ---------------------------------------------------------------------------------

_VISIT_FIELDS: tuple[tuple[str, str, ColumnType], ...] = (
    ("idSite", "id_site", INT),
    ("idVisit", "id_visit", INT),
    ("visitorId", "visitor_id", TEXT),
    ("fingerprint", "fingerprint", TEXT),
    ("visitIp", "visit_ip", TEXT),
    ("userId", "user_id", TEXT),
    ("serverTimestamp", "server_timestamp", TS),
    ("firstActionTimestamp", "first_action_timestamp", TS),
    ("lastActionTimestamp", "last_action_timestamp", TS),
    ("serverDate", "server_date", DATE),
    ("visitServerHour", "visit_server_hour", INT),
    ("visitLocalTime", "visit_local_time", TEXT),
    ("visitLocalHour", "visit_local_hour", INT),
    ("visitorType", "visitor_type", TEXT),
    ("visitCount", "visit_count", INT),
    ("visitDuration", "visit_duration", INT),
    ("actions", "actions", INT),
    ("interactions", "interactions", INT),
    ("searches", "searches", INT),
    ("events", "events", INT),
    ("goalConversions", "goal_conversions", INT),
    ("visitConverted", "visit_converted", INT),
    ("visitEcommerceStatus", "visit_ecommerce_status", TEXT),
    ("daysSinceFirstVisit", "days_since_first_visit", INT),
    ("secondsSinceFirstVisit", "seconds_since_first_visit", INT),
    ("daysSinceLastVisit", "days_since_last_visit", INT),
    ("secondsSinceLastVisit", "seconds_since_last_visit", INT),
    ("daysSinceLastEcommerceOrder", "days_since_last_ecommerce_order", INT),
    ("secondsSinceLastEcommerceOrder", "seconds_since_last_ecommerce_order", INT),
    ("referrerType", "referrer_type", TEXT),
    ("referrerName", "referrer_name", TEXT),
    ("referrerKeyword", "referrer_keyword", TEXT),
    ("referrerKeywordPosition", "referrer_keyword_position", INT),
    ("referrerUrl", "referrer_url", TEXT),
    ("referrerSearchEngineUrl", "referrer_search_engine_url", TEXT),
    ("referrerSocialNetworkUrl", "referrer_social_network_url", TEXT),
    ("referrerAIAssistantUrl", "referrer_ai_assistant_url", TEXT),
    ("languageCode", "language_code", TEXT),
    ("language", "language", TEXT),
    ("deviceType", "device_type", TEXT),
    ("deviceBrand", "device_brand", TEXT),
    ("deviceModel", "device_model", TEXT),
    ("operatingSystem", "operating_system", TEXT),
    ("operatingSystemName", "operating_system_name", TEXT),
    ("operatingSystemCode", "operating_system_code", TEXT),
    ("operatingSystemVersion", "operating_system_version", TEXT),
    ("browserFamily", "browser_family", TEXT),
    ("browserFamilyDescription", "browser_family_description", TEXT),
    ("browser", "browser", TEXT),
    ("browserName", "browser_name", TEXT),
    ("browserCode", "browser_code", TEXT),
    ("browserVersion", "browser_version", TEXT),
    ("resolution", "resolution", TEXT),
    ("plugins", "plugins", TEXT),
    ("continent", "continent", TEXT),
    ("continentCode", "continent_code", TEXT),
    ("country", "country", TEXT),
    ("countryCode", "country_code", TEXT),
    ("region", "region", TEXT),
    ("regionCode", "region_code", TEXT),
    ("city", "city", TEXT),
    ("location", "location", TEXT),
    ("latitude", "latitude", FLOAT),
    ("longitude", "longitude", FLOAT),
    ("siteName", "site_name", TEXT),
    ("siteCurrency", "site_currency", TEXT),
    ("totalEcommerceRevenue", "total_ecommerce_revenue", FLOAT),
    ("totalEcommerceConversions", "total_ecommerce_conversions", INT),
    ("totalEcommerceItems", "total_ecommerce_items", INT),
    ("totalAbandonedCartsRevenue", "total_abandoned_carts_revenue", FLOAT),
    ("totalAbandonedCarts", "total_abandoned_carts", INT),
    ("totalAbandonedCartsItems", "total_abandoned_carts_items", INT),
    ("truncatedActionsCount", "truncated_actions_count", INT),
)

_ACTION_FIELDS: tuple[tuple[str, str, ColumnType], ...] = (
    ("type", "type", TEXT),
    ("url", "url", TEXT),
    ("pageTitle", "title", TEXT),
    ("timestamp", "timestamp", TS),
    ("pageIdAction", "page_id_action", INT),
    ("pageId", "page_id", INT),
    ("idpageview", "idpageview", TEXT),
    ("pageviewPosition", "pageview_position", INT),
    ("timeSpent", "time_spent", INT),
    ("pageLoadTimeMilliseconds", "page_load_time_ms", INT),
    ("eventCategory", "event_category", TEXT),
    ("eventAction", "event_action", TEXT),
    ("eventName", "event_name", TEXT),
    ("eventValue", "event_value", FLOAT),
    ("goalId", "goal_id", INT),
    ("goalName", "goal_name", TEXT),
    ("goalPageId", "goal_page_id", INT),
    ("siteSearchKeyword", "site_search_keyword", TEXT),
    ("siteSearchCategory", "site_search_category", TEXT),
    ("siteSearchCount", "site_search_count", INT),
    ("orderId", "order_id", TEXT),
    ("revenue", "revenue", FLOAT),
    ("revenueSubTotal", "revenue_sub_total", FLOAT),
    ("revenueTax", "revenue_tax", FLOAT),
    ("revenueShipping", "revenue_shipping", FLOAT),
    ("revenueDiscount", "revenue_discount", FLOAT),
    ("items", "items", INT),
    ("itemDetails", "item_details", JSON),
    ("productViewSku", "product_view_sku", TEXT),
    ("productViewName", "product_view_name", TEXT),
    ("productViewPrice", "product_view_price", FLOAT),
    ("productViewCategories", "product_view_categories", JSON),
    ("referrerType", "referrer_type", TEXT),
    ("referrerName", "referrer_name", TEXT),
    ("referrerKeyword", "referrer_keyword", TEXT),
)

# Presentation-only keys: display strings, icons, flags (SPEC 2.10). Everything else is kept.
_VISIT_DROPPED = frozenset(
    {
        "actionDetails",
        "lastActionDateTime",
        "siteCurrencySymbol",
        "referrerTypeName",
        "pluginsIcons",
    }
)
_ACTION_DROPPED = frozenset({"title", "subtitle", "icon", "iconSVG", "pageLoadTime"})
_PRESENTATION_SUFFIXES = ("Pretty", "Icon", "Icons", "IconSVG", "Flag", "Logo")
_PRESENTATION_INFIX = ("Pretty",)  # serverDatePrettyFirstAction and friends


def _is_presentation(key: str) -> bool:
    return key.endswith(_PRESENTATION_SUFFIXES) or any(p in key for p in _PRESENTATION_INFIX)


VISITS = Table(
    "visits",
    (*tuple(_c(name, t, src) for src, name, t in _VISIT_FIELDS), _c("extra", JSON)),
    key=("id_site", "id_visit"),
)
ACTIONS = Table(
    "actions",
    (
        _c("id_site", INT),
        _c("id_visit", INT),
        _c("position", INT),
        *tuple(_c(name, t, src) for src, name, t in _ACTION_FIELDS),
        _c("extra", JSON),
    ),
    key=("id_site", "id_visit", "position"),
)

# Metrics common enough to get their own column; other numeric values go to `metrics` (JSON).
REPORT_METRICS: tuple[str, ...] = (
    "nb_visits",
    "nb_uniq_visitors",
    "nb_users",
    "nb_actions",
    "nb_hits",
    "nb_visits_converted",
    "nb_conversions",
    "revenue",
    "sum_visit_length",
    "sum_time_spent",
    "max_actions",
    "bounce_count",
    "bounce_rate",
    "nb_actions_per_visit",
    "avg_time_on_site",
    "avg_time_on_page",
    "exit_rate",
    "entry_nb_visits",
    "exit_nb_visits",
    "sum_daily_nb_uniq_visitors",
    "sum_daily_nb_users",
    "conversion_rate",
    "nb_events",
    "sum_event_value",
)
REPORTS = Table(
    "reports",
    (
        _c("id_site", INT),
        _c("period", TEXT),
        _c("date", DATE),
        _c("report", TEXT),
        _c("report_params", TEXT),
        _c("label", TEXT),
        *tuple(_c(m, FLOAT) for m in REPORT_METRICS),
        _c("metrics", JSON),
        _c("extra", JSON),
    ),
    key=("id_site", "period", "date", "report", "report_params", "label"),
)


# --- coercion (column at a time; the common case is a type check done in C) ---------------


def _to_int(x: Any) -> int | None:
    if x is None or x == "":
        return None
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        return int(x)
    try:
        return int(x)
    except (TypeError, ValueError):
        return int(float(x))  # "12.0"; a non-number raises and is kept in `extra`


def _to_float(x: Any) -> float | None:
    if x is None or x == "":
        return None
    if isinstance(x, (int, float)):
        return float(x)
    s = str(x).strip()
    if s.endswith("%"):
        return float(s[:-1]) / 100.0
    return float(s)


def _to_text(x: Any) -> str | None:
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, (dict, list)):
        raise ValueError("nested value in a text column")
    return str(x)


def _to_date(x: Any) -> date | None:
    if x is None or x == "":
        return None
    if isinstance(x, date):
        return x
    return date.fromisoformat(str(x)[:10])


def _to_json(x: Any) -> Any:
    return x


_COERCE = {
    INT: _to_int,
    TS: _to_int,
    FLOAT: _to_float,
    TEXT: _to_text,
    DATE: _to_date,
    JSON: _to_json,
}
_NUMBER_TYPES = frozenset({int, float, type(None)})
_FAST_TYPES: dict[ColumnType, frozenset[type]] = {
    INT: frozenset({int, type(None)}),
    TS: frozenset({int, type(None)}),
    FLOAT: frozenset({float, type(None)}),
    TEXT: frozenset({str, type(None)}),
}


def _coerce_column(
    values: list[Any], type_: ColumnType, key: str, extras: list[dict[str, Any] | None]
) -> list[Any]:
    """Coerce one column in place; a value that cannot be coerced becomes NULL and goes to extra."""
    if type_ is JSON:
        return values
    fast = _FAST_TYPES.get(type_)
    types = set(map(type, values))
    if fast is not None and types <= fast:
        return values
    if type_ is FLOAT and types <= _NUMBER_TYPES:
        return [float(x) if type(x) is int else x for x in values]
    coerce = _COERCE[type_]
    out: list[Any] = []
    append = out.append
    for i, x in enumerate(values):
        try:
            append(coerce(x))
        except (TypeError, ValueError, OverflowError):
            append(None)
            e = extras[i]
            if e is None:
                e = extras[i] = {}
            e[key] = x
    return out


_VISIT_KNOWN = frozenset(src for src, _, _ in _VISIT_FIELDS)
_ACTION_KNOWN = frozenset(src for src, _, _ in _ACTION_FIELDS)


def _extras(
    records: Sequence[dict[str, Any]], known: frozenset[str], dropped: frozenset[str]
) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    append = out.append
    cache: dict[frozenset[str], tuple[str, ...]] = {}
    for r in records:
        keys = frozenset(r)
        unknown = cache.get(keys)
        if unknown is None:
            unknown = cache[keys] = tuple(
                k for k in r if k not in known and k not in dropped and not _is_presentation(k)
            )
        append({k: r[k] for k in unknown} if unknown else None)
    return out


def _columns_from(
    records: Sequence[dict[str, Any]],
    fields: tuple[tuple[str, str, ColumnType], ...],
    extras: list[dict[str, Any] | None],
) -> dict[str, list[Any]]:
    keys = [src for src, _, _ in fields]
    if records:
        # Row-wise `map(dict.get)` then one transpose: about twice as fast as a pass per column
        # over many large dicts (cache locality).
        transposed: list[Any] = list(zip(*[list(map(r.get, keys)) for r in records], strict=True))
    else:
        transposed = [()] * len(keys)
    cols: dict[str, list[Any]] = {}
    for (src, name, type_), raw in zip(fields, transposed, strict=True):
        cols[name] = _coerce_column(list(raw), type_, src, extras)
    return cols


def build_visit_batches(raw_visits: Sequence[dict[str, Any]]) -> tuple[Batch, Batch]:
    """Build the `visits` and `actions` batches from raw `Live.getLastVisitsDetails` rows."""
    v_extra = _extras(raw_visits, _VISIT_KNOWN, _VISIT_DROPPED)
    vcols = _columns_from(raw_visits, _VISIT_FIELDS, v_extra)
    vcols["extra"] = v_extra

    actions: list[dict[str, Any]] = []
    a_site: list[Any] = []
    a_visit: list[Any] = []
    a_pos: list[int] = []
    for site, visit, rv in zip(vcols["id_site"], vcols["id_visit"], raw_visits, strict=True):
        details = rv.get("actionDetails") or ()
        n = len(details)
        if n:
            actions.extend(details)
            a_site.extend([site] * n)
            a_visit.extend([visit] * n)
            a_pos.extend(range(1, n + 1))
    a_extra = _extras(actions, _ACTION_KNOWN, _ACTION_DROPPED)
    acols: dict[str, list[Any]] = {"id_site": a_site, "id_visit": a_visit, "position": a_pos}
    acols.update(_columns_from(actions, _ACTION_FIELDS, a_extra))
    acols["extra"] = a_extra
    return Batch(VISITS, vcols), Batch(ACTIONS, acols)


_REPORT_METRIC_SET = frozenset(REPORT_METRICS)
_REPORT_DROPPED = frozenset({"label", "logo", "logoWidth", "logoHeight", "idsubdatatable"})


def _as_number(x: Any) -> float | None:
    """A metric value as a number, or None when it is not numeric."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        try:
            return _to_float(x)
        except ValueError:
            return None
    return None


def build_report_rows(
    id_site: int,
    period: str,
    day: date,
    report: str,
    report_params: str,
    rows: Sequence[dict[str, Any]],
) -> Batch:
    """Build long-form `reports` rows for one report and one period."""
    cols: dict[str, list[Any]] = {c.name: [] for c in REPORTS.columns}
    seen_labels: dict[str, int] = {}
    for r in rows:
        label = r.get("label")
        label_s = None if label is None else str(label)
        # A label can repeat (e.g. "Others" rows, or simple reports with no label): make it unique.
        k = label_s or ""
        if k in seen_labels:
            seen_labels[k] += 1
            label_s = f"{k} ({seen_labels[k]})"
        else:
            seen_labels[k] = 1
        cols["id_site"].append(id_site)
        cols["period"].append(period)
        cols["date"].append(day)
        cols["report"].append(report)
        cols["report_params"].append(report_params)
        cols["label"].append(label_s)
        metrics: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in r.items():
            if key in _REPORT_METRIC_SET or key in _REPORT_DROPPED:
                continue
            num = _as_number(value)
            if num is not None and not key.startswith(("idsite", "code")):
                metrics[key] = num
            elif value is not None and not _is_presentation(key):
                extra[key] = value
        for m in REPORT_METRICS:
            cols[m].append(_as_number(r.get(m)))
        cols["metrics"].append(metrics or None)
        cols["extra"].append(extra or None)
    return Batch(REPORTS, cols)
