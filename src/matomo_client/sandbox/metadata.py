"""`API.getReportMetadata` for the reports the sandbox implements.

The entries are the recorded Matomo 5.11.2 metadata of those reports
(`report_metadata.json`), with the site id and the graph date range filled in per request.
As in Matomo, the ecommerce reports are listed for ecommerce sites only, and each goal of
the site gets its own `Goals.get` and `Goals.getDaysToConversion` entries (the `{idGoal}`
entries), goal by goal; the `CustomDimensions.getCustomDimension` entries (one per configured
dimension, as recorded for site 1) are listed for the sites that have custom dimensions.
`requested_metadata` applies what Matomo reads from the request (plugins/API/ProcessedReport.php
and ImageGraph.php): `hideMetricsDoc`, `showColumns`/`hideColumns` on the metric lists, and the
graph URLs' period, date, idSubtable and segment (the query string's only, `http_query`);
`graph_dates`, `graph_url` and `hide_show` serve API.getProcessedReport's entry too.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from itertools import groupby
from typing import Any
from urllib.parse import quote, unquote_plus

from .catalog import SiteInfo
from .dates import resolve

__all__ = [
    "graph_dates",
    "graph_url",
    "hide_show",
    "http_query",
    "report_metadata",
    "requested_metadata",
]

_PER_GOAL = "_idGoal--{idGoal}"
_CUSTOM_DIMENSION = "CustomDimensions_getCustomDimension_"
_ECOMMERCE = frozenset(
    {
        "Goals_get_idGoal--ecommerceOrder",
        "Goals_getDaysToConversion_idGoal--ecommerceOrder",
        "Goals_get_idGoal--ecommerceAbandonedCart",
        "Goals_getDaysToConversion_idGoal--ecommerceAbandonedCart",
        "Goals_getItemsName",
        "Goals_getItemsSku",
        "Goals_getItemsCategory",
    }
)
_LAST_N = re.compile(r"^(last|previous)\d*$")
# the entry's lists that showColumns / hideColumns narrow (not the goal ones)
_METRIC_LISTS = ("metrics", "processedMetrics", "metricsDocumentation", "metricTypes")
# the query string of the HTTP request being answered (`http_query`)
_QUERY: ContextVar[bytes | None] = ContextVar("query_string", default=None)


@lru_cache(maxsize=1)
def _template() -> str:
    return resources.files(__package__).joinpath("report_metadata.json").read_text("utf-8")


def report_metadata(site: SiteInfo, today: date) -> list[dict[str, Any]]:
    """The metadata list for one site, graph URLs pointing at the last 30 days."""
    date_range = f"{(today - timedelta(days=29)).isoformat()},{today.isoformat()}"
    text = _template().replace("{idSite}", str(site.id)).replace("{dateRange}", date_range)
    rows: list[dict[str, Any]] = []
    for per_goal, group in groupby(json.loads(text), lambda r: r["uniqueId"].endswith(_PER_GOAL)):
        templates = list(group)
        if per_goal:  # recorded 146: goal 1's reports, then goal 2's ...
            rows.extend(_goal_entry(t, i, name) for i, name, _ in site.goals for t in templates)
        else:
            rows.extend(r for r in templates if _listed(r["uniqueId"], site))
    return rows


def _listed(unique_id: str, site: SiteInfo) -> bool:
    """Whether a template entry that is not a goal's is listed for `site`."""
    if unique_id.startswith(_CUSTOM_DIMENSION):
        return site.custom_dimensions
    return unique_id not in _ECOMMERCE or site.ecommerce


def _goal_entry(template: dict[str, Any], id_goal: int, name: str) -> dict[str, Any]:
    """A per-goal template's entry for one goal (`Goal <name>`, `<name> - Days to Conversion`)."""
    text = json.dumps(template, ensure_ascii=False)
    text = text.replace("{idGoal}", str(id_goal)).replace("{goalName}", json.dumps(name)[1:-1])
    row: dict[str, Any] = json.loads(text)
    row["parameters"] = {"idGoal": id_goal}
    return row


# -- request parameters -------------------------------------------------------------------
def _php_empty(value: str | None) -> bool:
    return value is None or value in ("", "0")


def _columns_param(params: Mapping[str, str], name: str) -> list[str] | None:
    raw = params.get(name) or ""
    return raw.split(",") if raw != "" else None


def hide_show(
    values: dict[str, Any], params: Mapping[str, str], empty: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`hideColumns` / `showColumns` (plus `label`) applied to a dict keyed by column."""
    hidden = _columns_param(params, "hideColumns") or []
    shown = _columns_param(params, "showColumns")
    return {
        k: v
        for k, v in values.items()
        if k not in hidden and (shown is None or k in shown or k == "label") and k not in empty
    }


def _is_multiple(period: str, date_text: str) -> bool:
    text = date_text.strip()
    return period != "range" and (bool(_LAST_N.match(text)) or "," in text)


def graph_dates(
    period: str, date_text: str, today: date
) -> tuple[tuple[str, str], tuple[str, str]]:
    """(period, date) of the one-period graph and of the evolution graph (ImageGraph.php), the
    last 30 periods counted back from `date_text` read at the site's `today`."""
    if _is_multiple(period, date_text):
        return ("range", date_text), (period, date_text)
    if period == "range":
        return (period, date_text), ("day", date_text)
    anchor = resolve(period, date_text, today).items[0].start
    last = resolve(period, "last30", anchor).items
    return (period, date_text), (period, f"{last[0].start},{last[-1].end}")


@contextmanager
def http_query(raw: bytes) -> Iterator[None]:
    """While one HTTP request is answered: its query string as sent, where graph URLs find
    their segment (`app.py` sets it around `Api.call`)."""
    token = _QUERY.set(raw)
    try:
        yield
    finally:
        _QUERY.reset(token)


def _graph_segment(params: Mapping[str, str]) -> str | None:
    """Request::getRawSegmentFromRequest: the `segment` of the HTTP query string, as sent (not
    decoded, HTML-escaped as Matomo sanitizes it), none if only the POST body has one. Without
    an HTTP request (a direct `Api.call`) the parameters count as the query string."""
    raw = _QUERY.get()
    if raw is None:
        segment = params.get("segment")
        return None if _php_empty(segment) else quote(str(segment), safe="")
    found: bytes | None = None
    for part in raw.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"segment":
            found = value
    if found is None or _php_empty(unquote_plus(found.decode("latin-1"))):
        return None
    try:
        text = found.decode("utf-8")
    except UnicodeDecodeError:  # htmlspecialchars refuses it; Matomo utf8_encodes it
        text = found.decode("latin-1")
    return html.escape(html.unescape(text)).replace("&#x27;", "&#039;")


def graph_url(url: str, period_date: tuple[str, str], params: Mapping[str, str]) -> str:
    """A graph URL for another period and date, with the request's idSubtable and segment."""
    base = url.split("&period=", 1)[0]
    url = f"{base}&period={period_date[0]}&date={period_date[1]}"
    if params.get("idSubtable") not in (None, ""):  # Common::getRequestVar: "" is unset
        url += f"&idSubtable={params['idSubtable']}"
    segment = _graph_segment(params)
    if segment is not None:
        url += f"&segment={segment}"
    return url


def requested_metadata(
    entries: list[dict[str, Any]], params: Mapping[str, str], today: date
) -> list[dict[str, Any]]:
    """API.getReportMetadata's entries for the request's `hideMetricsDoc`, `showColumns`,
    `hideColumns` (emptied lists dropped) and, in the graph URLs, `period` and `date` (day and
    today by default), `idSubtable` and `segment`; a request without them keeps them as built."""
    hide_doc = not _php_empty(params.get("hideMetricsDoc"))
    columns = any(params.get(name) for name in ("showColumns", "hideColumns"))
    period = params.get("period")
    date_text = params.get("date")
    graphs = not (_php_empty(period) and _php_empty(date_text))
    graphs = graphs or params.get("idSubtable") not in (None, "")
    graphs = graphs or _graph_segment(params) is not None
    if not (hide_doc or columns or graphs):
        return entries
    single, evolution = graph_dates(
        "day" if _php_empty(period) else str(period),
        "today" if _php_empty(date_text) else str(date_text),
        today,
    )
    for entry in entries:
        if hide_doc:
            entry.pop("metricsDocumentation", None)
        for key in _METRIC_LISTS if columns else ():
            if key in entry:
                entry[key] = hide_show(entry[key], params)
                if not entry[key]:  # Matomo drops the attributes left empty
                    del entry[key]
        if graphs and "imageGraphUrl" in entry:
            chosen = single if entry.get("dimension") else evolution
            entry["imageGraphUrl"] = graph_url(entry["imageGraphUrl"], chosen, params)
        if graphs and "imageGraphEvolutionUrl" in entry:
            url = entry["imageGraphEvolutionUrl"]
            entry["imageGraphEvolutionUrl"] = graph_url(url, evolution, params)
    return entries
