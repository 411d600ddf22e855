"""Leftovers of round 28's generic request parameters, as Matomo 5 reads them: the Pattern filter
on plain-array answers and their PHP keys (core/API/ResponseBuilder.php handleArray, core/Common.php
getRequestVar, core/DataTable/Filter/Pattern.php filterArray), ColumnDelete on API.getBulkRequest's
result list, getRowEvolution without labels under `hideColumns=label` (plugins/API/RowEvolution.php),
PHP's `[]` for emptied maps and rows, and MultiSites.getAll's ties (Sort on the site id label)."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_support import api_json, client_for, recorded_config, recorded_json

from matomo_client.sandbox import Sandbox

_DAYS = {"idSite": 1, "period": "day", "date": "2026-10-01,2026-10-03"}


@pytest.mark.anyio
async def test_plain_array_pattern_needs_an_array_filter_column() -> None:
    """getRequestVar reads filter_column as an array: a plain string (or `[0]` = "" / "0")
    is `array(false)`, no filter; `filter_column[]` filters on any column named, PCRE-like, and
    a pattern PHP's delimiter cuts short matches nothing. Unpaged, rows keep their keys."""
    goals = await recorded_json(method="Goals.getGoals", idSite=1)
    assert [g["name"] for g in goals] == ["Visited contact page", "Newsletter signup"]

    async def names(**params: Any) -> Any:
        return await recorded_json(method="Goals.getGoals", idSite=1, showColumns="name", **params)

    every = [{"name": g["name"]} for g in goals]
    assert await names(filter_column="name", filter_pattern="contact") == every
    assert await names(**{"filter_column[]": "0", "filter_pattern": "contact"}) == every
    assert await names(**{"filter_column[]": "name", "filter_pattern": "CONTACT"}) == every[:1]
    two = {"filter_column[0]": "pattern", "filter_column[1]": "match_attribute"}
    assert await names(**two, filter_pattern="^manu") == every[1:]
    assert await names(**{"filter_column[]": "pattern", "filter_pattern": "/contact"}) == every[:1]
    assert await names(**{"filter_column[]": "pattern", "filter_pattern": "\\/contact"}) == []
    # filter_limit=-1 slices nothing: PHP's keys stay (idgoal), a JSON object
    assert await names(filter_limit=-1) == {str(g["idgoal"]): {"name": g["name"]} for g in goals}
    kept = await names(**{"filter_column[]": "name", "filter_pattern": "news"}, filter_limit=-1)
    assert kept == {str(goals[1]["idgoal"]): {"name": "Newsletter signup"}}
    every_segment = await recorded_json(
        method="API.getSegmentsMetadata", idSites=1, filter_limit=-1
    )
    at = [s["segment"] for s in every_segment].index("deviceType")
    assert at > 0
    segments = await recorded_json(
        method="API.getSegmentsMetadata",
        idSites=1,
        showColumns="segment",
        filter_limit=-1,
        **{"filter_column[]": "segment", "filter_pattern": "^deviceType$"},
    )
    assert segments == {str(at): {"segment": "deviceType"}}


@pytest.mark.anyio
async def test_bulk_results_lose_columns_as_a_plain_array() -> None:
    """API.getBulkRequest's list is a plain array: when its first result is associative, each
    result loses the columns (a report's row list, with integer keys, is emptied by
    showColumns)."""
    urls = {
        "urls[0]": "method=API.getMatomoVersion",
        "urls[1]": "method=Referrers.getReferrerType&idSite=1&period=month&date=2026-10-01",
    }
    plain = await recorded_json(method="API.getBulkRequest", **urls)
    assert plain[0] == {"value": "5.11.2"}
    assert plain[1]
    assert await recorded_json(method="API.getBulkRequest", showColumns="value", **urls) == [
        plain[0],
        [],
    ]
    hidden = await recorded_json(method="API.getBulkRequest", hideColumns="value", **urls)
    assert hidden[0] == []
    assert [r["label"] for r in hidden[1]] == [r["label"] for r in plain[1]]
    first_a_list = {"urls[0]": urls["urls[1]"], "urls[1]": urls["urls[0]"]}
    shown = await recorded_json(method="API.getBulkRequest", showColumns="value", **first_a_list)
    assert shown[1] == {"value": "5.11.2"}
    assert shown[0]


@pytest.mark.anyio
async def test_row_evolution_without_labels_hiding_the_label() -> None:
    """No label and hideColumns=label: the report's rows have no label, so Matomo lists one
    label, false, and shows each period's first row (its metrics) under an empty label."""
    params = {"apiModule": "Referrers", "apiAction": "getReferrerType", **_DAYS}
    answer = await recorded_json(method="API.getRowEvolution", hideColumns="label", **params)
    assert answer["label"] == ""
    report = await recorded_json(method="Referrers.getReferrerType", filter_limit=-1, **_DAYS)
    metrics = answer["metadata"]["metrics"]
    for key, rows in answer["reportData"].items():
        first = report[key][0]
        assert rows == [{k: v for k, v in rows[0].items()}]
        assert rows[0]["nb_visits"] == first["nb_visits"]
        assert set(rows[0]) - {"idsubdatatable"} <= set(metrics)
    urls = {"apiModule": "Actions", "apiAction": "getPageUrls", **_DAYS}
    pages = await recorded_json(method="API.getRowEvolution", hideColumns="label", **urls)
    assert pages["label"].endswith("//")  # formatQueryLabelForDisplay of `false`: "<host>//"


@pytest.mark.anyio
async def test_emptied_maps_and_rows_are_php_arrays() -> None:
    """Maps and rows left empty by the column lists render as PHP's `[]`, not `{}`."""
    country = {"apiModule": "UserCountry", "apiAction": "getCountry", **_DAYS}
    one = await recorded_json(
        method="API.getRowEvolution", label="Germany", showColumns="xyz", **country
    )
    assert one["metadata"]["metrics"] == []
    assert all(rows in ([], [[]]) for rows in one["reportData"].values())
    assert [[]] in one["reportData"].values()
    none = await recorded_json(method="API.getRowEvolution", showColumns="xyz", **country)
    assert none["metadata"]["metrics"] not in ({},)
    summary = await recorded_json(
        method="API.getProcessedReport",
        apiModule="VisitsSummary",
        apiAction="get",
        showColumns="xyz",
        **_DAYS,
    )
    assert summary["columns"] == []
    assert all(v == [] for v in summary["reportData"].values())
    flat = await recorded_json(
        method="API.getProcessedReport",
        apiModule="UserCountry",
        apiAction="getCountry",
        hideColumns="label",
        showColumns="xyz",
        filter_limit=2,
        **{**_DAYS, "date": "2026-10-01"},
    )
    assert flat["columns"] == []
    assert flat["reportData"] == [[], []]


@pytest.mark.anyio
async def test_multi_sites_ties_go_by_site_id() -> None:
    """Sort runs on MultiSites.getAll while each label is still the site id: equal nb_visits
    go by id, ascending (descending with filter_sort_order=asc), not by name."""
    sb = Sandbox(recorded_config(extra_sites=12))
    async with client_for(sb) as client:
        for order, sign in (("desc", -1), ("asc", 1)):
            rows = await api_json(
                client,
                method="MultiSites.getAll",
                period="day",
                date="2026-10-03",
                enhanced=1,
                filter_sort_order=order,
            )
            pairs = [(r["nb_visits"], r["idsite"]) for r in rows]
            assert len(pairs) == 15
            assert len({v for v, _ in pairs}) < len(pairs)
            assert pairs == sorted(pairs, key=lambda p: (sign * p[0], -sign * p[1]))
