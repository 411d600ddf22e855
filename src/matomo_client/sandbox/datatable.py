"""Matomo's generic DataTable handling of report rows: idSubtable, expanded, filters, paging.

Report builders produce rows as dicts; children of a row live under the private key
`_sub` and are reachable through the row's `idsubdatatable`. This module applies the
request's generic filters in Matomo's order (pattern, sort, offset/limit; Matomo's
`DataTableGenericFilter`) and strips private keys before rendering.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .dates import ApiFailure

__all__ = [
    "apply_filters",
    "find_subtable",
    "leaf_rows",
    "limit_and_offset",
    "number_format",
    "percent",
]

Row = dict[str, Any]
# Rates Matomo's `format_metrics=bc` (its default) writes as percentages; `0` sends the fractions.
_PERCENT_METRICS = frozenset({"bounce_rate", "exit_rate", "conversion_rate"})


def percent(part: float, whole: float) -> str:
    """A Matomo rate as rendered with format_metrics=bc: whole percent, e.g. '46%'."""
    if not whole:
        return "0%"
    return f"{round(part / whole * 100)}%"


def number_format(value: float) -> int | float:
    """Render a metric like PHP's JSON: whole floats as ints."""
    if isinstance(value, float) and value == int(value):
        return int(value)
    return value


def limit_and_offset(params: Mapping[str, str], default_limit: int = 100) -> tuple[int, int]:
    """`filter_limit` (default 100, -1 all, non-numeric ignored) and `filter_offset`."""
    raw = params.get("filter_limit")
    limit = default_limit
    if raw is not None and raw != "":
        try:
            limit = int(raw)
        except ValueError:
            limit = -1  # Matomo ignores a non-numeric limit: the whole table comes back
    try:
        offset = max(0, int(params.get("filter_offset", "0") or 0))
    except ValueError:
        offset = 0
    return limit, offset


def find_subtable(rows: list[Row], raw_id: str) -> list[Row]:
    """The children of the row whose idsubdatatable is `raw_id` ([] when unknown)."""
    if not re.fullmatch(r"-?\d+", raw_id.strip()):
        raise ApiFailure(f"idSubtable needs to be a number or 'all', '{raw_id}' given.")
    wanted = int(raw_id)
    stack = list(rows)
    while stack:
        row = stack.pop()
        if row.get("idsubdatatable") == wanted:
            return list(row.get("_sub", []))
        stack.extend(row.get("_sub", []))
    return []


def leaf_rows(rows: list[Row]) -> list[Row]:
    """The rows without children, subtables' rows in their place (a flattened tree's leaves)."""
    out = []
    for row in rows:
        out.extend(leaf_rows(row["_sub"]) if row.get("_sub") else [row])
    return out


def apply_filters(
    rows: list[Row], params: Mapping[str, str], *, default_sort: str | None = "nb_visits"
) -> list[Row]:
    """Apply pattern, sort and paging filters, then render (expanded, strip private keys);
    without `filter_sort_column`, a `default_sort` of None keeps the rows' own order."""
    pattern = params.get("filter_pattern")
    if pattern:
        column = params.get("filter_column") or "label"
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error:
            regex = re.compile(re.escape(pattern), re.IGNORECASE)
        rows = [r for r in rows if regex.search(str(r.get(column, "")))]
    sort = params.get("filter_sort_column") or default_sort
    descending = (params.get("filter_sort_order") or "desc").lower() != "asc"
    if sort is not None:
        rows = sorted(rows, key=lambda r: str(r.get("label", "")))
        rows = sorted(rows, key=lambda r: _sort_value(r.get(sort)), reverse=descending)
    limit, offset = limit_and_offset(params)
    rows = rows[offset:] if limit < 0 else rows[offset : offset + limit]
    expanded = params.get("expanded") in ("1", "true")
    fractions = (params.get("format_metrics") or "").strip() == "0"
    return [_render(r, expanded, fractions=fractions) for r in rows]


def _sort_value(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.rstrip("%"))
        except ValueError:
            return 0.0
    return 0.0


def _render(row: Row, expanded: bool, nested: bool = False, *, fractions: bool = False) -> Row:
    out = {k: v for k, v in row.items() if not k.startswith("_")}
    if fractions:
        for key in _PERCENT_METRICS.intersection(out):
            value = out[key]
            if isinstance(value, str) and value.endswith("%"):
                out[key] = round(float(value[:-1]) / 100, 4)
    if nested:  # rows inside `subtable` come without the processed timing averages
        out = {
            k: v
            for k, v in out.items()
            if not k.startswith(("avg_time_", "avg_page")) or k == "avg_time_on_page"
        }
    if expanded and row.get("_sub"):
        children = sorted(row["_sub"], key=lambda r: -_sort_value(r.get("nb_visits")))
        out["subtable"] = [_render(c, expanded, True, fractions=fractions) for c in children]
    return out
