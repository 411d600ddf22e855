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
import gc
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import repeat
from typing import Any, NamedTuple

from .jsonvalue import as_orjson_reads

__all__ = [
    "ACTIONS",
    "ACTION_RECORD",
    "LIVE_HIDDEN",
    "REPORTS",
    "VISITS",
    "VISIT_RECORD",
    "Batch",
    "Column",
    "ColumnType",
    "RecordKind",
    "Table",
    "batches_from_columns",
    "build_report_rows",
    "build_visit_batches",
    "build_visit_rows",
    "convert_columns",
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

    def __reduce__(self) -> Any:
        # A declared table crosses a process boundary as its name, so that the sinks' `is`
        # checks (`table is REPORTS`) still hold for batches built in a worker process.
        if _DECLARED.get(self.name) is self:
            return (_declared, (self.name,))
        return (Table, (self.name, self.columns, self.key))


def _declared(name: str) -> Table:
    return _DECLARED[name]


@dataclass
class Batch:
    """Rows of one table, held in one of three ways.

    * `columns[name]`: a Python list per column, all of the same length (the general form);
    * `arrow`: a `pyarrow.Table` with the declared Arrow schema (`sinks/arrow.py`), for the
      sinks that write Arrow (DuckDB, Parquet);
    * `jsonl`: the rows already written as JSON lines, one per row, `size` of them (JSONL).

    The last two are built where the page was decoded (see `encode.py`), so the sink has no
    per-row Python work left; `column()` reads a column of either of the first two forms.
    """

    table: Table
    columns: dict[str, list[Any]] = field(default_factory=dict)
    arrow: Any = None
    jsonl: bytes | None = None
    size: int = 0

    def __len__(self) -> int:
        if self.arrow is not None:
            return int(self.arrow.num_rows)
        if self.jsonl is not None:
            return self.size
        first = self.table.columns[0].name
        return len(self.columns.get(first, ()))

    def column(self, name: str) -> list[Any]:
        """The values of one column (from Arrow: timestamps as Unix seconds, JSON as text)."""
        if self.arrow is not None:
            import pyarrow as pa

            values = self.arrow.column(name)
            if pa.types.is_timestamp(values.type):
                values = values.cast(pa.int64())
            return list(values.to_pylist())
        if self.jsonl is not None:
            raise TypeError(f"the {self.table.name} rows are JSON lines, not columns")
        return self.columns[name]

    def has_nulls(self, name: str) -> bool:
        """Whether a column holds a NULL (for Arrow, read from its null count alone)."""
        if self.arrow is not None:
            return bool(self.arrow.column(name).null_count)
        return None in self.column(name)

    def rows(self) -> Iterable[tuple[Any, ...]]:
        """The rows as tuples, in column order."""
        return zip(*(self.columns[c.name] for c in self.table.columns), strict=True)

    def __reduce__(self) -> Any:
        # An Arrow batch crosses a process boundary (a worker's answer, see `_workers.py`) as
        # one Arrow IPC stream: a single copy of its buffers, where pickling the table walks
        # every column and buffer in Python (ten times the cost for a page of visits).
        if self.arrow is not None:
            return (_batch_from_ipc, (self.table, _ipc_stream(self.arrow)))
        return (Batch, (self.table, self.columns, None, self.jsonl, self.size))

    @classmethod
    def empty(cls, table: Table) -> Batch:
        """A batch with no rows."""
        return cls(table, {c.name: [] for c in table.columns})


def _ipc_stream(arrow: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, arrow.schema) as writer:
        writer.write_table(arrow)
    return bytes(sink.getvalue().to_pybytes())


def _batch_from_ipc(table: Table, stream: bytes) -> Batch:
    import pyarrow as pa

    return Batch(table, arrow=pa.ipc.open_stream(stream).read_all())


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
        "iconSVG",  # an action's; listed so that hiding it (LIVE_HIDDEN) is safe at any depth
    }
)
_ACTION_DROPPED = frozenset({"title", "subtitle", "icon", "iconSVG", "pageLoadTime"})
_PRESENTATION_SUFFIXES = ("Pretty", "Icon", "Icons", "IconSVG", "Flag", "Logo")
_PRESENTATION_INFIX = ("Pretty",)  # serverDatePrettyFirstAction and friends


def _is_presentation(key: str) -> bool:
    return key.endswith(_PRESENTATION_SUFFIXES) or any(p in key for p in _PRESENTATION_INFIX)


def _to_extra(key: str, known: frozenset[str], dropped: frozenset[str]) -> bool:
    """Whether a record's `key` goes to its `extra` column: neither declared nor dropped."""
    return key not in known and key not in dropped and not _is_presentation(key)


# Presentation keys the export asks Matomo to leave out of its Live pages (`hideColumns`, which
# Matomo applies at every depth for Live, `actionDetails` included): about a quarter of a page's
# bytes that Matomo would encode, the network carry and the exporter decode, only for the
# builders to drop them. The builders drop each name from visits and actions alike, so no row
# changes; and each is Matomo's display vocabulary, not a name plugin data nests (the actions'
# generic `title`, `subtitle` and `icon` are left out for that reason, though dropped too).
LIVE_HIDDEN: tuple[str, ...] = (
    "serverTimePretty",
    "serverDatePretty",
    "serverDatePrettyFirstAction",
    "serverTimePrettyFirstAction",
    "visitDurationPretty",
    "timeSpentPretty",
    "visitorTypeIcon",
    "visitConvertedIcon",
    "visitEcommerceStatusIcon",
    "referrerSearchEngineIcon",
    "referrerSocialNetworkIcon",
    "referrerAIAssistantIcon",
    "deviceTypeIcon",
    "operatingSystemIcon",
    "browserIcon",
    "countryFlag",
    "pluginsIcons",
    "iconSVG",
)


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

_DECLARED: dict[str, Table] = {}

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
_DECLARED.update({t.name: t for t in (VISITS, ACTIONS, REPORTS)})


# --- coercion (column at a time; the common case is a type check done in C) ---------------


_INT64 = (-(2**63), 2**63 - 1)
# The Unix seconds a datetime holds (years 1 to 9999); the sinks write timestamps as datetimes.
_TS_RANGE = (-62_135_596_800, 253_402_300_799)


def _fits(values: Sequence[Any], type_: ColumnType) -> bool:
    """Whether the integers among `values` are in range for an INT or TIMESTAMP column."""
    lo, hi = _TS_RANGE if type_ is TS else _INT64
    ints = [v for v in values if type(v) is int]
    return not ints or (lo <= min(ints) and max(ints) <= hi)


def _to_int(x: Any) -> int | None:
    if x is None or x == "":
        return None
    if isinstance(x, bool):
        return int(x)
    x = as_orjson_reads(x)  # an integer beyond 64 bits: as orjson reads it, a float
    if isinstance(x, int):
        v = x
    elif isinstance(x, float):
        v = int(x)
    else:
        try:
            v = int(x)
        except (TypeError, ValueError):
            v = int(float(x))  # "12.0"; a non-number raises and is kept in `extra`
    if not _INT64[0] <= v <= _INT64[1]:
        raise OverflowError("beyond a 64-bit integer")  # kept in `extra`
    return v


def _to_ts(x: Any) -> int | None:
    v = _to_int(x)
    if v is not None and not _TS_RANGE[0] <= v <= _TS_RANGE[1]:
        raise OverflowError("not a time between the years 1 and 9999")  # kept in `extra`
    return v


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
    return str(as_orjson_reads(x))


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
    TS: _to_ts,
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


_INT_OR_STR = frozenset({int, str, type(None)})
_FLOAT_OR_STR = frozenset({int, float, str, type(None)})


def _coerce_fast(values: list[Any], type_: ColumnType, types: set[type]) -> list[Any] | None:
    """The coerced column when a C-speed conversion gives exactly what `_COERCE` gives, or None."""
    try:
        if type_ is INT or type_ is TS:
            if types <= _INT_OR_STR:  # "" and "12.0" raise here and take the slow path
                return [int(x) if type(x) is str else x for x in values]
        elif type_ is FLOAT:
            if types <= _FLOAT_OR_STR:  # "" and "46%" raise here and take the slow path
                return [x if x is None or type(x) is float else float(x) for x in values]
        elif type_ is DATE and types <= {str}:
            # Usually one distinct value per window: convert each distinct string once.
            converted = {s: date.fromisoformat(s[:10]) for s in set(values) if s}
            if len(converted) == len(set(values)):
                return list(map(converted.__getitem__, values))
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def _coerce_column(
    values: list[Any], type_: ColumnType, key: str, extras: list[dict[str, Any] | None]
) -> list[Any]:
    """Coerce one column; a value that cannot be coerced becomes NULL and goes to extra."""
    if type_ is JSON:
        return values
    types = set(map(type, values))
    fast = _FAST_TYPES.get(type_)
    ranged = type_ is INT or type_ is TS
    if fast is not None and types <= fast and (not ranged or _fits(values, type_)):
        return values
    out = _coerce_fast(values, type_, types)
    if out is not None and (not ranged or _fits(out, type_)):
        return out
    coerce = _COERCE[type_]
    out = []
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


class RecordKind(NamedTuple):
    """What one kind of raw record (a visit, an action) gives its table."""

    fields: tuple[tuple[str, str, ColumnType], ...]  # (key, column, type) of each declared one
    known: frozenset[str]  # the declared keys
    dropped: frozenset[str]  # undeclared keys left out of `extra` (besides presentation ones)

    def to_extra(self, key: str) -> bool:
        """Whether an undeclared `key` goes to the record's `extra` column."""
        return _to_extra(key, self.known, self.dropped)


VISIT_RECORD = RecordKind(_VISIT_FIELDS, _VISIT_KNOWN, _VISIT_DROPPED)
ACTION_RECORD = RecordKind(_ACTION_FIELDS, _ACTION_KNOWN, _ACTION_DROPPED)
_Getter = Callable[[Sequence[Any]], tuple[Any, ...]]


def _getter(positions: Sequence[int]) -> _Getter:
    """`operator.itemgetter` that always returns a tuple (even for zero or one position)."""
    if len(positions) > 1:
        return operator.itemgetter(*positions)
    if len(positions) == 1:
        i = positions[0]
        return lambda t: (t[i],)
    return lambda t: ()


def _layout(
    keys: tuple[str, ...],
    fields: tuple[tuple[str, str, ColumnType], ...],
    known: frozenset[str],
    dropped: frozenset[str],
) -> tuple[list[int], list[int], tuple[str, ...]]:
    """For one record shape: each field's position in it (len(keys) when absent), and the
    positions and names of its keys that go to `extra`."""
    # `extra` holds its keys sorted, whatever their order in the record: the same dict
    # whichever way the page was decoded (see `page_structs`).
    unknown_at = [i for i, k in enumerate(keys) if _to_extra(k, known, dropped)]
    unknown_at.sort(key=keys.__getitem__)
    where = {k: i for i, k in enumerate(keys)}
    absent = len(keys)
    return (
        [where.get(src, absent) for src, _, _ in fields],
        unknown_at,
        tuple(keys[i] for i in unknown_at),
    )


def _raw_columns(
    records: Sequence[dict[str, Any]], kind: RecordKind
) -> tuple[list[Sequence[Any]], list[dict[str, Any] | None]]:
    """The uncoerced columns in field order (absent keys None), and each record's `extra`.

    Values are read by position (`tuple(r.values())`) rather than by key, one shape (the same
    keys in the same order) at a time: a page of visits nearly always has one shape, its
    actions about ten. Each shape's records are transposed by C-level calls, and the shapes'
    columns are put back in record order by one `itemgetter` per column.
    """
    fields, known, dropped = kind
    n = len(records)
    if not n:
        return [()] * len(fields), []
    shapes = list(map(tuple, records))
    first = shapes[0]
    if shapes.count(first) == n:
        return _one_shape(records, first, fields, known, dropped)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, shape in enumerate(shapes):
        group = groups.get(shape)
        if group is None:
            groups[shape] = [i]
        else:
            group.append(i)
    columns: list[list[Any]] = [[] for _ in fields]
    extras: list[dict[str, Any] | None] = []
    order: list[int] = []
    for shape, at in groups.items():
        raw, shape_extras = _one_shape([records[i] for i in at], shape, fields, known, dropped)
        for column, values in zip(columns, raw, strict=True):
            column.extend(values)
        extras.extend(shape_extras)
        order.extend(at)
    back = _getter(sorted(range(n), key=order.__getitem__))  # record i's place in `columns`
    return [back(column) for column in columns], list(back(extras))


def _one_shape(
    records: Sequence[dict[str, Any]],
    shape: tuple[str, ...],
    fields: tuple[tuple[str, str, ColumnType], ...],
    known: frozenset[str],
    dropped: frozenset[str],
) -> tuple[list[Sequence[Any]], list[dict[str, Any] | None]]:
    """`_raw_columns` of records that all have the keys `shape`, in that order."""
    n = len(records)
    positions, unknown_at, unknown = _layout(shape, fields, known, dropped)
    by_pos: list[Sequence[Any]] = list(zip(*map(tuple, map(dict.values, records)), strict=True))
    by_pos.append((None,) * n)
    raw = [by_pos[i] for i in positions]
    if not unknown:
        return raw, [None] * n
    unknown_values = zip(*[by_pos[i] for i in unknown_at], strict=True)
    return raw, list(map(dict, map(zip, repeat(unknown), unknown_values)))


# Columns Arrow can take as they come when their values already have the declared type.
_ARROW_FIRST = frozenset({INT, TS, FLOAT, TEXT})
_FieldSpec = tuple[tuple[str, str, ColumnType], ...]
_ARROW_PLANS: dict[int, tuple[_FieldSpec, list[Any]]] = {}


def _arrow_plan(fields: _FieldSpec) -> list[Any]:
    """Per field, the Arrow type to try its raw values as (None: always coerce in Python).

    Worked out once per field list, not for every page (it was ~0.35 ms a page: a third of
    the encoding of a 10-visit page). The visits' keys stay Python values: the builder repeats
    them for the actions rows.
    """
    known = _ARROW_PLANS.get(id(fields))
    if known is not None and known[0] is fields:
        return known[1]
    from .sinks.arrow import arrow_type

    plan = [
        arrow_type(type_) if type_ in _ARROW_FIRST and name not in VISITS.key else None
        for _, name, type_ in fields
    ]
    _ARROW_PLANS[id(fields)] = (fields, plan)
    return plan


def convert_columns(
    raw: Sequence[Sequence[Any]],
    extras: list[dict[str, Any] | None],
    fields: _FieldSpec,
    arrow: bool = False,
) -> dict[str, Any]:
    """The declared columns of the uncoerced `raw` ones (in `fields` order); a value that cannot
    be coerced becomes NULL and goes to its record's `extras` entry.

    With `arrow`, a column whose values Arrow accepts as they are (ints, floats, bools for
    floats, strings, None: Arrow checks each value's type in C) is converted at once; that
    gives what `_coerce_column` would, so only a column with other values (a numeric string,
    an empty string, a nested value) goes through coercion.
    """
    cols: dict[str, Any] = {}
    if arrow:
        import pyarrow as pa

        plan = _arrow_plan(fields)
    else:
        pa, plan = None, [None] * len(fields)
    for (src, name, type_), values, arrow_type in zip(fields, raw, plan, strict=True):
        if arrow_type is not None and (type_ is not TS or _fits(values, TS)):
            try:
                cols[name] = pa.array(values, arrow_type)
                continue
            except (TypeError, ValueError, OverflowError):  # Arrow's errors derive from these
                pass
        cols[name] = _coerce_column(list(values), type_, src, extras)
    return cols


def build_visit_batches(
    raw_visits: Sequence[dict[str, Any]], arrow: bool = False
) -> tuple[Batch, Batch]:
    """Build the `visits` and `actions` batches from raw `Live.getLastVisitsDetails` rows."""
    _, visits, actions = build_visit_rows(raw_visits, arrow)
    return visits, actions


def build_visit_rows(
    raw_visits: Sequence[dict[str, Any]], arrow: bool = False
) -> tuple[list[int], Batch, Batch]:
    """Each visit's number of actions rows, and the `visits` and `actions` batches.

    With `arrow`, the batches are bound for `sinks.arrow.to_arrow` only: a column whose values
    already have their declared type is an Arrow array at once, sparing the Python scan that
    coercion makes of every value (about a fifth of building and converting a page).

    Python's cyclic GC is paused meanwhile: building allocates a tuple or dict per value row
    and creates no reference cycles, yet each allocation burst would make the collector walk
    every live object (the whole window's decoded visits) again, more than doubling the cost.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_visit_rows(raw_visits, arrow)
    finally:
        if enabled:
            gc.enable()


def _action_list(details: Any) -> list[dict[str, Any]] | None:
    """A visit's `actionDetails` as its list of actions; None when it is not one.

    Matomo sends a list. PHP writes a list with holes in its keys (entries a plugin removed) as
    an object, whose values are then the actions in order. Anything else (a string, a list with
    non-objects) gives no actions rows: the visit keeps the value whole in its `extra`.
    """
    if type(details) is dict:
        details = list(details.values())
    if type(details) is list and all(type(a) is dict for a in details):
        return details
    return None


def _build_visit_rows(
    raw_visits: Sequence[dict[str, Any]], arrow: bool
) -> tuple[list[int], Batch, Batch]:
    v_raw, v_extra = _raw_columns(raw_visits, VISIT_RECORD)
    actions: list[dict[str, Any]] = []
    counts: list[int] = []
    for i, rv in enumerate(raw_visits):
        details = rv.get("actionDetails")
        listed = _action_list(details) if details else None
        if listed:
            actions.extend(listed)
            counts.append(len(listed))
            continue
        counts.append(0)
        if details and listed is None:  # kept whole, its keys still sorted
            v_extra[i] = dict(sorted({**(v_extra[i] or {}), "actionDetails": details}.items()))
    a_raw, a_extra = _raw_columns(actions, ACTION_RECORD)
    return counts, *batches_from_columns(v_raw, v_extra, a_raw, a_extra, counts, arrow)


def batches_from_columns(
    v_raw: Sequence[Sequence[Any]],
    v_extra: list[dict[str, Any] | None],
    a_raw: Sequence[Sequence[Any]],
    a_extra: list[dict[str, Any] | None],
    counts: Sequence[int],
    arrow: bool = False,
) -> tuple[Batch, Batch]:
    """The `visits` and `actions` batches of uncoerced columns: the visits' (in
    `_VISIT_FIELDS` order), their actions' (in `_ACTION_FIELDS` order, the visits' actions one
    after another) and each visit's number of actions (`counts`). GC as `build_visit_rows`.
    """
    vcols = convert_columns(v_raw, v_extra, _VISIT_FIELDS, arrow)
    vcols["extra"] = v_extra
    a_site: list[Any] = []
    a_visit: list[Any] = []
    a_pos: list[int] = []
    for site, visit, n in zip(vcols["id_site"], vcols["id_visit"], counts, strict=True):
        if n:
            a_site.extend([site] * n)
            a_visit.extend([visit] * n)
            a_pos.extend(range(1, n + 1))
    acols: dict[str, Any] = {"id_site": a_site, "id_visit": a_visit, "position": a_pos}
    acols.update(convert_columns(a_raw, a_extra, _ACTION_FIELDS, arrow))
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
