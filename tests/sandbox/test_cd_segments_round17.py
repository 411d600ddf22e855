"""Custom dimension segments and reports: `dimension1` (visit scope) and `dimension2` (action
scope) filter every method that takes a segment, API.getSegmentsMetadata lists them (recorded
150), and API.getReportMetadata lists the two CustomDimensions.getCustomDimension reports as
recorded (146), so getProcessedReport and the report pages serve them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sandbox_support import api, client_for, load_case, recorded_json, recorded_sandbox

from matomo_client.sandbox.meta_pages import segments_metadata

pytestmark = pytest.mark.anyio

_MONTH = {"period": "month", "date": "2026-10-01"}
_PERIODS = [
    _MONTH,
    {"period": "week", "date": "2026-11-02"},
    {"period": "day", "date": "2026-11-20"},
]


def _recorded(number: int) -> Any:
    return json.loads(load_case(number)[1])


@pytest.mark.parametrize("id_dimension", [1, 2])
@pytest.mark.parametrize("when", _PERIODS, ids=["month", "week", "day"])
async def test_each_rows_segment_gives_the_rows_visits(
    id_dimension: int, when: dict[str, str]
) -> None:
    rows = await recorded_json(
        method="CustomDimensions.getCustomDimension",
        idSite=1,
        idDimension=id_dimension,
        **when,
    )
    assert rows
    for row in rows:
        summary = await recorded_json(
            method="VisitsSummary.get", idSite=1, segment=row["segment"], **when
        )
        assert summary["nb_visits"] == row["nb_visits"], row["segment"]
    if id_dimension == 1:  # visit scope: the values split the visits
        either = "dimension1==new,dimension1==returning"
        both = await recorded_json(method="VisitsSummary.get", idSite=1, segment=either, **when)
        assert both["nb_visits"] == sum(r["nb_visits"] for r in rows)


async def test_live_visits_match_the_dimension_segments() -> None:
    async def visits(segment: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await recorded_json(
            method="Live.getLastVisitsDetails",
            idSite=1,
            segment=segment,
            filter_limit=-1,
            **_MONTH,
        )
        return found

    returning = await visits("dimension1==returning")
    assert returning
    assert {v["dimension1"] for v in returning} == {"returning"}

    def categories(visit: dict[str, Any]) -> set[str]:
        return {a.get("dimension2") for a in visit["actionDetails"]} - {None}

    product = await visits("dimension2==product")
    assert product
    assert all("product" in categories(v) for v in product)
    others = await visits("dimension2!=product")  # action scope: no action has the value
    assert others
    assert all("product" not in categories(v) for v in others)
    everything = await visits("visitorType!=nobody")
    assert len(product) + len(others) == len(everything)
    prefix = await visits("dimension2=^prod;dimension1==new")
    assert {v["idVisit"] for v in prefix} == {
        v["idVisit"] for v in product if v["dimension1"] == "new"
    }


async def test_reports_and_row_segments_filter_by_dimension() -> None:
    rows = await recorded_json(
        method="CustomDimensions.getCustomDimension", idSite=1, idDimension=2, **_MONTH
    )
    first = rows[0]
    pages = await recorded_json(
        method="Actions.getPageTitles", idSite=1, segment=first["segment"], flat=1, **_MONTH
    )
    assert pages
    # the segment of a visit-scope row narrows the action-scope report to those visits
    new = await recorded_json(
        method="CustomDimensions.getCustomDimension",
        idSite=1,
        idDimension=2,
        segment="dimension1==new",
        **_MONTH,
    )
    for row in new:
        both = await recorded_json(
            method="VisitsSummary.get",
            idSite=1,
            segment=f"{row['segment']};dimension1==new",
            **_MONTH,
        )
        assert both["nb_visits"] == row["nb_visits"]


async def test_segments_metadata_lists_the_custom_dimensions_as_recorded() -> None:
    recorded = [s for s in _recorded(150) if s["segment"] in ("dimension1", "dimension2")]
    assert [s["name"] for s in recorded] == ["Customer Type", "Page Category"]
    listed = await recorded_json(method="API.getSegmentsMetadata", idSites="1")
    assert [s for s in listed if s["segment"].startswith("dimension")] == recorded
    without = segments_metadata(custom_dimensions=False)
    assert without == [s for s in listed if s not in recorded]


async def test_report_metadata_lists_the_custom_dimension_reports_as_recorded() -> None:
    recorded = _recorded(146)
    order = [r["uniqueId"] for r in recorded]
    want = [r for r in recorded if r["module"] == "CustomDimensions"]
    assert len(want) == 2
    entries = await recorded_json(method="API.getReportMetadata", idSite=1)
    assert [r for r in entries if r["module"] == "CustomDimensions"] == want
    ids = [r["uniqueId"] for r in entries]
    assert ids == sorted(ids, key=order.index)  # in the recorded places
    for id_site in (2, 3):  # sites without custom dimensions
        others = await recorded_json(method="API.getReportMetadata", idSite=id_site)
        assert not [r for r in others if r["module"] == "CustomDimensions"]


@pytest.mark.parametrize("id_dimension", [1, 2])
async def test_processed_report_of_a_custom_dimension(id_dimension: int) -> None:
    rows = await recorded_json(
        method="CustomDimensions.getCustomDimension",
        idSite=1,
        idDimension=id_dimension,
        **_MONTH,
    )
    report = await recorded_json(
        method="API.getProcessedReport",
        idSite=1,
        apiModule="CustomDimensions",
        apiAction="getCustomDimension",
        idDimension=id_dimension,
        **_MONTH,
    )
    assert report["metadata"]["uniqueId"] == (
        f"CustomDimensions_getCustomDimension_idDimension--{id_dimension}"
    )
    assert report["columns"]["label"] == ("Customer Type", "Page Category")[id_dimension - 1]
    assert [(r["label"], r["nb_visits"]) for r in report["reportData"]] == [
        (r["label"], r["nb_visits"]) for r in rows
    ]
    assert [m["segment"] for m in report["reportMetadata"]] == [r["segment"] for r in rows]
    async with client_for(recorded_sandbox()) as client:
        response = await api(
            client,
            method="API.getProcessedReport",
            idSite=2,
            apiModule="CustomDimensions",
            apiAction="getCustomDimension",
            idDimension=id_dimension,
            **_MONTH,
        )
    assert "not found in the list of available reports" in response.json()["message"]


async def test_report_pages_widgets_come_from_the_report_metadata() -> None:
    pages = await recorded_json(method="API.getReportPagesMetadata", idSite=1)
    widgets = [w for p in pages for w in p["widgets"]]
    dims = sorted(
        w["parameters"]["idDimension"] for w in widgets if w.get("module") == "CustomDimensions"
    )
    assert dims == ["1", "2"]
    blog = await recorded_json(method="API.getReportPagesMetadata", idSite=2)
    assert "CustomDimensions" not in json.dumps(blog)
