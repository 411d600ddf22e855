"""getProcessedReport's totals with `label`, getRowEvolution's `a>b` labels, and `hideColumns` /
`showColumns` on report rows, as Matomo 5 has them (core/API/DataTablePostProcessor.php: the
ReportTotalsCalculator first, ColumnDelete, then LabelFilter; core/DataTable/Filter/
ColumnDelete.php; plugins/API/RowEvolution.php loadRowEvolutionDataFromAPI)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from sandbox_support import TOKEN, client_for, recorded_json, recorded_sandbox

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}
_DAYS = {"idSite": 1, "period": "day", "date": "2026-10-01,2026-10-06"}
_PROCESSED = {"method": "API.getProcessedReport", "showTimer": 0}
_METADATA = {"segment", "referrer_type", "url", "logo", "code", "idsubdatatable", "subtable"}


async def _rows(**params: Any) -> Any:
    return await recorded_json(**{**_MONTH, **params})


async def _pairs(client: httpx.AsyncClient, pairs: list[tuple[str, str]]) -> Any:
    """POST with repeated keys (`label[]`), as PHP clients send arrays."""
    body = [("module", "API"), ("format", "JSON"), ("token_auth", TOKEN), *pairs]
    response = await client.post(
        "index.php",
        content=urlencode(body),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    return response.json()


# -- API.getProcessedReport: reportTotal is the whole report's -------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("action", "label"),
    [("getWebsites", "medium.com"), ("getWebsites", "nothing-of-the-kind"), ("getSocials", "")],
)
async def test_processed_report_total_ignores_the_label(action: str, label: str) -> None:
    """The totals are summed before LabelFilter narrows the table (its empty clone keeps them):
    with a label they are the whole report's, the labelled row being only part of them."""
    base = {**_PROCESSED, "apiModule": "Referrers", "apiAction": action}
    whole = await _rows(**base)
    rows = await _rows(method=f"Referrers.{action}", filter_limit=-1)
    label = label or rows[-1]["label"]
    labelled = await _rows(**base, label=label)
    assert labelled["reportTotal"] == whole["reportTotal"]
    assert whole["reportTotal"]["nb_visits"] == sum(r["nb_visits"] for r in rows)
    expected = [r for r in whole["reportData"] if r["label"] == label]
    assert labelled["reportData"] == expected
    if expected:  # the row is a part of the total, not all of it
        assert expected[0]["nb_visits"] < labelled["reportTotal"]["nb_visits"]


@pytest.mark.anyio
async def test_processed_report_total_with_label_over_several_periods() -> None:
    base = {**_PROCESSED, **_DAYS, "apiModule": "Referrers", "apiAction": "getReferrerType"}
    whole = await recorded_json(**base)
    labelled = await recorded_json(**base, label="Websites")
    assert labelled["reportTotal"] == whole["reportTotal"]
    for day, rows in labelled["reportData"].items():
        assert [r["label"] for r in rows] in ([], ["Websites"]), day


# -- API.getRowEvolution: `a>b` as LabelFilter finds it ---------------------------------------
async def _child_label(method: str, sub_method: str) -> tuple[str, str]:
    """A parent label and the label of one row of its subtable method's table."""
    parents = await _rows(method=method, filter_limit=-1)
    parent = next(r for r in parents if r.get("idsubdatatable") is not None)
    children = await _rows(method=sub_method, idSubtable=parent["idsubdatatable"])
    return parent["label"], children[0]["label"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("action", "sub_action"),
    [("getWebsites", "getUrlsFromWebsiteId"), ("getSocials", "getUrlsForSocial")],
)
async def test_row_evolution_descends_through_the_subtable_method(
    action: str, sub_action: str
) -> None:
    """`host>path` (websites) and `network>url without protocol` (socials): each period's row is
    the one the report call with that label gives (RowEvolution asks the report with `label[]`)."""
    parent, child = await _child_label(f"Referrers.{action}", f"Referrers.{sub_action}")
    label = f"{parent}>{child}"
    evolution = await recorded_json(
        method="API.getRowEvolution", apiModule="Referrers", apiAction=action, label=label, **_DAYS
    )
    per_day = await recorded_json(method=f"Referrers.{action}", label=label, **_DAYS)
    assert any(per_day.values())
    for day, rows in evolution["reportData"].items():
        assert len(rows) == len(per_day[day]), day
        for row, expected in zip(rows, per_day[day], strict=True):
            assert row["nb_visits"] == expected["nb_visits"]
            assert row["nb_actions"] == expected["nb_actions"]
    assert evolution["metadata"]["metrics"]["nb_visits"].get("max", 0) > 0


@pytest.mark.anyio
async def test_row_evolution_several_labels_with_a_path_and_an_encoded_one() -> None:
    parent, child = await _child_label("Referrers.getWebsites", "Referrers.getUrlsFromWebsiteId")
    labels = [f"{parent}>{child}", quote(parent, safe=""), "no-such-site"]
    async with client_for(recorded_sandbox()) as client:
        pairs = [(k, str(v)) for k, v in _DAYS.items()]
        pairs += [("method", "API.getRowEvolution"), ("apiModule", "Referrers")]
        pairs += [("apiAction", "getWebsites"), ("column", "nb_visits")]
        evolution = await _pairs(client, pairs + [("label[]", label) for label in labels])
    paths = await recorded_json(method="Referrers.getWebsites", label=labels[0], **_DAYS)
    hosts = await recorded_json(method="Referrers.getWebsites", label=parent, **_DAYS)
    for day, (values,) in evolution["reportData"].items():
        assert values["nb_visits_0"] == sum(r["nb_visits"] for r in paths[day])
        assert values["nb_visits_1"] == sum(r["nb_visits"] for r in hosts[day])
        assert values["nb_visits_2"] == 0
    assert sum(v[0]["nb_visits_0"] for v in evolution["reportData"].values()) > 0


# -- hideColumns / showColumns: Matomo's ColumnDelete on report rows ---------------------------
def _walk(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        out.append(row)
        out.extend(_walk(row.get("subtable", [])))
    return out


@pytest.mark.anyio
async def test_hide_columns_removes_columns_not_metadata() -> None:
    """`hideColumns` removes the named columns (`goals`, a metric, even `label`); metadata such
    as `segment` and `idsubdatatable` stay whatever is named."""
    base = {"method": "Referrers.getReferrerType", "expanded": 1}
    full = await _rows(**base)
    hidden = await _rows(**base, hideColumns="goals,nb_visits,segment,idsubdatatable,label")
    assert len(full) == len(hidden)
    for before, after in zip(_walk(full), _walk(hidden), strict=True):
        dropped = {"goals", "nb_visits", "label", "subtable"}
        assert {k: v for k, v in after.items() if k != "subtable"} == {
            k: v for k, v in before.items() if k not in dropped
        }
    assert any("goals" in r for r in _walk(full))
    assert any("subtable" in r for r in hidden)
    assert all("segment" in r for r in hidden)


@pytest.mark.anyio
async def test_show_columns_keeps_label_named_columns_and_metadata() -> None:
    base = {"method": "Referrers.getReferrerType", "expanded": 1}
    full = await _rows(**base)
    shown = await _rows(**base, showColumns="nb_visits,revenue")
    for before, after in zip(_walk(full), _walk(shown), strict=True):
        keep = {"label", "nb_visits", "revenue", *_METADATA}
        assert after.keys() == {k for k in before if k in keep}
        assert after["nb_visits"] == before["nb_visits"]


@pytest.mark.anyio
async def test_column_lists_are_taken_as_written() -> None:
    """No trimming (`" nb_actions"` names nothing); `0` or empty is no list at all."""
    full = await _rows(method="UserCountry.getCountry")
    assert await _rows(method="UserCountry.getCountry", hideColumns="0") == full
    assert await _rows(method="UserCountry.getCountry", showColumns="") == full
    spaced = await _rows(method="UserCountry.getCountry", hideColumns="nb_visits, nb_actions")
    assert all("nb_visits" not in r and "nb_actions" in r for r in spaced)


@pytest.mark.anyio
async def test_hide_columns_recursively_reaches_into_goals() -> None:
    base = {"method": "Referrers.getReferrerType"}
    plain = await _rows(**base, hideColumns="nb_conversions")
    deep = await _rows(**base, hideColumns="nb_conversions", hideColumnsRecursively=1)
    with_goals = [r for r in plain if r.get("goals")]
    assert with_goals
    assert any("nb_conversions" in g for r in with_goals for g in r["goals"].values())
    for row in deep:
        assert "nb_conversions" not in row
        assert all("nb_conversions" not in g for g in row.get("goals", {}).values())


@pytest.mark.anyio
async def test_show_columns_on_flat_rows_keeps_their_dimension_metadata() -> None:
    rows = await _rows(method="Actions.getPageUrls", flat=1, showColumns="nb_hits")
    assert rows
    for row in rows:
        assert set(row) == {"label", "nb_hits", "url", "segment", "Actions_PageUrl"}


@pytest.mark.anyio
async def test_columns_on_custom_dimension_and_label_descent() -> None:
    """The subtable a label descends into is loaded with the same column lists."""
    dims = await _rows(method="CustomDimensions.getCustomDimension", idDimension=1)
    assert dims
    shown = await _rows(
        method="CustomDimensions.getCustomDimension", idDimension=1, showColumns="nb_visits"
    )
    assert [set(r) - _METADATA for r in shown] == [{"label", "nb_visits"}] * len(dims)
    parent, child = await _child_label("Referrers.getWebsites", "Referrers.getUrlsFromWebsiteId")
    found = await _rows(
        method="Referrers.getWebsites", label=f"{parent}>{child}", showColumns="nb_actions"
    )
    assert [set(r) - _METADATA for r in found] == [{"label", "nb_actions"}]


# -- label on VisitTime.getByDayOfWeek and MultiSites.getAll -----------------------------------
@pytest.mark.anyio
async def test_label_on_day_of_week_past_the_limit() -> None:
    week = await _rows(method="VisitTime.getByDayOfWeek")
    assert [r["label"] for r in week][-1] == "Sunday"
    found = await _rows(method="VisitTime.getByDayOfWeek", label="Sunday", filter_limit=1)
    assert found == [week[-1]]
    assert await _rows(method="VisitTime.getByDayOfWeek", label="Sun") == []
    shown = await _rows(method="VisitTime.getByDayOfWeek", showColumns="nb_visits")
    assert shown == [
        {"label": r["label"], "nb_visits": r["nb_visits"], "day_of_week": r["day_of_week"]}
        for r in week
    ]


@pytest.mark.anyio
async def test_label_on_multi_sites_is_the_site_name() -> None:
    sites = await recorded_json(method="MultiSites.getAll", period="month", date="2026-10-01")
    assert len(sites) > 1
    last = sites[-1]
    found = await recorded_json(
        method="MultiSites.getAll",
        period="month",
        date="2026-10-01",
        label=last["label"],
        filter_limit=1,
    )
    assert found == [last]
    hidden = await recorded_json(
        method="MultiSites.getAll", period="month", date="2026-10-01", hideColumns="nb_visits"
    )
    assert [r.get("nb_visits") for r in hidden] == [None] * len(sites)
    assert [r["idsite"] for r in hidden] == [r["idsite"] for r in sites]


@pytest.mark.anyio
async def test_live_still_hides_recursively_by_default() -> None:
    visits = await recorded_json(
        method="Live.getLastVisitsDetails",
        idSite=1,
        period="day",
        date="2026-10-02",
        filter_limit=3,
        hideColumns="url",
    )
    assert visits
    for visit in visits:
        assert all("url" not in action for action in visit["actionDetails"])
