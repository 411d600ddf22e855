"""API.getRowEvolution: how one row of a report (or several) moves over several periods.

`row_evolution(api, params, access)` answers as Matomo 5's plugins/API/RowEvolution.php
(recorded 152). The report's rows come from the report method itself, run through the
dispatcher for all the periods: with all its rows, or once per asked label with `label[]`
set, so that the report's own label filter (`label_filter.py`) finds the row, `a>b` through
the report's subtable method as Matomo's LabelFilter does; the metric names from the report's
metadata entry (`processed_report.report_entry`), archived then processed metrics. One label
gives `{label, reportData, metadata}`, the row of each period (its metrics only) under the
period's key; several labels, or none (then every label of the periods, `filter_limit` of
them), give `{column, reportData, metadata}` with one `<column>_<n>` value per label; none
with `hideColumns=label` lists Matomo's one label `false`: each period's first row. Maps and
rows left empty are PHP's `[]`.
`metadata.metrics` adds min, max and the change from the first to the last period.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .column_delete import hides_label
from .datatable import number_format
from .dates import ApiFailure, Periods
from .processed_report import api_parameters, report_entry, require, with_processed_metrics

if TYPE_CHECKING:
    from .api import Access, Api

__all__ = ["row_evolution"]

_NOT_MULTIPLE = (
    "Row evolutions can not be processed with this combination of \\'date\\' and \\'period\\' "
    "parameters."
)
_NOT_FOUND = (
    "Requested report {}.{} for Website id={} not found in the list of available reports. \n"
)
_NO_DIMENSION = (
    "Reports like {}.{} which do not have a dimension are not supported by row evolution"
)
_LAST_N = re.compile(r"^(last|previous)\d*$")
# reports whose label shows as a URL of the site when no row has a URL (RowEvolution.php)
_ACTIONS_URL_REPORTS = frozenset(
    {"getPageUrls", "getPageUrlsFollowingSiteSearch", "getEntryPageUrls", "getExitPageUrls"}
)


def _php_round(value: float) -> float:
    """PHP's round() to a whole number: halves away from zero."""
    out = float(int(abs(value) + 0.5))
    return -out if value < 0 else out


def _float(value: Any) -> float:
    """PHP's floatval of a metric: '57%' is 57, anything else non-numeric 0."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        found = re.match(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", value.replace(",", "."))
        return float(found[0]) if found else 0.0
    return 0.0


def _change(first: float, last: float) -> str:
    """CalculateEvolutionFilter::calculate as a whole percent, '+' when not negative."""
    number = 0.0 if last == first else _php_round((last - first) / first * 100)
    text = f"{abs(number):,.0f}%"
    return f"+{text}" if number >= 0 else f"-{text}"


def _labels(params: Mapping[str, str]) -> list[str]:
    raw = [v for k, v in params.items() if k.startswith("label[")]
    if not raw and params.get("label"):
        raw = params["label"].split(",")
    labels: list[str] = []
    for label in raw:
        if label and label not in labels:
            labels.append(label)
    return labels


def _row_url(row: Mapping[str, Any], module: str, action: str, params: Mapping[str, str]) -> Any:
    """The row's URL without scheme and www, for Actions and Referrers.getWebsites rows."""
    url = row.get("url")
    wanted = module == "Actions" or (module == "Referrers" and action == "getWebsites")
    if url and wanted and params.get("labelUseAbsoluteUrl") not in ("0", "false"):
        return re.sub(r"^http(s)?://(www.)?", "", str(url), flags=re.IGNORECASE)
    return False


def _with_ranges(metrics: dict[str, str], tables: list[dict[str, Any] | None]) -> dict[str, Any]:
    """Each metric's name, min and max (from its first non-zero value on) and change."""
    out: dict[str, Any] = {}
    for metric, name in metrics.items():
        entry: dict[str, Any] = {"name": name}
        started = False
        for row in tables:
            value = _float(row.get(metric)) if row else 0.0
            if value > 0:
                started = True
            elif not started:
                continue
            if "min" not in entry or entry["min"] > value:
                entry["min"] = number_format(value)
            if "max" not in entry or entry["max"] < value:
                entry["max"] = number_format(value)
        first = _float(tables[0].get(metric)) if tables and tables[0] else 0.0
        last = _float(tables[-1].get(metric)) if tables and tables[-1] else 0.0
        if first != 0:
            entry["change"] = _change(first, last)
        out[metric] = entry
    return out


def row_evolution(api: Api, params: Mapping[str, str], access: Access) -> Any:
    """API.getRowEvolution for one site: one label's rows over the periods, or several labels'."""
    require(params, ("idSite", "period", "date", "apiModule", "apiAction"))
    id_site = api._site_ids_param(params, access)[0][0]
    period = params["period"].strip()
    if period == "range":
        period = "day"  # the days of the range
    date_text = params["date"].strip()
    if not (_LAST_N.match(date_text) or "," in date_text):
        raise ApiFailure(_NOT_MULTIPLE)
    query = {**params, "period": period}
    periods = api._periods(query, [id_site])  # the segment is read by the report call below
    module, action = params["apiModule"].strip(), params["apiAction"].strip()
    extra = {k: v for k, v in api_parameters(params).items() if k in ("idGoal", "idDimension")}
    entry = report_entry(api, id_site, params, extra, period=period)
    if entry is None:
        raise ApiFailure(_NOT_FOUND.format(module, action, id_site))
    metrics: dict[str, str] = dict(entry.get("metrics") or {})
    for key, name in (entry.get("processedMetrics") or {}).items():
        metrics.setdefault(key, name)
    if not entry.get("dimension"):
        raise ApiFailure(_NO_DIMENSION.format(module, action))

    # the report's rows for each period, every one; with labels, Matomo's LabelFilter keeps each
    # label's row (`a>b` through the report's subtable method), one call per label
    keep = ("idSite", "segment", "format_metrics", "flat", "idSubtable")
    report = {k: v for k, v in params.items() if k in keep}
    report.update(extra, method=f"{module}.{action}", idSite=str(id_site), period=period)
    report.update(date=date_text, filter_limit="-1")
    labels = _labels(params)
    found: list[list[dict[str, Any] | None]]
    if labels and hides_label(params):  # the report call deletes the label: no row matches
        found = [[None for _ in periods.items] for _ in labels]
    elif labels:
        found = [
            [rows[0] if rows else None for rows in _tables(api, report, periods, access, label)]
            for label in labels
        ]
    elif hides_label(params):  # no label left to list: Matomo's one label `false`, each
        # period's first row (none without rows)
        tables = _tables(api, report, periods, access)
        found = [[_unlabelled(rows) for rows in tables]]
        labels = [""] if any(tables) else []
    else:
        tables = _tables(api, report, periods, access)
        for rows in tables:
            labels += [str(r.get("label")) for r in rows if str(r.get("label")) not in labels]
        raw_limit = (params.get("filter_limit") or "").strip()
        if re.fullmatch(r"\d+", raw_limit) and int(raw_limit) > 0:
            labels = labels[: int(raw_limit)]
        # each label's row: the first one labelled so (enrichRowAddMetadataLabelIndex)
        found = [
            [next((r for r in rows if str(r.get("label")) == label), None) for rows in tables]
            for label in labels
        ]
    keys = [p.key for p in periods.items]
    processed = [k for k in metrics if k in (entry.get("processedMetrics") or {})]
    fractions = (params.get("format_metrics") or "").strip() == "0"

    def metric_row(row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        full = with_processed_metrics(row, processed, fractions)
        out = {k: v for k, v in full.items() if k in metrics or k == "label_html"}
        if "idsubdatatable" in row:
            out["idsubdatatable"] = row["idsubdatatable"]
        return out

    if len(labels) == 1:
        label = labels[0]
        series = [metric_row(row) for row in found[0]]
        shown, logo = _label_and_logo(found[0], module, action, params)
        if shown is False:
            shown = _display_label(api, id_site, module, action, params.get("labelPretty") or label)
        answer: dict[str, Any] = {
            "label": shown,
            "reportData": {
                key: [row or []] if row is not None else []
                for key, row in zip(keys, series, strict=True)
            },
            "metadata": {
                "metrics": _with_ranges(metrics, series) or [],
                "dimension": entry["dimension"],
            },
        }
        if logo:
            answer["logo"] = logo
        return answer
    return _multi(keys, found, labels, metrics, entry, module, action, params, metric_row)


def _unlabelled(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A period's first row, its label deleted (`hideColumns=label`); None without rows."""
    return {k: v for k, v in rows[0].items() if k != "label"} if rows else None


def _label_and_logo(
    rows: list[dict[str, Any] | None], module: str, action: str, params: Mapping[str, str]
) -> tuple[Any, Any]:
    """getSingleRowEvolution's URL label (False if none) and logo: read from each period's row
    until one has a URL or a label (PHP-true), the logo the last row read has."""
    url: Any = False
    logo = None
    for row in rows:
        if row is None:
            continue
        logo = row.get("logo")
        url = _row_url(row, module, action, params)
        if url or row.get("label") not in (None, "", "0", False):
            break
    return url, logo


def _tables(
    api: Api,
    report: Mapping[str, str],
    periods: Periods,
    access: Access,
    label: str | None = None,
) -> list[list[dict[str, Any]]]:
    """The report's rows of each period; with a label, only its row, found by the report call
    as RowEvolution asks it (`label[]`, URL-encoded)."""
    query = dict(report)
    if label is not None:
        query["label[0]"] = quote(label, safe="")
    try:
        value = api.call(query, access)
    except ApiFailure as failure:
        raise ApiFailure(f"API returned an error: {failure.message}\n") from None
    by_key = value if isinstance(value, dict) else {}
    out = []
    for p in periods.items:
        rows = by_key.get(p.key, [])
        out.append([r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else [])
    return out


def _display_label(api: Api, id_site: int, module: str, action: str, label: str) -> str:
    """RowEvolution::formatQueryLabelForDisplay: the label as asked, made readable."""
    if module == "Actions" and action in _ACTIONS_URL_REPORTS:
        host = re.sub(r"^[a-z]+://", "", api.world.site(id_site).main_url).split("/")[0]
        path = re.sub(r"\s*>\s*", "/", label)
        text = f"{host}/{path}/"
    else:
        text = label.replace(">", " - ")
    return text.replace("@", "")


def _multi(
    keys: list[str],
    found: list[list[dict[str, Any] | None]],
    labels: list[str],
    metrics: dict[str, str],
    entry: Mapping[str, Any],
    module: str,
    action: str,
    params: Mapping[str, str],
    metric_row: Any,
) -> dict[str, Any]:
    """Several labels: one `<column>_<n>` value per label and period (getMultiRowEvolution)."""
    column: Any = (params.get("column") or "").strip()
    if column not in metrics:  # the first metric; none left by hideColumns: PHP's false
        column = next(iter(metrics), False)
    pretty = [p for p in (params.get("labelPretty") or "").split(",") if p]
    names = []
    for index, label in enumerate(labels):
        shown: Any = False
        for row in found[index]:
            if row is not None:
                shown = _row_url(row, module, action, params)
                if "label_html" in row:
                    shown = row["label_html"]
                elif index < len(pretty):
                    shown = pretty[index]
                if shown:
                    break
            elif index < len(pretty):
                shown = pretty[index]
        if not shown:
            shown = label.replace(">", " - ")
        if params.get("legendAppendMetric") not in ("0", "false"):
            shown = f"{shown} ({metrics.get(column, '')})"
        names.append(shown)
    data: dict[str, Any] = {}
    series: list[dict[str, Any] | None] = []
    for at, key in enumerate(keys):
        values = {}
        for index in range(len(labels)):
            row = metric_row(found[index][at])
            value = _float(row.get(column)) if row and column is not False else 0.0
            values[f"{column or ''}_{index}"] = number_format(value)
        data[key] = [values] if labels else []
        series.append(values if labels else None)
    shown_metrics = {f"{column or ''}_{i}": name for i, name in enumerate(names)}
    return {
        "column": column,
        "reportData": data,
        "metadata": {
            "metrics": _with_ranges(shown_metrics, series) or [],
            "dimension": entry["dimension"],
            "columns": metrics or [],
        },
    }
