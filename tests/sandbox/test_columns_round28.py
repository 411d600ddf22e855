"""Generic request parameters as Matomo 5 reads them: hideColumns/showColumns and paging on
plain-array answers (core/API/ResponseBuilder.php handleArray, core/DataTable/Filter/
ColumnDelete.php), MultiSites.getAll's own showColumns (plugins/MultiSites/API.php
buildDataTable), showRawMetrics with column lists (plugins/API/ProcessedReport.php), column
lists on API.getRowEvolution (plugins/API/RowEvolution.php) and the graph URLs' segment, taken
from the query string only (core/API/Request.php getRawSegmentFromRequest, ImageGraph)."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_support import TOKEN, client_for, recorded_json, recorded_sandbox

_MONTH = {"period": "month", "date": "2026-10-01"}
_DAYS = {"idSite": 1, "period": "day", "date": "2026-10-01,2026-10-05"}
# plain-array methods whose rows are associative arrays, with the parameters they need
_LISTS: dict[str, dict[str, Any]] = {
    "Goals.getGoals": {"idSite": 1},
    "API.getSegmentsMetadata": {"idSites": 1},
    "CustomDimensions.getConfiguredCustomDimensions": {"idSite": 1},
    "API.getReportPagesMetadata": {"idSite": 1},
    "SitesManager.getSitesWithAtLeastViewAccess": {},
    "API.getReportMetadata": {"idSite": 1},
}
_GRAPH_KEYS = ("imageGraphUrl", "imageGraphEvolutionUrl")


async def _list(method: str, **params: Any) -> list[Any]:
    rows = await recorded_json(method=method, filter_limit=-1, **_LISTS[method], **params)
    # unpaged, Goals.getGoals keeps its PHP keys (idgoal): an object (test_arrays_round28c)
    return list(rows.values()) if isinstance(rows, dict) else list(rows)


@pytest.mark.anyio
@pytest.mark.parametrize("method", sorted(_LISTS))
async def test_plain_arrays_hide_and_show_columns(method: str) -> None:
    """Every key of a plain array's rows is a column: hideColumns removes the named ones,
    showColumns keeps only those (and `label`); nested values are not touched."""
    plain = await _list(method)
    assert plain
    assert all(isinstance(r, dict) for r in plain)
    first, second = list(plain[0])[:2]
    hidden = await _list(method, hideColumns=f"{first},{second}")
    assert hidden == [{k: v for k, v in r.items() if k not in (first, second)} for r in plain]
    shown = await _list(method, showColumns=second)
    assert shown == [({second: r[second]} if second in r else []) for r in plain]


@pytest.mark.anyio
async def test_plain_arrays_are_paged_before_their_columns_go() -> None:
    """filter_limit and filter_offset page a plain array (lists of ids too), then the columns
    are deleted."""
    goals = await _list("Goals.getGoals")
    assert len(goals) == 2
    one = await recorded_json(
        method="Goals.getGoals", idSite=1, filter_offset=1, showColumns="name,idgoal"
    )
    assert one == [{"idgoal": goals[1]["idgoal"], "name": goals[1]["name"]}]
    assert await recorded_json(method="Goals.getGoals", idSite=1, filter_limit=1) == goals[:1]
    ids = await recorded_json(method="SitesManager.getSitesIdWithAtLeastViewAccess")
    assert len(ids) > 2
    paged = await recorded_json(
        method="SitesManager.getSitesIdWithAtLeastViewAccess", filter_limit=1, filter_offset=1
    )
    assert paged == ids[1:2]
    segments = await _list("API.getSegmentsMetadata")
    first = await recorded_json(method="API.getSegmentsMetadata", idSites=1, filter_limit=3)
    assert first == segments[:3]


@pytest.mark.anyio
async def test_report_metadata_entries_lose_unshown_keys() -> None:
    """API.getReportMetadata answers a list too: besides narrowing the metric lists,
    showColumns keeps only the named top-level keys (none named: PHP's empty array)."""
    plain = await _list("API.getReportMetadata")
    named = await _list("API.getReportMetadata", showColumns="uniqueId,name")
    assert named == [{"name": e["name"], "uniqueId": e["uniqueId"]} for e in plain]
    assert await _list("API.getReportMetadata", showColumns="nb_visits") == [[] for _ in plain]
    hidden = await _list("API.getReportMetadata", hideColumns="documentation,nb_visits")
    assert all("documentation" not in e for e in hidden)
    assert [e["uniqueId"] for e in hidden] == [e["uniqueId"] for e in plain]


@pytest.mark.anyio
async def test_plain_array_emptied_rows_render_as_php_does() -> None:
    """A row left without keys is PHP's empty array: `[]` in JSON."""
    async with client_for(recorded_sandbox()) as client:
        response = await client.post(
            "index.php",
            data={
                "module": "API",
                "format": "JSON",
                "token_auth": TOKEN,
                "method": "Goals.getGoals",
                "idSite": "1",
                "showColumns": "nothing",
            },
        )
    assert response.content == b"[[],[]]"


async def _sites(**params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await recorded_json(method="MultiSites.getAll", **_MONTH, **params)
    return rows


@pytest.mark.anyio
async def test_multi_sites_show_columns_fetches_only_those_metrics() -> None:
    """MultiSites' own showColumns: only the shown metrics have evolutions and previous values
    (as in Matomo's expected test_oneVisitor_oneWebsite_severalDays_DateRange_showColumns)."""
    plain = await _sites()
    rows = await _sites(showColumns="nb_visits,visits_evolution")
    assert [r["label"] for r in rows] == [r["label"] for r in plain]
    for row, full in zip(rows, plain, strict=True):
        assert list(row) == [
            "label",
            "nb_visits",
            "visits_evolution",
            "idsite",
            "ratio",
            "currencySymbol",
            "previous_nb_visits",
            "periodName",
            "previousRange",
            "group",
            "main_url",
        ]
        assert row == {k: full[k] for k in row}


@pytest.mark.anyio
async def test_multi_sites_without_visits_shown_keeps_every_site() -> None:
    """Without nb_visits among the shown metrics, the sites without visits stay, by site id;
    the first shown metric's previous value takes nb_visits' place."""
    plain = await _sites()
    everyone = await recorded_json(method="SitesManager.getSitesIdWithAtLeastViewAccess")
    rows = await _sites(showColumns="nb_actions,revenue")
    assert [r["idsite"] for r in rows] == everyone
    assert len(rows) > len(plain)  # the "Empty" site is back
    by_site = {r["idsite"]: r for r in plain}
    for row in rows:
        assert list(row) == [
            "label",
            "nb_actions",
            "revenue",
            "idsite",
            "ratio",
            "currencySymbol",
            "previous_nb_actions",
            "periodName",
            "previousRange",
            "previous_revenue",
            "group",
            "main_url",
        ]
        if row["idsite"] in by_site:
            assert row == {k: by_site[row["idsite"]][k] for k in row}
        else:
            assert row["nb_actions"] == 0
    bare = await _sites(showColumns="label")
    assert [list(r) for r in bare] == [["label", "idsite", "group", "main_url"]] * len(everyone)


@pytest.mark.anyio
async def test_multi_sites_empty_show_columns_is_not_given() -> None:
    """`showColumns=` and `showColumns=0` are PHP-empty: every metric, as without them."""
    plain = await _sites()
    assert await _sites(showColumns="") == plain
    assert await _sites(showColumns="0") == plain


async def _processed(**params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await recorded_json(
        method="API.getProcessedReport",
        idSite=1,
        apiModule="Referrers",
        apiAction="getReferrerType",
        showTimer=0,
        **_MONTH,
        **params,
    )
    return answer


@pytest.mark.anyio
async def test_processed_report_raw_metrics_follow_the_column_lists() -> None:
    """With showRawMetrics, the raw metrics the report call's ColumnDelete removed are gone:
    hidden ones, or those showColumns does not name."""
    raw = await _processed(showRawMetrics=1)
    row = raw["reportData"][0]
    assert {"nb_visits", "sum_visit_length", "bounce_count", "max_actions"} <= set(row)
    hidden = await _processed(showRawMetrics=1, hideColumns="nb_visits,sum_visit_length,goals")
    for before, after in zip(raw["reportData"], hidden["reportData"], strict=True):
        assert after == {
            k: v for k, v in before.items() if k not in ("nb_visits", "sum_visit_length", "goals")
        }
    shown = await _processed(showRawMetrics=1, showColumns="nb_visits,bounce_rate")
    for before, after in zip(raw["reportData"], shown["reportData"], strict=True):
        assert after == {k: before[k] for k in ("label", "nb_visits", "bounce_rate")}
    # without showRawMetrics nothing changes: the metadata's columns only
    assert (await _processed(hideColumns="max_actions"))["reportData"] == (await _processed())[
        "reportData"
    ]


async def _evolution(**params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = await recorded_json(
        method="API.getRowEvolution",
        apiModule="Referrers",
        apiAction="getReferrerType",
        **_DAYS,
        **params,
    )
    return answer


@pytest.mark.anyio
async def test_row_evolution_column_lists() -> None:
    """The report call inherits hideColumns/showColumns: the rows and the metadata hold the
    kept metrics only; a hidden `label` leaves the label filter nothing to find."""
    plain = await _evolution(label="Search Engines")
    shown = await _evolution(label="Search Engines", showColumns="nb_visits")
    assert list(shown["metadata"]["metrics"]) == ["nb_visits"]
    for day, rows in plain["reportData"].items():
        assert [{k: v for k, v in r.items() if k == "nb_visits"} for r in rows] == [
            {k: v for k, v in r.items() if k != "idsubdatatable"} for r in shown["reportData"][day]
        ]
    no_label = await _evolution(label="Search Engines", hideColumns="label")
    assert all(rows == [] for rows in no_label["reportData"].values())


@pytest.mark.anyio
async def test_row_evolution_with_every_metric_hidden() -> None:
    """Several labels and no metric left: Matomo's column is false, each value `_<n>` 0 (it
    used to fail with a StopIteration traceback)."""
    entry = await recorded_json(
        method="API.getProcessedReport",
        idSite=1,
        apiModule="Referrers",
        apiAction="getReferrerType",
        period="day",
        date="2026-10-01",
    )
    every = ",".join([*entry["metadata"]["metrics"], *entry["metadata"]["processedMetrics"]])
    answer = await _evolution(label="Search Engines,Websites", hideColumns=every)
    assert answer["column"] is False
    assert answer["metadata"]["columns"] == []
    assert all(rows == [{"_0": 0, "_1": 0}] for rows in answer["reportData"].values())
    assert answer["metadata"]["metrics"]["_0"]["name"] == "Search Engines ()"


async def _graphs(method: str, query: str, body: dict[str, str]) -> list[str]:
    """The graph URLs of an answer to a POST with `query` in the URL as written."""
    data = {"module": "API", "format": "JSON", "token_auth": TOKEN, "method": method, **body}
    async with client_for(recorded_sandbox()) as client:
        response = await client.post(f"index.php?{query}", data=data)
    assert response.status_code == 200, response.text[:300]
    answer = response.json()
    entries = answer if isinstance(answer, list) else [answer["metadata"]]
    return [e[k] for e in entries for k in _GRAPH_KEYS if k in e]


_PROCESSED = {"idSite": "1", "apiModule": "VisitsSummary", "apiAction": "get", "period": "day"}


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["API.getProcessedReport", "API.getReportMetadata"])
async def test_graph_urls_take_the_segment_of_the_query_string(method: str) -> None:
    """A segment sent only in the POST body is not in the graph URLs; one in the query string is
    copied as it was written there, encoded or not."""
    body = {**_PROCESSED, "date": "2026-10-01"} if method.endswith("Report") else {"idSite": "1"}
    if method.endswith("Metadata"):
        body.update(period="day", date="2026-10-01")
    plain = await _graphs(method, "x=1", body)
    assert plain
    assert all("segment=" not in url for url in plain)
    assert await _graphs(method, "x=1", {**body, "segment": "browserCode==CH"}) == plain
    for raw in ("browserCode%3D%3DCH", "browserCode==CH", "browserCode%3d%3dCH"):
        urls = await _graphs(method, f"segment={raw}", body)
        assert urls == [f"{url}&segment={raw}" for url in plain]
    # the query string's segment wins over the body's, and an empty one is none
    urls = await _graphs(method, "segment=browserCode==FF", {**body, "segment": "browserCode==CH"})
    assert urls == [f"{url}&segment=browserCode==FF" for url in plain]
    assert await _graphs(method, "segment=", {**body, "segment": "browserCode==CH"}) == plain
