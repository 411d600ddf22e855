"""Matomo's subtable reports (`Report::$isSubtableReport`) for API.getProcessedReport.

`API.getReportMetadata` leaves them out (recorded 146: no `isSubtableReport` entry), but
ProcessedReport::getMetadata looks reports up with `showSubtableReports`, so
`apiAction=getKeywordsFromSearchEngineId&idSubtable=N` is found. Their entries follow
core/Plugin/Report.php's buildReportMetadata for the report classes of Matomo 5 (no 5.x recording
shows one): Referrers' subtable reports have their parent's name, their subtable dimension, no
subcategory, no goal metrics (so `conversion_rate` stays among the processed metrics) and
Report's default metrics; Events' have Report's default metrics, Events' category, subcategory
and guide, and `avg_event_value`. Every text is taken from a recorded entry. `first_level_method`
is ReportTotalsCalculator's findFirstLevelReport: the report whose `actionToLoadSubTables` the
method is, whose whole table gives the totals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["first_level_method", "subtable_entry"]

# Referrers subtable report -> the report whose rows' subtables it reads
_REFERRERS = {
    "getKeywordsFromSearchEngineId": "getSearchEngines",
    "getSearchEnginesFromKeywordId": "getKeywords",
    "getUrlsFromWebsiteId": "getWebsites",
    "getUrlsForSocial": "getSocials",
    "getKeywordsFromCampaignId": "getCampaigns",
}
# Events subtable report -> the Events report over the same dimension (its name and dimension)
_EVENTS = {
    "getActionFromCategoryId": "getAction",
    "getActionFromNameId": "getAction",
    "getCategoryFromActionId": "getCategory",
    "getCategoryFromNameId": "getCategory",
    "getNameFromActionId": "getName",
    "getNameFromCategoryId": "getName",
}
# GetNameFromActionId's name is a translation key Matomo's en.json lacks: shown as the key
_UNTRANSLATED_NAMES = {"getNameFromActionId": "Events_Names"}
# a report with exactly Report's default metrics and processed metrics, and no goal metrics
_DEFAULTS = "UserLanguage_getLanguage"
# Events reports' actionToLoadSubTables, by `secondaryDimension` (GetAction's eventCategory
# case names getCategoryFromNameId, as in Matomo), in ReportsProvider's order
_EVENT_SUBTABLES = (
    ("getAction", "eventCategory", "getCategoryFromNameId", "getNameFromActionId"),
    ("getCategory", "eventName", "getNameFromCategoryId", "getActionFromCategoryId"),
    ("getName", "eventCategory", "getCategoryFromNameId", "getActionFromNameId"),
)


def _graph_url(url: str, parent_action: str, action: str) -> str:
    return url.replace(f"&apiAction={parent_action}&", f"&apiAction={action}&")


def _keywords_documentation(parent: str) -> str:
    """GetSearchEnginesFromKeywordId's text: GetKeywords' without its note and with one
    `<br />` where GetKeywords puts two."""
    text = parent.rsplit("<br /><br />", 1)[0]
    return text.replace(" <br /><br /> ", " <br /> ", 1)


def subtable_entry(
    entries: list[dict[str, Any]], module: str, action: str
) -> dict[str, Any] | None:
    """The metadata entry of subtable report `module.action` (None for any other report),
    built from the site's `entries`, graph URLs still the templates' ones."""
    by_id = {e["uniqueId"]: e for e in entries}
    defaults = by_id.get(_DEFAULTS)
    if module == "Referrers" and action in _REFERRERS:
        like = by_id.get(f"Referrers_{_REFERRERS[action]}")
    elif module == "Events" and action in _EVENTS:
        like = by_id.get(f"Events_{_EVENTS[action]}")
    else:
        return None
    if like is None or defaults is None:
        return None
    entry: dict[str, Any] = {"category": like["category"]}
    if module == "Referrers":
        documentation = like["documentation"]
        if action == "getSearchEnginesFromKeywordId":
            documentation = _keywords_documentation(documentation)
        entry.update(
            name=like["name"],
            module=module,
            action=action,
            dimension=list(like["dimensions"].values())[-1],
            documentation=documentation,
            isSubtableReport=True,
        )
        for key in ("metrics", "metricsDocumentation", "processedMetrics", "metricTypes"):
            entry[key] = dict(defaults[key])
    else:
        entry.update(
            subcategory=like["subcategory"],
            name=_UNTRANSLATED_NAMES.get(action, like["name"]),
            module=module,
            action=action,
            dimension=like["dimension"],
            onlineGuideUrl=like["onlineGuideUrl"],
            isSubtableReport=True,
        )
        metrics, processed = defaults["metrics"], like["processedMetrics"]

        def described(key: str) -> dict[str, Any]:
            """Report::getMetricsDocumentation / getMetricSemanticTypes: the metrics', then
            the processed metrics'."""
            own = {k: v for k, v in defaults[key].items() if k in metrics}
            own.update((k, v) for k, v in like[key].items() if k in processed)
            return own

        entry["metrics"] = dict(metrics)
        entry["metricsDocumentation"] = described("metricsDocumentation")
        entry["processedMetrics"] = dict(processed)
        entry["metricTypes"] = described("metricTypes")
    for key in ("imageGraphUrl", "imageGraphEvolutionUrl"):
        entry[key] = _graph_url(like[key], like["action"], action)
    entry["uniqueId"] = f"{module}_{action}"
    return entry


def first_level_method(method: str, params: Mapping[str, str]) -> str | None:
    """The report whose whole table gives `method`'s totals: its parent for a subtable report
    (None when no report loads it as its subtables), else `method` itself."""
    module, _, action = method.partition(".")
    if module == "Referrers" and action in _REFERRERS:
        return f"Referrers.{_REFERRERS[action]}"
    if module != "Events" or action not in _EVENTS:
        return method
    secondary = (params.get("secondaryDimension") or "").strip()
    for report, switch, switched, default in _EVENT_SUBTABLES:
        if (switched if secondary == switch else default) == action:
            return f"Events.{report}"
    return None
