"""Matomo's subtable reports (`Report::$isSubtableReport`) for API.getProcessedReport.

`API.getReportMetadata` leaves them out (recorded 146: no `isSubtableReport` entry) unless
asked with `showSubtableReports` (`with_subtable_reports`, in Matomo's order), and
ProcessedReport::getMetadata looks reports up with that flag, so
`apiAction=getKeywordsFromSearchEngineId&idSubtable=N` is found. Their entries follow
core/Plugin/Report.php's buildReportMetadata for the report classes of Matomo 5 (no 5.x recording
shows one): Referrers' subtable reports have their parent's name, their subtable dimension, no
subcategory, no goal metrics (so `conversion_rate` stays among the processed metrics) and
Report's default metrics; Events' have Report's default metrics, Events' category, subcategory
and guide, and `avg_event_value` (but GetNameFromCategoryId, a Matomo quirk). Every text is
taken from a recorded entry. `first_level_method` is ReportTotalsCalculator's
findFirstLevelReport: the report whose `actionToLoadSubTables` the method is, whose whole table
gives the totals of a request with idSubtable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["first_level_method", "subtable_entry", "with_subtable_reports"]

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
# GetNameFromCategoryId's init() skips Events' Base::init (a Matomo quirk): its category is
# Events_Events, and it has no subcategory, guide nor processed metrics
_WITHOUT_BASE = "getNameFromCategoryId"
# a report with exactly Report's default metrics and processed metrics, and no goal metrics
_DEFAULTS = "UserLanguage_getLanguage"
# Events reports' actionToLoadSubTables, by `secondaryDimension` (GetAction's eventCategory
# case names getCategoryFromNameId, as in Matomo), in ReportsProvider's order
_EVENT_SUBTABLES = (
    ("getAction", "eventCategory", "getCategoryFromNameId", "getNameFromActionId"),
    ("getCategory", "eventName", "getNameFromCategoryId", "getActionFromCategoryId"),
    ("getName", "eventCategory", "getCategoryFromNameId", "getActionFromNameId"),
)

# Matomo's sortReports: in a category, the reports without subcategory first, then by `order`,
# ties in `Module.action` order. The subtable reports go after the report named first: those of
# Referrers (no subcategory; orders 4, 6, 8, 10, 12) after its overview (order 1); those of Events'
# subcategory (order 1, as GetAction's) after GetAction
_PLACES = (
    (
        "Referrers_get",
        "Referrers",
        (
            "getSearchEnginesFromKeywordId",
            "getUrlsFromWebsiteId",
            "getKeywordsFromSearchEngineId",
            "getKeywordsFromCampaignId",
            "getUrlsForSocial",
        ),
    ),
    (
        "Events_getAction",
        "Events",
        (
            "getActionFromCategoryId",
            "getActionFromNameId",
            "getCategoryFromActionId",
            "getCategoryFromNameId",
            "getNameFromActionId",
        ),
    ),
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
    if action == _WITHOUT_BASE:  # category Events_Events ("Events", Events' subcategory)
        entry["category"] = like["subcategory"]
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
        base = action != _WITHOUT_BASE
        if base:
            entry["subcategory"] = like["subcategory"]
        entry.update(
            name=_UNTRANSLATED_NAMES.get(action, like["name"]),
            module=module,
            action=action,
            dimension=like["dimension"],
        )
        if base:
            entry["onlineGuideUrl"] = like["onlineGuideUrl"]
        entry["isSubtableReport"] = True
        metrics, processed = defaults["metrics"], like["processedMetrics"] if base else {}

        def described(key: str) -> dict[str, Any]:
            """Report::getMetricsDocumentation / getMetricSemanticTypes: the metrics', then
            the processed metrics'."""
            own = {k: v for k, v in defaults[key].items() if k in metrics}
            own.update((k, v) for k, v in like[key].items() if k in processed)
            return own

        entry["metrics"] = dict(metrics)
        entry["metricsDocumentation"] = described("metricsDocumentation")
        if processed:
            entry["processedMetrics"] = dict(processed)
        entry["metricTypes"] = described("metricTypes")
    for key in ("imageGraphUrl", "imageGraphEvolutionUrl"):
        entry[key] = _graph_url(like[key], like["action"], action)
    entry["uniqueId"] = f"{module}_{action}"
    return entry


def with_subtable_reports(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """getReportMetadata's `entries` with the subtable reports too (`showSubtableReports`), where
    Matomo's sortReports puts them."""
    out = list(entries)
    for after, module, actions in _PLACES:
        found = [subtable_entry(entries, module, action) for action in actions]
        at = next((i + 1 for i, e in enumerate(out) if e["uniqueId"] == after), len(out))
        out[at:at] = [e for e in found if e is not None]
    lone = subtable_entry(entries, "Events", _WITHOUT_BASE)
    if lone is not None:  # category Events (order 12): after Behaviour's (10) last report
        behaviour = next(e["category"] for e in entries if e["uniqueId"] == "Events_getName")
        at = max((i + 1 for i, e in enumerate(out) if e["category"] == behaviour), default=len(out))
        out.insert(at, lone)
    return out


def first_level_method(method: str, params: Mapping[str, str]) -> str | None:
    """The report whose whole table gives `method`'s totals: its parent for a subtable report
    asked with an idSubtable (None when no report loads it as its subtables), else `method`
    itself (ReportTotalsCalculator's makeSureToWorkOnFirstLevelDataTable)."""
    if params.get("idSubtable") is None:  # Referrers.getUrlsForSocial's merged URLs
        return method
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
