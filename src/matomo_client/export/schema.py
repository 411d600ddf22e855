"""The fixed, declared schema of the export tables (the builders are in `rows.py`).

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "ACTIONS",
    "ACTION_RECORD",
    "LIVE_HIDDEN",
    "REPORTS",
    "REPORT_METRICS",
    "VISITS",
    "VISIT_RECORD",
    "Batch",
    "Column",
    "ColumnType",
    "RecordKind",
    "Table",
    "is_presentation",
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
    # Rows not in memory (a busy window's, spilled to disk: `spill.py`): `resolve()` reads them.
    deferred: Callable[[], Batch] | None = None

    def __len__(self) -> int:
        if self.deferred is not None:
            return self.size
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

    def resolve(self) -> Batch:
        """This batch with its rows in memory (deferred rows are read back now)."""
        return self if self.deferred is None else self.deferred()

    def rows(self) -> Iterable[tuple[Any, ...]]:
        """The rows as tuples, in column order."""
        return zip(*(self.columns[c.name] for c in self.table.columns), strict=True)

    def __reduce__(self) -> Any:
        # An Arrow batch crosses a process boundary (a worker's answer, see `_workers.py`) as
        # Arrow IPC: a single copy of its buffers, where pickling the table walks every column
        # and buffer in Python (ten times the cost for a page of visits).
        if self.deferred is not None:
            return self.resolve().__reduce__()
        if self.arrow is not None:
            return _arrow_reduce(self.table, self.arrow)
        return (Batch, (self.table, self.columns, None, self.jsonl, self.size))

    @classmethod
    def empty(cls, table: Table) -> Batch:
        """A batch with no rows."""
        return cls(table, {c.name: [] for c in table.columns})


def _arrow_reduce(table: Table, arrow: Any) -> tuple[Any, ...]:
    """How an Arrow batch pickles: a page's rows in the declared schema as one record batch
    message, which the other side reads against the schema it knows (a third of the cost of
    an IPC stream each way, ~0.1 ms a page); anything else as a whole IPC stream."""
    from .sinks.arrow import arrow_schema

    batches = arrow.to_batches()
    if len(batches) == 1 and arrow.schema.equals(arrow_schema(table)):
        return (_batch_from_message, (table, batches[0].serialize().to_pybytes()))
    return (_batch_from_ipc, (table, _ipc_stream(arrow)))


def _batch_from_message(table: Table, message: bytes) -> Batch:
    import pyarrow as pa

    from .sinks.arrow import arrow_schema

    batch = pa.ipc.read_record_batch(pa.py_buffer(message), arrow_schema(table))
    return Batch(table, arrow=pa.Table.from_batches([batch]))


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
_PRESENTATION_SUFFIXES = ("Pretty", "_pretty", "Icon", "Icons", "IconSVG", "Flag", "Logo")
_PRESENTATION_INFIX = ("Pretty",)  # serverDatePrettyFirstAction and friends


def is_presentation(key: str) -> bool:
    """Whether a Matomo key is display-only (`*Pretty`, icons, flags): never exported."""
    return key.endswith(_PRESENTATION_SUFFIXES) or any(p in key for p in _PRESENTATION_INFIX)


def _to_extra(key: str, known: frozenset[str], dropped: frozenset[str]) -> bool:
    """Whether a record's `key` goes to its `extra` column: neither declared nor dropped."""
    return key not in known and key not in dropped and not is_presentation(key)


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
