"""API.getProcessedReport of subtable reports (Referrers.getKeywordsFromSearchEngineId and the
other reports with Report::$isSubtableReport): found as Matomo's ProcessedReport finds them
(getMetadata with showSubtableReports), rows those of the plain method, metadata as Matomo's
Report::buildReportMetadata makes it, totals over the first-level report, Matomo's errors; and
still absent from API.getReportMetadata (recorded 146)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sandbox_support import api, client_for, load_case, recorded_json, recorded_sandbox

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}
# subtable report -> the report whose rows carry its idSubtable values
_SUBTABLE_REPORTS = [
    ("Referrers", "getKeywordsFromSearchEngineId", "getSearchEngines"),
    ("Referrers", "getSearchEnginesFromKeywordId", "getKeywords"),
    ("Referrers", "getUrlsFromWebsiteId", "getWebsites"),
    ("Referrers", "getUrlsForSocial", "getSocials"),
    ("Referrers", "getKeywordsFromCampaignId", "getCampaigns"),
    ("Events", "getActionFromCategoryId", "getCategory"),
    ("Events", "getNameFromActionId", "getAction"),
    ("Events", "getActionFromNameId", "getName"),
]
_RECORDED_METADATA = {e["uniqueId"]: e for e in json.loads(load_case(146)[1])}


async def _processed(module: str, action: str, **params: Any) -> dict[str, Any]:
    value: dict[str, Any] = await recorded_json(
        method="API.getProcessedReport", apiModule=module, apiAction=action, **params
    )
    return value


async def _error(**params: Any) -> str:
    async with client_for(recorded_sandbox()) as client:
        body = (await api(client, method="API.getProcessedReport", **params)).json()
    assert body["result"] == "error", body
    message: str = body["message"]
    return message


async def _first_subtable_id(module: str, parent: str) -> int:
    rows = await recorded_json(method=f"{module}.{parent}", filter_limit=-1, **_MONTH)
    ids = [r["idsubdatatable"] for r in rows if "idsubdatatable" in r]
    assert ids, f"{module}.{parent} has no subtables"
    return int(ids[0])


@pytest.mark.anyio
@pytest.mark.parametrize(("module", "action", "parent"), _SUBTABLE_REPORTS)
async def test_subtable_processed_rows_are_the_plain_method_rows(
    module: str, action: str, parent: str
) -> None:
    """A subtable report is found; its reportData has the plain method's rows (labels, order,
    visits) and reportMetadata their metadata; its metadata says isSubtableReport."""
    id_subtable = await _first_subtable_id(module, parent)
    plain = await recorded_json(method=f"{module}.{action}", idSubtable=id_subtable, **_MONTH)
    processed = await _processed(module, action, idSubtable=id_subtable, **_MONTH)
    assert plain, "the subtable is empty: pick another"
    assert [r["label"] for r in processed["reportData"]] == [r["label"] for r in plain]
    assert [r["nb_visits"] for r in processed["reportData"]] == [r["nb_visits"] for r in plain]
    for meta, row in zip(processed["reportMetadata"], plain, strict=True):
        for key in ("segment", "url"):
            assert (meta or {}).get(key) == row.get(key)
    assert processed["metadata"]["isSubtableReport"] is True
    assert processed["metadata"]["uniqueId"] == f"{module}_{action}"
    assert processed["columns"]["label"] == processed["metadata"]["dimension"]


@pytest.mark.anyio
async def test_subtable_processed_metadata_is_matomos() -> None:
    """getKeywordsFromSearchEngineId's metadata: GetSearchEngines' name and text, the Keyword
    dimension, no subcategory nor goal metrics, Report's default metrics with conversion_rate
    among the processed ones, graphs of the subtable report with its idSubtable."""
    search_engines = _RECORDED_METADATA["Referrers_getSearchEngines"]
    defaults = _RECORDED_METADATA["UserLanguage_getLanguage"]
    metadata = (
        await _processed(
            "Referrers",
            "getKeywordsFromSearchEngineId",
            idSite=1,
            period="day",
            date="2026-10-05",
            idSubtable=3,
        )
    )["metadata"]
    graph = "index.php?module=API&method=ImageGraph.get&idSite=1&apiModule=Referrers"
    graph += "&apiAction=getKeywordsFromSearchEngineId&period=day&date="
    assert metadata == {
        "category": "Acquisition",
        "name": search_engines["name"],
        "module": "Referrers",
        "action": "getKeywordsFromSearchEngineId",
        "dimension": "Keyword",
        "documentation": search_engines["documentation"],
        "isSubtableReport": True,
        "metrics": defaults["metrics"],
        "metricsDocumentation": defaults["metricsDocumentation"],
        "processedMetrics": defaults["processedMetrics"],
        "metricTypes": defaults["metricTypes"],
        "imageGraphUrl": graph + "2026-10-05&idSubtable=3",
        "imageGraphEvolutionUrl": graph + "2026-09-06,2026-10-05&idSubtable=3",
        "uniqueId": "Referrers_getKeywordsFromSearchEngineId",
    }


@pytest.mark.anyio
async def test_subtable_processed_metadata_texts() -> None:
    """GetSearchEnginesFromKeywordId's text is the keywords text with one `<br />` and no
    note; Events subtables have Events' category and guide, Report's default metrics and
    avg_event_value, and GetNameFromActionId's untranslated name."""
    keywords = (
        await _processed("Referrers", "getSearchEnginesFromKeywordId", idSubtable=1, **_MONTH)
    )["metadata"]
    assert keywords["name"] == "Keywords"
    assert keywords["dimension"] == "Search Engine"
    assert keywords["documentation"] == (
        "This report shows which keywords users were searching for before they were referred "
        "to your website. <br /> By clicking on a row in the table, you can see the "
        "distribution of search engines that were queried for the keyword."
    )
    events = (await _processed("Events", "getNameFromActionId", idSubtable=1, **_MONTH))["metadata"]
    assert [events[k] for k in ("category", "subcategory", "name", "dimension")] == [
        "Behaviour",
        "Events",
        "Events_Names",
        "Event Name",
    ]
    assert events["onlineGuideUrl"] == "https://matomo.org/docs/event-tracking/"
    assert events["metrics"] == {"nb_visits": "Visits", "nb_actions": "Actions"}  # a month
    assert list(events["processedMetrics"]) == ["avg_event_value"]
    assert "documentation" not in events
    assert "metricsGoal" not in events


@pytest.mark.anyio
async def test_subtable_processed_totals_are_the_first_level_reports() -> None:
    """reportTotal adds up the first-level report's rows (ReportTotalsCalculator works on the
    parent's whole table), even for an unknown idSubtable; a subtable no report loads (Events'
    getCategoryFromActionId) has none."""
    parent = await recorded_json(method="Referrers.getWebsites", filter_limit=-1, **_MONTH)
    for id_subtable in (await _first_subtable_id("Referrers", "getWebsites"), 99999):
        processed = await _processed(
            "Referrers", "getUrlsFromWebsiteId", idSubtable=id_subtable, **_MONTH
        )
        assert processed["reportTotal"]["nb_visits"] == sum(r["nb_visits"] for r in parent)
    empty = await _processed("Referrers", "getUrlsFromWebsiteId", idSubtable=99999, **_MONTH)
    assert (empty["reportData"], empty["reportMetadata"]) == ([], [])
    lone = await _processed("Events", "getCategoryFromActionId", idSubtable=1, **_MONTH)
    assert lone["reportTotal"] == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "API returned an error: Please specify a value for 'idSubtable'. "),
        (
            {"idSubtable": "abc"},
            "API returned an error: idSubtable needs to be a number or 'all', 'abc' given. ",
        ),
        (
            {"idSubtable": 1, "idGoal": 1},
            "Requested report Referrers.getKeywordsFromSearchEngineId for Website id=1 not "
            "found in the list of available reports.  ",
        ),
    ],
)
async def test_subtable_processed_errors(extra: dict[str, Any], message: str) -> None:
    """No or a bad idSubtable: the method's own error, wrapped as ProcessedReport wraps it;
    a goal id: not found (subtable reports take no parameters)."""
    params = {"apiModule": "Referrers", "apiAction": "getKeywordsFromSearchEngineId"}
    assert await _error(**_MONTH, **params, **extra) == message


@pytest.mark.anyio
async def test_subtable_reports_stay_out_of_report_metadata() -> None:
    """API.getReportMetadata lists no subtable report, as recorded (146)."""
    entries = await recorded_json(method="API.getReportMetadata", idSite=1)
    assert not any(e.get("isSubtableReport") for e in entries)
    assert not any(e.get("isSubtableReport") for e in _RECORDED_METADATA.values())
    assert "Referrers_getKeywordsFromSearchEngineId" not in {e["uniqueId"] for e in entries}
