"""API.getProcessedReport: one report with its metadata, column names, row metadata and totals.

`processed_report(api, params, access)` answers as Matomo 5's plugins/API/ProcessedReport.php
does (recorded 148, 149, 180): it finds the report's `API.getReportMetadata` entry (`report_entry`,
graph URLs for the request's period and date), runs the report method itself through the
dispatcher with the request's parameters, and reshapes its rows. Each row keeps the columns
the metadata names (archived metrics, then processed ones), pretty-printed (`pretty.py`)
unless `format_metrics` says otherwise; row metadata (a flat row's dimension keys too) goes
to `reportMetadata`; `reportTotal`
adds up the first-level rows as Matomo's ReportTotalsCalculator does, before (so regardless
of) a `label` filter. Subtable reports, which
getReportMetadata leaves out, are found too (`subtable_report.py`). `row_evolution.py`
shares `report_entry`, `api_parameters`, `require` and `with_processed_metrics`.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .datatable import number_format, percent
from .dates import ApiFailure, Period, Periods, resolve
from .label_filter import without_labels
from .metadata import graph_dates, graph_url, hide_show, report_metadata
from .pretty import is_numeric, pretty_period, pretty_periods, pretty_value
from .subtable_report import first_level_method, subtable_entry

if TYPE_CHECKING:
    from .api import Access, Api

__all__ = [
    "METADATA_KEYS",
    "api_parameters",
    "processed_report",
    "report_entry",
    "require",
    "with_processed_metrics",
]

#: keys of the sandbox's rows that Matomo keeps as row metadata, not as columns
METADATA_KEYS = frozenset(
    {
        "segment",
        "referrer_type",
        "referer_type",
        "code",
        "logo",
        "logoWidth",
        "logoHeight",
        "url",
        "idvisitor",
        "city_name",
        "city",
        "region",
        "region_name",
        "country",
        "country_name",
        "lat",
        "long",
        "day_of_week",
        "idsite",
    }
)
# Matomo computes these (AddColumnsProcessedMetrics) after the archived columns, in this order
_DEFAULT_PROCESSED = ("nb_actions_per_visit", "avg_time_on_site", "bounce_rate", "conversion_rate")
_NOT_FOUND = (
    "Requested report {}.{} for Website id={} not found in the list of available reports. \n"
)
_GOAL_COLUMN = re.compile(r"^goal_[0-9]+_")
# a flat row's dimension keys (the Flattener's `<Plugin>_<Dimension>` row metadata)
_DIMENSION_KEY = re.compile(r"[A-Z][A-Za-z0-9]*_[A-Za-z0-9]+")
# what the underlying call must not narrow: columns are chosen from the metadata instead
_COLUMN_PARAMS = ("showColumns", "hideColumns", "columns")


# -- parameters ---------------------------------------------------------------------------
def require(params: Mapping[str, str], names: tuple[str, ...]) -> None:
    """Matomo's check of mandatory parameters, in the method's signature order."""
    for name in names:
        if (params.get(name) or "").strip() == "":
            raise ApiFailure(f"Please specify a value for '{name}'.", 400)


def api_parameters(params: Mapping[str, str]) -> dict[str, str]:
    """`apiParameters[name]=value` pairs, with `idGoal` and `idDimension` added when given."""
    found = {
        key[len("apiParameters[") : -1]: value
        for key, value in params.items()
        if key.startswith("apiParameters[") and key.endswith("]")
    }
    for name in ("idGoal", "idDimension"):
        value = (params.get(name) or "").strip()
        if value and value != "0" and not found.get(name):
            found[name] = value
    return found


# -- metadata -----------------------------------------------------------------------------
def report_entry(
    api: Api,
    id_site: int,
    params: Mapping[str, str],
    extra: Mapping[str, str],
    *,
    period: str | None = None,
) -> dict[str, Any] | None:
    """The getReportMetadata entry of `apiModule.apiAction` for the request (ProcessedReport's
    getMetadata): matched on `extra` parameters, graphs for the request's period and date,
    and no unique visitors nor users beyond a day (but for VisitsSummary.get)."""
    module, action = params["apiModule"].strip(), params["apiAction"].strip()
    period = period or params["period"].strip()
    date_text = params["date"].strip()
    entries = report_metadata(api.world.site(id_site), api.world.today)
    found = None
    for entry in entries:
        if entry["module"] != module or entry["action"] != action:
            continue
        wanted = {str(v) for v in (entry.get("parameters") or {}).values()}
        if not extra and not wanted:
            found = entry
            break
        if wanted and wanted <= {str(v) for v in extra.values()}:
            found = entry
            break
    if found is None and not extra:  # getMetadata(showSubtableReports=true)
        found = subtable_entry(entries, module, action)
    if found is None:
        return None
    entry = copy.deepcopy(found)
    single, evolution = graph_dates(period, date_text, api.world.site_today(id_site))
    if "imageGraphUrl" in entry:
        chosen = single if entry.get("dimension") else evolution
        entry["imageGraphUrl"] = graph_url(entry["imageGraphUrl"], chosen, params)
    if "imageGraphEvolutionUrl" in entry:
        entry["imageGraphEvolutionUrl"] = graph_url(
            entry["imageGraphEvolutionUrl"], evolution, params
        )
    for key in ("metrics", "processedMetrics", "metricsDocumentation", "metricTypes"):
        if key in entry:
            entry[key] = hide_show(entry[key], params)
    if params.get("hideMetricsDoc") not in (None, "", "0"):  # PHP: "false" is true
        entry.pop("metricsDocumentation", None)
    entry = {k: v for k, v in entry.items() if v or v == 0}
    if period != "day" and f"{module}.{action}" != "VisitsSummary.get":
        # unique visitors are not processed beyond a day (ProcessedReport::getMetadata)
        metrics = entry.get("metrics", {})
        metrics.pop("nb_uniq_visitors", None)
        metrics.pop("nb_users", None)
    return entry


# -- processed metrics --------------------------------------------------------------------
def _is_metadata(key: str, row: Mapping[str, Any]) -> bool:
    """Whether a row key is row metadata (Matomo's `reportMetadata`), not a column: a flat
    row's dimension keys too, but only in a row with a label (`Referrers.get`'s one row has
    metrics named so: `Referrers_distinctWebsitesUrls`)."""
    if key in METADATA_KEYS:
        return True
    return "label" in row and _DIMENSION_KEY.fullmatch(key) is not None


def _conversion_rate(part: float, whole: float) -> str:
    if not whole:
        return "0%"
    text = f"{round(part / whole * 100, 2):.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _computed(name: str, row: Mapping[str, Any], fractions: bool) -> Any:
    """One of Matomo's default processed metrics for a row with nb_visits, or None."""
    visits = row.get("nb_visits")
    if not isinstance(visits, (int, float)):
        return None
    if name == "nb_actions_per_visit" and "nb_actions" in row:
        return number_format(round(row["nb_actions"] / visits, 1)) if visits else 0
    if name == "avg_time_on_site" and "sum_visit_length" in row:
        return round(row["sum_visit_length"] / visits) if visits else 0
    if name == "bounce_rate" and "bounce_count" in row:
        if fractions:
            return number_format(round(row["bounce_count"] / visits, 2)) if visits else 0
        return percent(row["bounce_count"], visits)
    if name == "conversion_rate" and "nb_visits_converted" in row:
        if fractions:
            return number_format(round(row["nb_visits_converted"] / visits, 4)) if visits else 0
        return _conversion_rate(row["nb_visits_converted"], visits)
    return None


def _processed_order(entry: Mapping[str, Any]) -> list[str]:
    names = list(entry.get("processedMetrics") or {})
    return [n for n in _DEFAULT_PROCESSED if n in names] + [
        n for n in names if n not in _DEFAULT_PROCESSED
    ]


def with_processed_metrics(
    row: Mapping[str, Any], processed: list[str], fractions: bool
) -> dict[str, Any]:
    """A row's columns (no metadata, no subtable), its processed metrics last in Matomo's order;
    a default processed metric the row lacks is computed from its archived columns."""
    out = {
        k: v
        for k, v in row.items()
        if not k.startswith("_")
        and not _is_metadata(k, row)
        and k not in ("idsubdatatable", "subtable")
        and k not in processed
    }
    for name in processed:
        value = row[name] if name in row else _computed(name, row, fractions)
        if value is not None:
            out[name] = value
    return out


# -- totals -------------------------------------------------------------------------------
def _number(value: Any) -> Any:
    if isinstance(value, str) and is_numeric(value):
        number = float(value)
        return int(number) if number == int(number) else number
    return value


def _sum_into(total: dict[str, Any], row: Mapping[str, Any]) -> None:
    """Row::sumRow: add `row`'s columns into `total` (max_/min_ columns keep the extreme)."""
    for key, raw in row.items():
        value = _number(raw)
        if total.get(key) is None:  # an empty (null) value takes the other row's
            total[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(total[key], dict):
            _sum_into(total[key], value)
        elif isinstance(value, (int, float)) and isinstance(total[key], (int, float)):
            if key.startswith("max_"):
                total[key] = max(total[key], value)
            elif key.startswith("min_"):
                total[key] = min(total[key], value)
            else:
                total[key] += value


def _add_totals(totals: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """ProcessedReport::calculateTotals: no averages, rates nor evolutions; summed by period."""
    for metric, value in values.items():
        if metric.startswith("avg_") or metric.endswith(("_rate", "_evolution")):
            continue
        value = _number(value)
        if isinstance(value, dict):
            merged = _add_totals(totals.get(metric, {}), value)
            if merged:
                totals[metric] = merged
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if metric not in totals:
            totals[metric] = value
        elif metric.startswith("min_"):
            totals[metric] = min(totals[metric], value)
        elif metric.startswith("max_"):
            totals[metric] = max(totals[metric], value)
        elif value:
            totals[metric] += value
    return totals


def _table_total(
    rows: list[dict[str, Any]], entry: Mapping[str, Any], subtable: bool
) -> dict[str, Any]:
    """ReportTotalsCalculator: the sum of the first-level rows, then the report's processed
    metrics (its metric classes, or the default four through AddColumnsProcessedMetrics) that
    the sum lacks, computed from it. The rows are the archived ones, without processed metrics;
    for a request with `idSubtable` they come from an API call, which computed theirs (raw), so
    those are summed too."""
    processed = list(entry.get("processedMetrics") or {})
    if "conversion_rate" not in processed:
        processed.append("conversion_rate")  # dropped from goal reports' metadata only
    total: dict[str, Any] = {}
    for row in rows:
        if subtable:
            _sum_into(total, with_processed_metrics(row, processed, True))
            continue
        archived = with_processed_metrics(row, [], False)
        _sum_into(total, {k: v for k, v in archived.items() if k not in processed})
    total.pop("label", None)  # the totals row's label is left out, even a numeric one ("00")
    return with_processed_metrics(total, processed, False) if rows else total


def _column_deletion(params: Mapping[str, str]) -> Callable[[str], bool]:
    """Whether the report call, which inherits `hideColumns` / `showColumns` ("" and "0" not
    given), deletes a column (ColumnDelete, after the processed metrics are computed): the rows
    lack it, even with `showRawMetrics`, unless the metadata names it (then it is added as 0)."""
    lists = [(params.get(n) or "") for n in ("hideColumns", "showColumns")]
    hidden, kept = [[] if v in ("", "0") else v.split(",") for v in lists]

    def deleted(name: str) -> bool:
        if name in hidden:
            return True
        return bool(kept) and not (
            name == "label" or name in kept or any(name.startswith(k + "__") for k in kept)
        )

    return deleted


def _ucfirst(name: str) -> str:
    return name[0].upper() + name[1:] if name[:1].isascii() else name


# -- the method ---------------------------------------------------------------------------
def _by_period(value: Any, periods: Periods) -> list[tuple[Period, Any]]:
    if not periods.multi:
        return [(periods.items[0], value)]
    return [(p, value.get(p.key, [])) for p in periods.items]


def _site_has_users(api: Api, id_site: int, period: str, date_text: str) -> bool:
    """UserId::isUsedInAtLeastOneSite: users in the month (day, week) or the days (range)."""
    wide = {"day": "month", "week": "month", "range": "day"}.get(period, period)
    if wide == "year":
        return False  # VisitsSummary.get has no nb_users for a year
    periods = resolve(wide, date_text, api.world.site_today(id_site))
    return any(api._facts(id_site, p, {}).users for p in periods.items)


def _underlying(api: Api, query: Mapping[str, str], access: Access) -> Any:
    """The report method's answer; its error wrapped as ProcessedReport wraps it (Matomo adds
    ` at <File>.php:<line>` of its own source, which the sandbox cannot know, before the `\\n`)."""
    try:
        return api.call(query, access)
    except ApiFailure as failure:
        raise ApiFailure(f"API returned an error: {failure.message}\n") from None


def processed_report(api: Api, params: Mapping[str, str], access: Access) -> dict[str, Any]:
    """API.getProcessedReport for one site: the report, its metadata, columns and totals."""
    started = time.perf_counter()
    require(params, ("idSite", "period", "date", "apiModule", "apiAction"))
    id_site = api._site_ids_param(params, access)[0][0]
    periods = api._periods(params, [id_site])
    site = api.world.site(id_site)
    extra = api_parameters(params)
    entry = report_entry(api, id_site, params, extra)
    module, action = params["apiModule"].strip(), params["apiAction"].strip()
    if entry is None:
        raise ApiFailure(_NOT_FOUND.format(module, action, id_site))
    method = f"{module}.{action}"
    dimension = "dimension" in entry

    columns: dict[str, str] = {"label": entry["dimension"]} if dimension else {}
    columns.update(entry.get("metrics") or {})
    columns.update(entry.get("processedMetrics") or {})
    if "revenue" in (entry.get("metricsGoal") or {}):
        columns["revenue"] = entry["metricsGoal"]["revenue"]
    columns = hide_show(columns, params)

    query = {k: v for k, v in params.items() if k not in _COLUMN_PARAMS}
    query.update(extra, method=method, idSite=str(id_site))
    value = _underlying(api, query, access)
    tables = _by_period(value, periods)
    all_rows: list[tuple[Period, Any]] = []
    if dimension:
        parent = first_level_method(method, params)  # totals: the first-level report's
        if parent is not None:
            # the totals are the whole table's, summed before LabelFilter narrows it (whose
            # empty clone keeps them); with idSubtable, the first-level call's own label applies
            whole = query if params.get("idSubtable") is not None else without_labels(query)
            first_level = {k: v for k, v in whole.items() if k not in ("idSubtable", "flat")}
            first_level.update(filter_limit="-1", filter_offset="0", filter_pattern="")
            first_level["method"] = parent
            all_rows = _by_period(_underlying(api, first_level, access), periods)
    elif not periods.multi and api._facts(id_site, periods.items[0], params).nb_visits == 0:
        tables = [(periods.items[0], [])]  # no archive: an empty table, not zeros (180)

    fmt = (params.get("format_metrics") or "").strip()
    pretty = fmt in ("", "bc")
    raw_metrics = params.get("showRawMetrics") not in (None, "", "0", "false")
    processed = _processed_order(entry)
    deleted = _column_deletion(params)
    report_data: dict[str, Any] = {}
    rows_metadata: dict[str, Any] = {}
    for p, table in tables:
        rows = table if isinstance(table, list) else [table]
        out, meta = [], []
        for row in rows:
            if not isinstance(row, dict):
                continue
            metrics = with_processed_metrics(row, processed, fmt == "0")
            for name in columns:
                metrics.setdefault(name, 0)
            shown: dict[str, Any] = {}
            for name, v in metrics.items():
                if name not in columns and deleted(name):
                    continue  # the report call's ColumnDelete removed it
                if name in columns or _GOAL_COLUMN.match(name):
                    shown[name] = pretty_value(site, name, v) if pretty else v
                elif raw_metrics:
                    shown[name] = 0 if v is None else v
            out.append(shown)
            row_meta = {k: v for k, v in row.items() if _is_metadata(k, row)}
            if "idsubdatatable" in row:
                row_meta["idsubdatatable"] = row["idsubdatatable"]
            meta.append(row_meta)
        key = pretty_period(p)
        if dimension:  # a row or map left without columns is PHP's empty array, `[]`
            report_data[key] = [r or [] for r in out]
            has_meta = any(meta)
            rows_metadata[key] = [m or [] for m in meta] if has_meta else []
        else:
            report_data[key] = (out[0] or []) if out else []
            rows_metadata[key] = []

    if method == "VisitsSummary.get":
        has_users = any(
            isinstance(t, dict) and t.get("nb_users") for t in report_data.values()
        ) or _site_has_users(api, id_site, params["period"].strip(), params["date"].strip())
        if not has_users:  # VisitsSummary::enrichProcessedReportIfVisitsSummaryGet
            for block in (entry.get("metrics"), entry.get("metricsDocumentation"), columns):
                if block:
                    block.pop("nb_users", None)
            for t in report_data.values():
                if isinstance(t, dict):
                    t.pop("nb_users", None)

    totals: dict[str, Any] = {}
    if dimension:
        for _, table in all_rows:
            if isinstance(table, list) and table:
                subtable = params.get("idSubtable") is not None
                period_total = hide_show(_table_total(table, entry, subtable), params)
                totals = _add_totals(totals, period_total)

    answer: dict[str, Any] = {
        "website": site.name,
        "prettyDate": pretty_periods(periods),
        "metadata": entry,
        "columns": {k: _ucfirst(v) for k, v in columns.items()} or [],
        "reportData": report_data if periods.multi else next(iter(report_data.values())),
        "reportMetadata": rows_metadata if periods.multi else next(iter(rows_metadata.values())),
        "reportTotal": totals or [],
    }
    if params.get("showTimer") not in ("0", "false"):
        answer["timerMillis"] = str(int((time.perf_counter() - started) * 1000))
    return answer
