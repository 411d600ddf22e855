"""Referrers' social URL rows and API.getReportMetadata's request parameters, as Matomo 5 builds
them (plugins/Referrers/API.php getSocials / getUrlsForSocial and the UrlsForSocial filter,
core/API/DataTableManipulator/Flattener.php, plugins/API/ProcessedReport.php getReportMetadata,
plugins/ImageGraph/ImageGraph.php; graph URLs as recorded in 148 and 149)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote_plus

import pytest
from sandbox_support import api, client_for, load_case, recorded_json, recorded_sandbox

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}
_GRAPH_KEYS = ("imageGraphUrl", "imageGraphEvolutionUrl")


async def _socials(**params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await recorded_json(
        method="Referrers.getSocials", filter_limit=-1, **_MONTH, **params
    )
    return rows


async def _metadata(**params: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = await recorded_json(
        method="API.getReportMetadata", idSite=1, filter_limit=-1, **params
    )
    return entries


def _check_url_row(row: dict[str, Any]) -> None:
    """A getUrlsForSocial row: label without protocol, the URL in `url`, segment by URL alone."""
    url = row["url"]
    assert url.startswith("https://"), row
    assert row["label"] == url[len("https://") :]
    assert row["segment"] == f"referrerUrl=={quote_plus(url)}"
    assert list(row)[-2:] == ["segment", "url"]  # AddSegmentByLabel, then UrlsForSocial


# -- Referrers.getUrlsForSocial and getSocials' URL rows -----------------------------------
@pytest.mark.anyio
async def test_urls_for_social_rows_lose_the_protocol_and_segment_by_url() -> None:
    """With idSubtable and without (the merged table), each URL row is labelled without its
    protocol and carries `referrerUrl==<URL>`, which selects exactly that row's visits."""
    socials = await _socials()
    expanded = {row["idsubdatatable"]: row for row in await _socials(expanded=1)}
    merged = await recorded_json(method="Referrers.getUrlsForSocial", filter_limit=-1, **_MONTH)
    assert merged
    async with client_for(recorded_sandbox()) as client:
        for network in socials:
            rows = await recorded_json(
                method="Referrers.getUrlsForSocial",
                idSubtable=network["idsubdatatable"],
                filter_limit=-1,
                **_MONTH,
            )
            assert [r["url"] for r in rows] == [
                r["label"] for r in expanded[network["idsubdatatable"]]["subtable"]
            ]
            for row in rows:
                _check_url_row(row)
                assert row in merged
                summary = (
                    await api(client, method="VisitsSummary.get", segment=row["segment"], **_MONTH)
                ).json()
                assert summary["nb_visits"] == row["nb_visits"], row["label"]
    for row in merged:
        _check_url_row(row)


@pytest.mark.anyio
async def test_socials_expanded_subtables_are_the_archived_url_rows() -> None:
    """getSocials&expanded=1: getSocials' filters add url, logo and segment to the networks'
    rows only; the subtables' rows are as archived, labelled by the full referrer URL."""
    for network in await _socials(expanded=1):
        assert (
            network["segment"]
            == f"referrerType==social;referrerName=={quote_plus(network['label'])}"
        )
        assert network["subtable"]
        for row in network["subtable"]:
            assert row["label"].startswith("https://"), row
            assert not {"segment", "url", "logo"} & set(row), row


@pytest.mark.anyio
async def test_socials_flat_rows_take_their_networks_metadata() -> None:
    """getSocials&flat=1: Matomo's Flattener gives each URL row the metadata it lacks from its
    network's row (url, logo, segment `referrerType==social;referrerName==...`)."""
    networks = {row["label"]: row for row in await _socials()}
    flat = await _socials(flat=1)
    assert len(flat) >= len(networks)
    for row in flat:
        name, url = row["label"].split(" - ", 1)
        assert url.startswith("https://")
        for key in ("url", "logo", "segment"):
            assert row[key] == networks[name][key], (row["label"], key)


@pytest.mark.anyio
async def test_processed_urls_for_social_rows_and_metadata() -> None:
    """API.getProcessedReport of getUrlsForSocial: labels without protocol, segment and url
    as row metadata."""
    processed = await recorded_json(
        method="API.getProcessedReport",
        apiModule="Referrers",
        apiAction="getUrlsForSocial",
        idSubtable=1,
        **_MONTH,
    )
    assert processed["reportData"]
    for data, meta in zip(processed["reportData"], processed["reportMetadata"], strict=True):
        assert meta["segment"] == f"referrerUrl=={quote_plus(meta['url'])}"
        assert data["label"] == meta["url"][len("https://") :]


# -- API.getReportMetadata's parameters -----------------------------------------------------
def _without_graphs(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in _GRAPH_KEYS}


def _graph_base(url: str) -> str:
    return url.split("&period=", 1)[0]


@pytest.mark.anyio
@pytest.mark.parametrize("value", ["1", "true", "false"])
async def test_report_metadata_hide_metrics_doc(value: str) -> None:
    """hideMetricsDoc (any value PHP reads as true) removes every metricsDocumentation."""
    plain = await _metadata()
    hidden = await _metadata(hideMetricsDoc=value)
    assert any("metricsDocumentation" in e for e in plain)
    assert hidden == [{k: v for k, v in e.items() if k != "metricsDocumentation"} for e in plain]


@pytest.mark.anyio
async def test_report_metadata_graph_urls_follow_period_and_date() -> None:
    """period=month&date=2026-10-01: the graphs Matomo recorded for that request (148, 149):
    a report with a dimension plots the month, the rest the last 30 months."""
    recorded = {number: json.loads(load_case(number)[1])["metadata"] for number in (148, 149)}
    plain = {e["uniqueId"]: e for e in await _metadata()}
    month = {e["uniqueId"]: e for e in await _metadata(period="month", date="2026-10-01")}
    for number, unique_id in ((148, "VisitsSummary_get"), (149, "Referrers_getReferrerType")):
        for key in _GRAPH_KEYS:
            assert month[unique_id][key] == recorded[number][key]
    assert list(month) == list(plain)
    for unique_id, entry in month.items():
        assert _without_graphs(entry) == _without_graphs(plain[unique_id])
        for key in _GRAPH_KEYS:
            if key in plain[unique_id]:
                assert _graph_base(entry[key]) == _graph_base(plain[unique_id][key])
                dates = (
                    "2026-10-01"
                    if key == "imageGraphUrl" and "dimension" in entry
                    else ("2024-05-01,2026-10-31")
                )
                assert entry[key].endswith(f"&period=month&date={dates}"), entry[key]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "single", "evolution"),
    [
        ({"period": "day", "date": "last7"}, "range&date=last7", "day&date=last7"),
        (
            {"period": "range", "date": "2026-10-01,2026-10-09"},
            "range&date=2026-10-01,2026-10-09",
            "day&date=2026-10-01,2026-10-09",
        ),
        ({"period": "week"}, "week&date=today", "week&date=2026-05-04,2026-11-29"),
        ({"date": "2026-10-05"}, "day&date=2026-10-05", "day&date=2026-09-06,2026-10-05"),
    ],
)
async def test_report_metadata_graph_dates_as_image_graph_picks_them(
    params: dict[str, str], single: str, evolution: str
) -> None:
    """Several dates, a range, a period alone (date today) and a date alone (period day)."""
    by_id = {e["uniqueId"]: e for e in await _metadata(**params)}
    socials = by_id["Referrers_getSocials"]  # a dimension: the one-period graph
    assert socials["imageGraphUrl"].endswith(f"&period={single}")
    assert socials["imageGraphEvolutionUrl"].endswith(f"&period={evolution}")
    assert by_id["VisitsSummary_get"]["imageGraphUrl"].endswith(f"&period={evolution}")


@pytest.mark.anyio
async def test_report_metadata_graph_urls_carry_id_subtable_and_segment() -> None:
    """idSubtable goes to every graph URL, after the dates; an empty idSubtable
    (Common::getRequestVar's unset) does not, nor a segment sent in the POST body only (the
    query string's: test_columns_round28)."""
    plain = await _metadata()
    sent = await _metadata(idSubtable=5, segment="browserCode==CH")
    for before, after in zip(plain, sent, strict=True):
        assert _without_graphs(after) == _without_graphs(before)
        for key in _GRAPH_KEYS:
            if key in before:
                assert after[key] == f"{before[key]}&idSubtable=5"
    assert await _metadata(idSubtable="") == plain


@pytest.mark.anyio
async def test_report_metadata_show_and_hide_columns() -> None:
    """hideColumns narrows metrics, processedMetrics, metricsDocumentation and metricTypes
    (not the goal lists); a list left empty is dropped. showColumns narrows them too, but the
    answer, a plain list, then keeps only the shown keys of each entry (ResponseBuilder's
    handleArray): none of an entry's own, so each is PHP's empty array."""
    plain = await _metadata()
    shown = await _metadata(showColumns="nb_visits,bounce_rate")
    hidden = await _metadata(hideColumns="nb_visits,bounce_rate")
    assert shown == [[] for _ in plain]
    lists = ("metrics", "processedMetrics", "metricsDocumentation", "metricTypes")
    for before, hide in zip(plain, hidden, strict=True):
        where = before["uniqueId"]
        for key, value in before.items():
            if key not in lists:
                assert hide[key] == value, (where, key)
                continue
            rest = {k: v for k, v in value.items() if k not in ("nb_visits", "bounce_rate")}
            assert hide.get(key, {}) == rest, (where, key)
            assert (key in hide) == bool(rest), (where, key)
    assert any("processedMetrics" not in e for e in hidden)
    socials = next(e for e in hidden if e["uniqueId"] == "Referrers_getSocials")
    assert "nb_visits" not in socials["metrics"]
    assert "bounce_rate" not in socials["processedMetrics"]
    assert "nb_conversions" in socials["metricsGoal"]


@pytest.mark.anyio
async def test_report_metadata_entry_is_the_processed_reports() -> None:
    """For one day, getReportMetadata's entry with the request's parameters equals
    API.getProcessedReport's `metadata` for the same request."""
    params = {
        "period": "day",
        "date": "2026-10-05",
        "segment": "browserCode==CH",
        "hideMetricsDoc": "false",  # PHP reads the string: true, as for getReportMetadata
        "hideColumns": "nb_actions",
    }
    entries = {e["uniqueId"]: e for e in await _metadata(**params)}
    assert "metricsDocumentation" not in entries["VisitsSummary_get"]
    assert "nb_actions" not in entries["VisitsSummary_get"]["metrics"]
    for module, action in (("Referrers", "getReferrerType"), ("VisitsSummary", "get")):
        processed = await recorded_json(
            method="API.getProcessedReport", idSite=1, apiModule=module, apiAction=action, **params
        )
        assert processed["metadata"] == entries[f"{module}_{action}"]


@pytest.mark.anyio
async def test_report_metadata_without_those_parameters_is_unchanged() -> None:
    """A request with none of them (or PHP-empty ones) gives the same bytes as before: the
    recorded graph dates, `date=today` and the last 30 days (146)."""
    bodies = set()
    async with client_for(recorded_sandbox()) as client:
        for extra in ({}, {"period": "", "date": ""}, {"hideMetricsDoc": "0"}, {"idSubtable": ""}):
            bodies.add(
                (await api(client, method="API.getReportMetadata", idSite=1, **extra)).content
            )
    assert len(bodies) == 1
    entries = json.loads(bodies.pop())
    recorded = {e["uniqueId"]: e for e in json.loads(load_case(146)[1])}
    for entry in entries:
        if entry["uniqueId"] in recorded:
            for key in _GRAPH_KEYS:
                assert entry.get(key) == recorded[entry["uniqueId"]].get(key)


@pytest.mark.anyio
async def test_processed_report_graphs_skip_an_empty_id_subtable() -> None:
    """API.getProcessedReport with `idSubtable=` (unset for Matomo) has no idSubtable in its
    graph URLs; a given one is kept."""
    base = {"apiModule": "Referrers", "apiAction": "getUrlsForSocial", **_MONTH}
    empty = await recorded_json(method="API.getProcessedReport", idSubtable="", **base)
    given = await recorded_json(method="API.getProcessedReport", idSubtable="2", **base)
    for key in _GRAPH_KEYS:
        assert not re.search("idSubtable", empty["metadata"][key])
        assert given["metadata"][key].endswith("&idSubtable=2")
