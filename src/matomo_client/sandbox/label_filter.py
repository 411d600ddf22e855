"""The `label` request parameter: Matomo's LabelFilter, applied to any report's answer.

`label=x` (or `label[]=x&label[]=y`, one label each; a comma is part of the label) keeps
the rows labelled so, in the order asked, each found once per label; `a>b` is row `b` of
row `a`'s subtable, loaded as the API loads it (the report's subtable method, `idSubtable`
set). Matomo reads each label and each of its `>` parts URL-decoded, trimmed, and compares
HTML-escaped forms. With a label the table is neither cut by `filter_limit`/`filter_offset`
nor `expanded` (DataTablePostProcessor, API\\Request::sanitizeRequest); `label=0`, read by PHP as
empty, filters nothing. Page titles may also match with the blank Matomo puts before a page's
title, `@` first preferring it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from .dates import Period

__all__ = [
    "by_labels",
    "php_html",
    "requested_labels",
    "subtable_request",
    "unlimited",
    "without_labels",
]

Row = dict[str, Any]
_RECURSIVE = ">"
_TERMINAL = "@"
_PAGE_TITLES = frozenset(
    f"Actions.{a}" for a in ("getPageTitles", "getEntryPageTitles", "getExitPageTitles")
)
_INDEXED = re.compile(r"label\[[^\]]*\]")


def _sanitize(value: str) -> str:
    """Common::sanitizeInputValue: line breaks dropped, entities decoded, then HTML-escaped."""
    return php_html(html.unescape(value.replace("\n", "").replace("\r", "")).replace("\0", ""))


def php_html(text: str) -> str:
    """htmlspecialchars with ENT_QUOTES, as Matomo stores request input."""
    return (
        text.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("'", "&#039;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _trim(value: str) -> str:
    return value.strip(" \t\n\r\0\x0b")


def requested_labels(params: Mapping[str, str]) -> list[str]:
    """The labels asked for, as getLabelFromRequest reads them (sanitized, `>` kept)."""
    raw = [v for k, v in params.items() if _INDEXED.fullmatch(k)]
    if not raw:
        text = params.get("label", "")
        raw = [text] if text not in ("", "0") else []
    return [_sanitize(v).replace("&gt;", _RECURSIVE) for v in raw]


def unlimited(params: Mapping[str, str]) -> dict[str, str]:
    """The request a labelled table is filtered with: no Limit, no `expanded`."""
    out = {k: v for k, v in params.items() if k != "expanded"}
    out.update(filter_limit="-1", filter_offset="0")
    return out


def without_labels(params: Mapping[str, str]) -> dict[str, str]:
    """The request with neither `label` nor `label[…]`."""
    return {k: v for k, v in params.items() if k != "label" and not _INDEXED.fullmatch(k)}


def subtable_request(
    params: Mapping[str, str], method: str, id_site: int, period: Period, id_subtable: Any
) -> dict[str, str]:
    """The API request LabelFilter loads a row's subtable with: the same one without label
    and flat, unsorted, for the row's site and period, `idSubtable` set."""
    out = {
        k: v
        for k, v in params.items()
        if k not in ("label", "flat", "expanded") and not _INDEXED.fullmatch(k)
    }
    day = period.start.isoformat()
    out.update(method=method, idSite=str(id_site), idSubtable=str(id_subtable), totals="0")
    out.update(filter_sort_column="", date=f"{day},{period.end}" if period.kind == "range" else day)
    return out


def _variations(text: str, method: str) -> list[str]:
    """LabelFilter::getLabelVariations: sanitized and plain, page titles also with a blank."""
    text = _trim(text)
    terminal = text.startswith(_TERMINAL)
    if terminal:
        text = text[1:]
    label = _trim(unquote_plus(text))
    sanitized = _sanitize(label)
    out = [sanitized]
    if method in _PAGE_TITLES:
        if terminal:
            out[:0] = [f" {label}", f" {sanitized}"]
        else:
            out += [f" {sanitized}", f" {label}"]
    out.append(label)
    return list(dict.fromkeys(out))


def _find(
    rows: list[Row], parts: list[str], method: str, load: Callable[[Row], list[Row] | None]
) -> Row | None:
    """LabelFilter's recursive descent: the row of the first part, then into its subtable."""
    # rows are compared as SafeDecodeLabel hands them over: HTML-escaped; the last one wins
    index = {_sanitize(str(row.get("label", ""))): row for row in rows}
    row = next((index[v] for v in _variations(parts[0], method) if v in index), None)
    if row is None or len(parts) == 1:
        return row
    subtable = load(row)
    return None if subtable is None else _find(subtable, parts[1:], method, load)


def by_labels(
    rows: list[Row],
    labels: list[str],
    method: str,
    load: Callable[[Row], list[Row] | None],
) -> list[Row]:
    """The rows the labels name, in their order; `load(row)` gives a row's subtable (None
    when it has none)."""
    out = []
    for label in labels:
        for variation in _variations(label, method):
            row = _find(rows, variation.split(_RECURSIVE), method, load)
            if row is not None:
                out.append(row)
                break
    return out
