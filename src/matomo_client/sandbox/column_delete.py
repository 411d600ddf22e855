"""`hideColumns` / `showColumns` on report rows: Matomo's ColumnDelete filter, as
DataTablePostProcessor::applyRequestedColumnDeletion runs it (after the queued filters, before
the label filter), and the `label` filter on tables the dispatcher answers whole.

Both parameters are comma lists, names taken as written (no trimming); PHP reads `""` and
`"0"` as not given. They act on a row's columns only: its metadata (`segment`, `url`, `logo`,
a flat row's dimension keys...), `idsubdatatable` and `subtable` stay. `hideColumns` removes
any column named, `label` included; with `hideColumnsRecursively=1` (reports default to 0,
only Live to 1) also the keys so named at any depth inside a column's value (`goals`).
`showColumns` keeps `label`, the named columns and any column named `<shown>__…`. Expanded
subtables are filtered the same way.

`plain_array` serves the methods answering a plain PHP array (ResponseBuilder::handleArray):
paged, then, for lists of associative arrays, every key a column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .datatable import limit_and_offset
from .label_filter import by_labels, requested_labels, unlimited
from .processed_report import METADATA_KEYS

if TYPE_CHECKING:
    from .api import Access

__all__ = [
    "PLAIN_ARRAYS",
    "delete_columns",
    "hides_label",
    "labelled",
    "plain_array",
]

Row = dict[str, Any]
# keys of a rendered row that are not columns: metadata (MultiSites.getAll's as recorded in
# 145, with its `previous_…` values), the subtable id and rows
_NOT_COLUMNS = METADATA_KEYS | {
    "idsubdatatable",
    "subtable",
    "ratio",
    "currencySymbol",
    "periodName",
    "previousRange",
    "group",
    "main_url",
}
# a flat row's dimension metadata (Flattener: `Actions_PageUrl`, `Events_EventName`)
_DIMENSION_KEY = re.compile(r"[A-Z][A-Za-z0-9]*_[A-Za-z0-9]+")
_KEEP_SUFFIX = "__"
#: methods answering a plain PHP array rather than a DataTable (Goals' getGoals keyed by idgoal,
#: a list once paged or rendered); their handlers neither page nor delete columns
PLAIN_ARRAYS = frozenset(
    {
        "API.getReportMetadata",
        "API.getReportPagesMetadata",
        "API.getSegmentsMetadata",
        "CustomDimensions.getConfiguredCustomDimensions",
        "Goals.getGoals",
        "Live.getCounters",
        "SitesManager.getAllSitesId",
        "SitesManager.getSitesIdWithAtLeastViewAccess",
        "SitesManager.getSitesWithAtLeastViewAccess",
    }
)


def _names(params: Mapping[str, str], name: str) -> list[str]:
    value = params.get(name) or ""
    return [] if value in ("", "0") else value.split(",")


def hides_label(params: Mapping[str, str]) -> bool:
    """Whether a report call with these parameters deletes its rows' `label` column
    (`hideColumns` naming it; `showColumns` always keeps it)."""
    return "label" in _names(params, "hideColumns")


def _is_column(key: str) -> bool:
    return (
        key not in _NOT_COLUMNS
        and not key.startswith("previous_")
        and not _DIMENSION_KEY.fullmatch(key)
    )


def _shown(key: str, shown: list[str]) -> bool:
    """ColumnDelete's allow-list: `label`, a named column or `<named>__…`."""
    return key == "label" or key in shown or any(key.startswith(s + _KEEP_SUFFIX) for s in shown)


def _drop_nested(value: Any, hidden: frozenset[str]) -> Any:
    """The keys named `hidden` removed at every depth of an array (PHP) value."""
    if isinstance(value, dict):
        return {k: _drop_nested(v, hidden) for k, v in value.items() if k not in hidden}
    if isinstance(value, list):
        return [_drop_nested(v, hidden) for v in value]
    return value


def _filter_row(row: Row, hidden: frozenset[str], shown: list[str], recursive: bool) -> Row:
    out = {}
    for key, value in row.items():
        if _is_column(key):
            if key in hidden or (shown and not _shown(key, shown)):
                continue
            if recursive and hidden:
                value = _drop_nested(value, hidden)
        elif key == "subtable" and isinstance(value, list):
            value = [_filter_row(c, hidden, shown, recursive) for c in value]
        out[key] = value
    return out


def delete_columns(rows: list[Row], params: Mapping[str, str]) -> list[Row]:
    """The rendered rows with the request's `hideColumns` / `showColumns` applied."""
    hidden, shown = _names(params, "hideColumns"), _names(params, "showColumns")
    if not hidden and not shown:
        return rows
    recursive = (params.get("hideColumnsRecursively") or "0").strip() not in ("", "0")
    hide = frozenset(hidden)
    return [_filter_row(r, hide, shown, recursive) if isinstance(r, dict) else r for r in rows]


def _delete_keys(rows: list[Any], params: Mapping[str, str]) -> list[Any]:
    """ColumnDelete on a list of associative arrays: every key a column, only `""` means not
    given (a `"0"` names column `0`), nothing nested touched; a row left empty is PHP's `[]`."""
    hidden = [] if (params.get("hideColumns") or "") == "" else params["hideColumns"].split(",")
    shown = [] if (params.get("showColumns") or "") == "" else params["showColumns"].split(",")
    if not (hidden or shown):
        return rows
    out: list[Any] = []
    for row in rows:
        if isinstance(row, dict):
            kept = {k: v for k, v in row.items() if k not in hidden}
            row = {k: v for k, v in kept.items() if _shown(k, shown)} if shown else kept
            row = row or []
        out.append(row)
    return out


def plain_array(method: str, value: Any, params: Mapping[str, str]) -> Any:
    """A method's answer as ResponseBuilder::handleArray serves a plain PHP array (the
    methods of PLAIN_ARRAYS, not DataTables): a list paged by `filter_limit` (100 over HTTP)
    and `filter_offset`, then, if its first row was an associative array, its columns deleted."""
    if method not in PLAIN_ARRAYS or not isinstance(value, list):
        return value
    associative = bool(value) and isinstance(value[0], dict) and bool(value[0])
    limit, offset = limit_and_offset(params)
    if limit >= 0 or offset > 0:
        value = value[offset:] if limit < 0 else value[offset : offset + limit]
    return _delete_keys(value, params) if associative else value


Handler = Callable[[Mapping[str, str], "Access"], Any]


def _tables(value: Any, apply: Callable[[list[Row]], list[Row]]) -> Any:
    """`apply` to every table of an answer: a list of rows, or a Map (site, period) of them."""
    if isinstance(value, list):
        return apply(value)
    if isinstance(value, dict):
        return {k: _tables(v, apply) for k, v in value.items()}
    return value


def labelled(handler: Handler, method: str) -> Handler:
    """`handler` (a report of rows without subtables) with the `label` filter and the column
    deletion applied to each of its tables, as DataTablePostProcessor does; requests without
    them answer exactly as before."""

    def run(params: Mapping[str, str], access: Access) -> Any:
        labels = requested_labels(params)
        value = handler(unlimited(params) if labels else params, access)
        value = _tables(value, lambda rows: delete_columns(rows, params))
        if labels:
            value = _tables(value, lambda rows: by_labels(rows, labels, method, lambda r: None))
        return value

    return run
