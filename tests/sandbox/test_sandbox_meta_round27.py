"""API.getReportMetadata with `showSubtableReports` and Referrers.getUrlsForSocial without
idSubtable, as Matomo 5 answers them (plugins/API/ProcessedReport.php getReportMetadata and
sortReports, core/Plugin/Report.php, plugins/Referrers/API.php getUrlsForSocial)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sandbox_support import api, client_for, load_case, recorded_json, recorded_sandbox

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}
_RECORDED_METADATA = {e["uniqueId"]: e for e in json.loads(load_case(146)[1])}
# where Matomo's sortReports puts them: report before -> subtable reports -> report after
_PLACES = [
    (
        "Events_getAction",
        [
            "Events_getActionFromCategoryId",
            "Events_getActionFromNameId",
            "Events_getCategoryFromActionId",
            "Events_getCategoryFromNameId",
            "Events_getNameFromActionId",
        ],
        "Events_getName",
    ),
    (
        "CustomDimensions_getCustomDimension_idDimension--2",  # Behaviour's last report
        ["Events_getNameFromCategoryId"],
        "Referrers_get",
    ),
    (
        "Referrers_get",
        [
            "Referrers_getSearchEnginesFromKeywordId",
            "Referrers_getUrlsFromWebsiteId",
            "Referrers_getKeywordsFromSearchEngineId",
            "Referrers_getKeywordsFromCampaignId",
            "Referrers_getUrlsForSocial",
        ],
        "Referrers_getReferrerType",
    ),
]


async def _metadata(**params: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = await recorded_json(
        method="API.getReportMetadata", idSite=1, filter_limit=-1, **params
    )
    return entries


@pytest.mark.anyio
async def test_report_metadata_lists_subtable_reports_in_matomos_order() -> None:
    """showSubtableReports=1 adds the 11 subtable reports (isSubtableReport) where sortReports
    puts them; every other entry is unchanged and keeps its place."""
    plain = await _metadata()
    shown = await _metadata(showSubtableReports=1)
    ids = [e["uniqueId"] for e in shown]
    for before, subtables, after in _PLACES:
        at = ids.index(before)
        assert ids[at : at + len(subtables) + 2] == [before, *subtables, after]
    subtable_ids = {s for _, subtables, _ in _PLACES for s in subtables}
    assert {e["uniqueId"] for e in shown if e.get("isSubtableReport")} == subtable_ids
    assert [e for e in shown if e["uniqueId"] not in subtable_ids] == plain


@pytest.mark.anyio
async def test_report_metadata_subtable_entries_are_filled_in() -> None:
    """The subtable entries' graph URLs are the request's, as the other entries' (site, dates),
    for the subtable method; their texts are Matomo's."""
    shown = {e["uniqueId"]: e for e in await _metadata(showSubtableReports=1)}
    socials, urls = shown["Referrers_getSocials"], shown["Referrers_getUrlsForSocial"]
    for key in ("imageGraphUrl", "imageGraphEvolutionUrl"):
        assert urls[key] == socials[key].replace(
            "&apiAction=getSocials&", "&apiAction=getUrlsForSocial&"
        )
        assert "{" not in urls[key]
        assert "&idSite=1&" in urls[key]
    assert (urls["category"], urls["name"], urls["dimension"]) == (
        "Acquisition",
        "Social Networks",
        "Website Page",
    )
    assert "subcategory" not in urls
    events = shown["Events_getActionFromCategoryId"]
    assert (events["category"], events["subcategory"]) == ("Behaviour", "Events")
    assert list(events["processedMetrics"]) == ["avg_event_value"]


@pytest.mark.anyio
async def test_get_name_from_category_id_skips_events_base() -> None:
    """GetNameFromCategoryId does not run Events' Base::init: category Events_Events, no
    subcategory, guide nor processed metrics; Report's default metrics."""
    defaults = _RECORDED_METADATA["UserLanguage_getLanguage"]
    entry = next(
        e
        for e in await _metadata(showSubtableReports=1)
        if e["uniqueId"] == "Events_getNameFromCategoryId"
    )
    assert list(entry)[:7] == [
        "category",
        "name",
        "module",
        "action",
        "dimension",
        "isSubtableReport",
        "metrics",
    ]
    assert (entry["category"], entry["name"], entry["dimension"]) == (
        "Events",
        "Event Names",
        "Event Name",
    )
    for key in ("subcategory", "onlineGuideUrl", "processedMetrics", "documentation"):
        assert key not in entry
    assert entry["metrics"] == defaults["metrics"]
    assert entry["metricTypes"] == {k: defaults["metricTypes"][k] for k in defaults["metrics"]}
    assert list(entry["metricsDocumentation"]) == list(defaults["metrics"])
    processed = await recorded_json(
        method="API.getProcessedReport",
        apiModule="Events",
        apiAction="getNameFromCategoryId",
        idSubtable=1,
        **_MONTH,
    )
    assert processed["metadata"]["category"] == "Events"
    assert "avg_event_value" not in processed["columns"]


@pytest.mark.anyio
@pytest.mark.parametrize(("flag", "listed"), [("0", 0), ("", 0), ("1", 11), ("false", 11)])
async def test_show_subtable_reports_flag_is_read_as_php_reads_it(flag: str, listed: int) -> None:
    """The flag has no type: PHP's truth, so "0" and "" hide them and "false" shows them."""
    entries = await _metadata(showSubtableReports=flag)
    assert sum(1 for e in entries if e.get("isSubtableReport")) == listed


async def _socials() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """getSocials' rows and the rows of each of their subtables (getUrlsForSocial&idSubtable)."""
    socials = await recorded_json(method="Referrers.getSocials", filter_limit=-1, **_MONTH)
    subtables = []
    for row in socials:
        subtables += await recorded_json(
            method="Referrers.getUrlsForSocial",
            idSubtable=row["idsubdatatable"],
            filter_limit=-1,
            **_MONTH,
        )
    return socials, subtables


@pytest.mark.anyio
async def test_urls_for_social_without_id_subtable_merges_every_network() -> None:
    """No idSubtable: every social network's URLs in one table (mergeSubtables), sorted by
    visits, filter_limit over the merged table; flat=1 and `idSubtable=` change nothing."""
    socials, subtables = await _socials()
    merged = await recorded_json(method="Referrers.getUrlsForSocial", filter_limit=-1, **_MONTH)
    assert len(socials) > 1
    assert sorted(json.dumps(r, sort_keys=True) for r in merged) == sorted(
        json.dumps(r, sort_keys=True) for r in subtables
    )
    assert sum(r["nb_visits"] for r in merged) == sum(r["nb_visits"] for r in socials)
    visits = [r["nb_visits"] for r in merged]
    assert visits == sorted(visits, reverse=True)
    top = await recorded_json(method="Referrers.getUrlsForSocial", filter_limit=2, **_MONTH)
    assert top == merged[:2]
    for extra in ({"flat": 1}, {"idSubtable": ""}):
        again = await recorded_json(
            method="Referrers.getUrlsForSocial", filter_limit=-1, **_MONTH, **extra
        )
        assert again == merged


@pytest.mark.anyio
async def test_urls_for_social_without_id_subtable_over_several_periods() -> None:
    """date=last7: each day's merged URLs, keyed by day."""
    days = await recorded_json(
        method="Referrers.getUrlsForSocial", idSite=1, period="day", date="last7"
    )
    socials = await recorded_json(
        method="Referrers.getSocials", idSite=1, period="day", date="last7"
    )
    assert list(days) == list(socials)
    for day, rows in days.items():
        assert sum(r["nb_visits"] for r in rows) == sum(r["nb_visits"] for r in socials[day])


@pytest.mark.anyio
async def test_processed_urls_for_social_without_id_subtable() -> None:
    """API.getProcessedReport follows: the merged rows, totals over them (no idSubtable, so
    ReportTotalsCalculator works on the table itself), graphs without idSubtable."""
    merged = await recorded_json(method="Referrers.getUrlsForSocial", filter_limit=-1, **_MONTH)
    processed = await recorded_json(
        method="API.getProcessedReport",
        apiModule="Referrers",
        apiAction="getUrlsForSocial",
        filter_limit=-1,
        **_MONTH,
    )
    assert [r["label"] for r in processed["reportData"]] == [r["label"] for r in merged]
    assert [m["url"] for m in processed["reportMetadata"]] == [r["url"] for r in merged]
    assert processed["reportTotal"]["nb_visits"] == sum(r["nb_visits"] for r in merged)
    assert processed["metadata"]["isSubtableReport"] is True
    assert "idSubtable" not in processed["metadata"]["imageGraphUrl"]


@pytest.mark.anyio
async def test_other_subtable_methods_still_need_id_subtable() -> None:
    """Only getUrlsForSocial's idSubtable is optional (Referrers' other subtable methods and
    Events' take it as a required parameter)."""
    async with client_for(recorded_sandbox()) as client:
        for method in ("Referrers.getUrlsFromWebsiteId", "Events.getNameFromCategoryId"):
            body = (await api(client, method=method, **_MONTH)).json()
            assert body == {
                "result": "error",
                "message": "Please specify a value for 'idSubtable'.",
            }


@pytest.mark.anyio
async def test_flat_does_not_change_a_page_url_subtable() -> None:
    """Actions.getPageUrls with idSubtable: flat=1 gives the same subtable rows as without
    (the getUrlsForSocial change to flattening left other methods' subtables as they were)."""
    rows = await recorded_json(method="Actions.getPageUrls", **_MONTH)
    id_subtable = next(r["idsubdatatable"] for r in rows if "idsubdatatable" in r)
    plain = await recorded_json(method="Actions.getPageUrls", idSubtable=id_subtable, **_MONTH)
    flat = await recorded_json(
        method="Actions.getPageUrls", idSubtable=id_subtable, flat=1, **_MONTH
    )
    assert plain
    assert flat == plain
