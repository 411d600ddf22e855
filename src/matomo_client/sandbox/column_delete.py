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

import html
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .datatable import limit_and_offset
from .label_filter import by_labels, php_html, requested_labels, unlimited
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
_INT_KEY = re.compile(r"0|-?[1-9][0-9]{0,17}")
_COLUMN_KEY = re.compile(r"filter_column\[([^\[\]]*)\]")
# the answers whose handler pages them (api.py `_bulk`): not paged a second time
_PAGED_BY_HANDLER = frozenset({"API.getBulkRequest"})
#: methods answering a plain PHP array rather than a DataTable (Goals' getGoals keyed by idgoal);
#: their handlers neither filter, page nor delete columns (API.getBulkRequest's pages itself)
PLAIN_ARRAYS = frozenset(
    {
        "API.getReportMetadata",
        "API.getReportPagesMetadata",
        "API.getSegmentsMetadata",
        "CustomDimensions.getConfiguredCustomDimensions",
        "Goals.getGoals",
        "API.getBulkRequest",
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


def _is_string_key(key: str) -> bool:
    """Whether PHP keeps an array key a string (`"1"` or `"-2"` become integers)."""
    return not _INT_KEY.fullmatch(key)


def _delete_row_keys(row: Any, hidden: list[str], shown: list[str]) -> Any:
    """ColumnDelete on one row of a plain array: a dict's keys, a list's positions (`"0"` names
    position 0, showColumns keeps only named ones); PHP's renderer writes a row left empty as
    `[]` and a list with holes as an object. Other values stay."""
    if isinstance(row, list):
        keyed = {str(i): v for i, v in enumerate(row)}
        kept = {k: v for k, v in keyed.items() if k not in hidden and (not shown or k in shown)}
        if list(kept) == [str(i) for i in range(len(kept))]:
            return list(kept.values())
        return kept
    if not isinstance(row, dict):
        return row
    kept = {k: v for k, v in row.items() if k not in hidden}
    return ({k: v for k, v in kept.items() if _shown(k, shown)} if shown else kept) or []


def _php_string(value: Any) -> str:
    """A scalar as PHP's string conversion writes it (`true` "1", `false`/`null` "")."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _pattern_filter(params: Mapping[str, str]) -> tuple[list[str], re.Pattern[bytes] | None]:
    """handleArray's Pattern filter: `filter_column` read as an array (a plain string, or
    `filter_column[0]` = "" or "0", compares equal to `array(false)`: no filter) and a
    non-empty `filter_pattern`, sanitized, as PCRE `/<pattern>/i` without `u` (bytes, ASCII
    case folding); a pattern PCRE refuses (an unescaped `/` ends it early) matches nothing."""
    given = [(m[1], v) for k, v in params.items() if (m := _COLUMN_KEY.fullmatch(k))]
    pattern = params.get("filter_pattern") or ""
    if not given or pattern == "" or (len(given) == 1 and given[0] in (("0", ""), ("0", "0"))):
        return [], None
    quoted = php_html(html.unescape(pattern)).replace("/", "\\/")
    try:
        if not _delimited(quoted):
            raise re.error("PCRE: no ending delimiter or unknown modifier")
        return [v for _, v in given], re.compile(quoted.encode(), re.IGNORECASE)
    except re.error:
        return [v for _, v in given], None


def _delimited(quoted: str) -> bool:
    """Whether `/<quoted>/` ends at its last `/`: no unescaped `/` inside, no `\\` escaping
    the closing one."""
    at = 0
    while at < len(quoted):
        if quoted[at] == "/":
            return False
        at += 2 if quoted[at] == "\\" else 1
    return at == len(quoted)


def _matches(row: Any, columns: list[str], regex: re.Pattern[bytes] | None) -> bool:
    """Pattern::filterArray on one row: some listed column present and matching."""
    if not isinstance(row, dict):
        return True  # PHP fails on a row not an array (a TypeError); the sandbox keeps it
    for column in columns:
        value = row.get(column)
        if column not in row or isinstance(value, (dict, list)):
            continue
        if regex is not None and regex.search(php_html(_php_string(value)).encode()):
            return True
    return False


def plain_array(method: str, value: Any, params: Mapping[str, str]) -> Any:
    """A method's answer as ResponseBuilder::handleArray serves a plain PHP array (the
    methods of PLAIN_ARRAYS, not DataTables): a list filtered by `filter_pattern` on the
    `filter_column[]` named, paged by `filter_limit` (100 over HTTP) and `filter_offset`, then,
    if its first row was an associative array, its columns deleted. Unpaged
    (`filter_limit=-1`), the rows keep their PHP keys: the list becomes an object when they are
    not 0, 1, 2... (Goals.getGoals is keyed by idgoal; filtered rows leave holes)."""
    if method not in PLAIN_ARRAYS or not isinstance(value, list):
        return value
    first = value[0] if value else None
    associative = isinstance(first, dict) and any(_is_string_key(k) for k in first)
    goals = method == "Goals.getGoals"
    pairs = [(r["idgoal"] if goals else i, r) for i, r in enumerate(value)]
    columns, regex = _pattern_filter(params)
    if columns:
        pairs = [(k, r) for k, r in pairs if _matches(r, columns, regex)]
    sliced = method in _PAGED_BY_HANDLER
    if not sliced:
        limit, offset = limit_and_offset(params)
        sliced = limit >= 0 or offset > 0
        if sliced:
            pairs = pairs[offset:] if limit < 0 else pairs[offset : offset + limit]
    rows = [r for _, r in pairs]
    if associative:
        hidden = [] if (params.get("hideColumns") or "") == "" else params["hideColumns"].split(",")
        shown = [] if (params.get("showColumns") or "") == "" else params["showColumns"].split(",")
        if hidden or shown:
            rows = [_delete_row_keys(r, hidden, shown) for r in rows]
    if sliced or [k for k, _ in pairs] == list(range(len(pairs))):
        return rows
    return {str(k): r for (k, _), r in zip(pairs, rows, strict=True)}


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
