"""Round 17 follow-up: the custom dimension segments exist only where Matomo registers them
(one site that has them, in a request whose own site has them), API.getProcessedReport's total
computes processed metrics instead of summing them, and the report method's errors come back
wrapped as ProcessedReport and RowEvolution wrap them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sandbox_support import api, client_for, recorded_config, recorded_json, recorded_sandbox

from matomo_client.sandbox import Sandbox
from matomo_client.sandbox.processed_report import METADATA_KEYS

pytestmark = pytest.mark.anyio

_MONTH = {"period": "month", "date": "2026-10-01"}
_UNSUPPORTED = "Segment '{}' is not a supported segment."
_WRAPPED = "API returned an error: {} "  # Matomo's "\n" ends the text; errors render it as a space


async def _message(client: httpx.AsyncClient, **params: Any) -> str | None:
    """The error message of a call (HTTP 200, as Matomo answers a segment error), else None."""
    response = await api(client, **params)
    assert response.status_code == 200, response.text[:300]
    value = response.json()
    if isinstance(value, dict) and value.get("result") == "error":
        return str(value["message"])
    return None


# -- custom dimension segments ------------------------------------------------------------------

_SEGMENT_CALLS: list[dict[str, Any]] = [
    {"method": "VisitsSummary.get", **_MONTH},
    {"method": "VisitFrequency.get", **_MONTH},
    {"method": "Goals.get", **_MONTH},
    {"method": "Referrers.getSearchEngines", **_MONTH},
    {"method": "Actions.getPageUrls", **_MONTH},
    {"method": "Live.getLastVisitsDetails", **_MONTH},
    {"method": "Live.getCounters", "lastMinutes": 2880},
    {"method": "Live.getVisitorProfile"},
]


@pytest.mark.parametrize("call", _SEGMENT_CALLS, ids=lambda c: c["method"])
@pytest.mark.parametrize("segment", ["dimension1==new", "dimension2==product"])
async def test_custom_dimension_segments_only_for_the_site_that_has_them(
    call: dict[str, Any], segment: str
) -> None:
    name = segment.split("==")[0]
    async with client_for(recorded_sandbox()) as client:
        assert await _message(client, idSite=1, segment=segment, **call) is None
        for id_site in ("2", "3", "1,2", "all"):
            if (
                id_site in ("1,2", "all")
                and call["method"].startswith("Live.get")
                and (call["method"] != "Live.getLastVisitsDetails")
            ):
                continue  # the profile and the counters are of one site
            found = await _message(client, idSite=id_site, segment=segment, **call)
            assert found == _UNSUPPORTED.format(name), (id_site, found)


async def test_custom_dimension_segments_over_several_sites_and_extra_sites() -> None:
    async with client_for(Sandbox(recorded_config(extra_sites=2))) as client:
        found = await _message(
            client, method="MultiSites.getAll", segment="dimension1==new", **_MONTH
        )
        assert found == _UNSUPPORTED.format("dimension1")
        for id_site in (4, 5):
            found = await _message(
                client,
                method="VisitsSummary.get",
                idSite=id_site,
                segment="dimension2==cart",
                **_MONTH,
            )
            assert found == _UNSUPPORTED.format("dimension2")
        listed = await api(client, method="API.getSegmentsMetadata", idSites="4")
        assert not [s for s in listed.json() if s["segment"].startswith("dimension")]


async def test_bulk_sub_requests_see_the_custom_dimensions_of_the_outer_requests_site() -> None:
    # Matomo lists a segment from the HTTP request's own idSite (CustomDimensions::getIdSite
    # reads $_GET), which a bulk request without idSite lacks
    sub = (
        "method=VisitsSummary.get&idSite=1&period=month&date=2026-10-01&segment=dimension1%3D%3Dnew"
    )
    async with client_for(recorded_sandbox()) as client:
        bare = await api(client, method="API.getBulkRequest", **{"urls[0]": sub})
        assert bare.json() == [{"result": "error", "message": _UNSUPPORTED.format("dimension1")}]
        outer = await api(client, method="API.getBulkRequest", idSite=1, **{"urls[0]": sub})
        direct = await api(
            client, method="VisitsSummary.get", idSite=1, segment="dimension1==new", **_MONTH
        )
        assert outer.json() == [direct.json()]


@pytest.mark.parametrize(
    ("params", "listed"),
    [
        ({"idSites": "1"}, True),
        ({"idSites": "2"}, False),
        ({"idSites": "3"}, False),
        ({"idSites": "1,2"}, False),
        ({}, False),
        ({"idSite": "1"}, True),
    ],
)
async def test_segments_metadata_lists_custom_dimensions_only_for_their_site(
    params: dict[str, str], listed: bool
) -> None:
    found = await recorded_json(method="API.getSegmentsMetadata", **params)
    names = [s["segment"] for s in found if s["segment"].startswith("dimension")]
    assert names == (["dimension1", "dimension2"] if listed else [])
    assert len(found) > 10


# -- API.getProcessedReport: totals ------------------------------------------------------------


def _number(value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _skipped(metric: str) -> bool:
    # ProcessedReport::calculateTotals leaves out averages, rates and evolutions
    return metric.startswith("avg_") or metric.endswith(("_rate", "_evolution"))


async def test_every_reports_total_sums_archived_columns_and_computes_processed_ones() -> None:
    entries = await recorded_json(method="API.getReportMetadata", idSite=1)
    checked = 0
    async with client_for(recorded_sandbox()) as client:
        for entry in entries:
            if not entry.get("dimension"):
                continue
            extra = {k: str(v) for k, v in (entry.get("parameters") or {}).items()}
            report = await api(
                client,
                method="API.getProcessedReport",
                idSite=1,
                apiModule=entry["module"],
                apiAction=entry["action"],
                **extra,
                **_MONTH,
            )
            answer = report.json()
            if answer.get("result") == "error":
                continue  # the report method's own refusal (none for one month)
            rows = await recorded_json(
                method=f"{entry['module']}.{entry['action']}",
                idSite=1,
                filter_limit=-1,
                **extra,
                **_MONTH,
            )
            processed = set(entry.get("processedMetrics") or {}) | {"conversion_rate"}
            archived = {
                k
                for row in rows
                for k, v in row.items()
                if k not in processed
                and not _skipped(k)
                and (_number(v) or isinstance(v, dict))
                and k not in METADATA_KEYS
                and k not in ("idsubdatatable", "label")
            }
            total = answer["reportTotal"] or {}
            computed = "nb_actions_per_visit" in processed and bool(rows)
            want = archived | ({"nb_actions_per_visit"} if computed else set())
            name = f"{entry['module']}.{entry['action']} {extra}"
            assert not [k for k in total if _skipped(k)], name
            assert set(total) == want, name
            if computed:  # nb_actions / nb_visits of the total, not a sum of the rows' ratios
                ratio = total["nb_actions"] / total["nb_visits"]
                assert total["nb_actions_per_visit"] == round(ratio, 1), name
            checked += 1
    assert checked >= 40


async def test_custom_dimension_total_is_not_the_sum_of_the_rows_ratios() -> None:
    found = await recorded_json(
        method="API.getProcessedReport",
        idSite=1,
        apiModule="CustomDimensions",
        apiAction="getCustomDimension",
        idDimension=1,
        format_metrics=0,
        **_MONTH,
    )
    rows = found["reportData"]
    assert len(rows) == 2
    total = found["reportTotal"]
    assert total["nb_visits"] == sum(r["nb_visits"] for r in rows)
    assert total["nb_actions_per_visit"] == round(total["nb_actions"] / total["nb_visits"], 1)
    assert total["nb_actions_per_visit"] != sum(r["nb_actions_per_visit"] for r in rows)


async def test_a_subtable_requests_total_sums_the_first_level_rows_processed_metrics() -> None:
    # with idSubtable, ReportTotalsCalculator fetches the first level through the API, whose
    # rows carry their processed metrics: those are summed, not computed again
    found = await recorded_json(
        method="API.getProcessedReport",
        idSite=1,
        apiModule="Referrers",
        apiAction="getReferrerType",
        idSubtable=2,
        **_MONTH,
    )
    rows = await recorded_json(method="Referrers.getReferrerType", idSite=1, **_MONTH)
    ratios = [round(r["nb_actions"] / r["nb_visits"], 1) for r in rows if r["nb_visits"]]
    assert found["reportTotal"]["nb_actions_per_visit"] == pytest.approx(sum(ratios))
    assert found["reportTotal"]["nb_visits"] == sum(r["nb_visits"] for r in rows)


# -- errors of the report method ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("API.getProcessedReport", {**_MONTH}),
        ("API.getRowEvolution", {"period": "day", "date": "last3"}),
    ],
)
async def test_the_report_methods_segment_error_comes_back_wrapped(
    method: str, extra: dict[str, str]
) -> None:
    async with client_for(recorded_sandbox()) as client:
        common = {"method": method, "apiModule": "Referrers", "apiAction": "getReferrerType"}
        for id_site, segment, name in (
            (1, "notADimension==1", "notADimension"),
            (2, "dimension1==new", "dimension1"),
        ):
            found = await _message(client, idSite=id_site, segment=segment, **common, **extra)
            assert found == _WRAPPED.format(_UNSUPPORTED.format(name))
        # the report is looked up first: an unknown one is "not found", whatever the segment
        unknown = {**common, "apiAction": "getNothing"}
        found = await _message(client, idSite=1, segment="notADimension==1", **unknown, **extra)
        assert found is not None
        assert found.startswith("Requested report Referrers.getNothing")


async def test_processed_report_wraps_the_report_methods_other_errors() -> None:
    async with client_for(recorded_sandbox()) as client:
        found = await _message(
            client,
            method="API.getProcessedReport",
            idSite=1,
            apiModule="Referrers",
            apiAction="getAll",
            period="day",
            date="last2",
        )
    inner = "Referrers.getAll with multiple sites or dates is not supported (yet)."
    assert found == _WRAPPED.format(inner)
