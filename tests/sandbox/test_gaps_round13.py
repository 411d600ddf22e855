"""Round 13: sandbox fidelity gaps closed against the recorded Matomo 5.11.2 answers.

Page rows carry PagePerformance's timing columns as Matomo does per table; event sub-rows
segment on their own dimension; Events.getAction/getName; per-goal and ecommerce entries in
API.getReportMetadata; and the configuration methods (goals, custom dimensions, versions).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import pytest
from sandbox_support import (
    TOKEN,
    VIEWER_TOKEN,
    client_for,
    load_case,
    recorded_config,
    shape_mismatches,
)

from matomo_client.sandbox import Sandbox

_PERF = ("network", "server", "transfer", "dom_processing", "dom_completion", "on_load")
_TIMING = frozenset(
    f"{kind}_time_{name}" for name in _PERF for kind in ("nb_hits_with", "min", "max", "avg")
)

_SANDBOX: list[Sandbox] = []


def _sandbox() -> Sandbox:
    if not _SANDBOX:
        _SANDBOX.append(Sandbox(recorded_config(viewers={VIEWER_TOKEN: {2}})))
    return _SANDBOX[0]


async def _post(params: dict[str, Any], token: str = TOKEN) -> Any:
    data = {"module": "API", "format": "JSON", "token_auth": token}
    data.update({k: str(v) for k, v in params.items()})
    async with client_for(_sandbox()) as client:
        response = await client.post("index.php", data=data)
    return response


async def _json(params: dict[str, Any], token: str = TOKEN) -> Any:
    response = await _post(params, token)
    assert response.status_code == 200, response.text[:300]
    return response.json()


async def _replay(number: int) -> tuple[Any, Any]:
    """The recorded body of case `number` and the sandbox's answer to the same request."""
    request, body = load_case(number)
    return json.loads(body), await _json(dict(request["params"]))


def _rows(value: Any) -> list[dict[str, Any]]:
    """Every row of an answer: the rows of each period of a Map, and `subtable` rows."""
    if isinstance(value, dict):
        return [r for v in value.values() for r in _rows(v)]
    out = []
    for row in value:
        out.append(row)
        out.extend(_rows(row.get("subtable", [])))
    return out


def _order_conflicts(recorded: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[str]:
    """Key pairs the sandbox writes in the other order than every recorded row does."""
    before = {(a, b) for r in recorded for i, a in enumerate(r) for b in list(r)[i + 1 :]}
    return sorted(
        f"{b} before {a}"
        for r in actual
        for i, a in enumerate(r)
        for b in list(r)[i + 1 :]
        if (b, a) in before and (a, b) not in before
    )


def _untimed(row: dict[str, Any]) -> bool:
    return row.get("nb_hits_with_time_network") in (0, "0")


# -- page timings ------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("number", [67, 68, 69, 75, 77, 78, 219])
async def test_untimed_page_rows_have_the_timing_columns_as_zeros_and_nulls(number: int) -> None:
    """In a table with timed pages, untimed rows (product, checkout) have the 18 timing columns
    and 6 averages as recorded: count 0 ("0" on days), min/max null, average 0, same order."""
    recorded, actual = await _replay(number)
    rec_untimed = [r for r in _rows(recorded) if _untimed(r)]
    untimed = [r for r in _rows(actual) if _untimed(r)]
    assert rec_untimed
    assert untimed
    for row in untimed:
        assert set(row) >= _TIMING, row["label"]
        for name in _PERF:
            count = row[f"nb_hits_with_time_{name}"]
            assert count == rec_untimed[0][f"nb_hits_with_time_{name}"]
            assert row[f"min_time_{name}"] is None
            assert row[f"max_time_{name}"] is None
            assert row[f"avg_time_{name}"] == 0
    assert _order_conflicts(_rows(recorded), _rows(actual)) == []
    assert shape_mismatches(recorded, actual) == []


@pytest.mark.anyio
@pytest.mark.parametrize("number", [74, 91])
async def test_a_table_without_timings_has_no_timing_columns(number: int) -> None:
    """PagePerformance drops a timing no row of the answered table has: the blog's pages
    (recorded 91) and the shop's product pages picked by filter_pattern (recorded 74)."""
    recorded, actual = await _replay(number)
    assert actual
    for rows in (recorded, actual):
        for row in rows:
            assert not _TIMING & set(row), row["label"]
            assert row["avg_page_load_time"] == 0


@pytest.mark.anyio
async def test_expanded_subtables_keep_the_zero_timings_without_averages() -> None:
    """`expanded=1` (recorded 71): sub-rows have the timing columns, untimed ones as zeros and
    nulls, and never the averages; top-level untimed rows have the averages as 0."""
    recorded, actual = await _replay(71)
    subs = [s for r in actual for s in r.get("subtable", [])]
    assert any(_untimed(s) for s in subs)
    assert any(_untimed(r) for r in actual)
    for row in subs:
        assert {k for k in _TIMING if not k.startswith("avg_")} <= set(row)
        assert not any(k.startswith("avg_time_") and k != "avg_time_on_page" for k in row)
    for row in actual:
        assert set(row) >= _TIMING
    assert shape_mismatches(recorded, actual) == []


@pytest.mark.anyio
async def test_a_subtable_or_a_page_of_untimed_rows_is_one_table() -> None:
    """A subtable asked alone, or a page of rows cut by filter_limit, decides alone: only
    untimed product pages give no timing columns, a mixed folder gives zeros."""
    base = {"method": "Actions.getPageUrls", "idSite": 1, "period": "month", "date": "2026-10-01"}
    folders = await _json(base)
    product = next(r for r in folders if r["label"] == "product")
    assert set(product) >= _TIMING
    assert _untimed(product)
    inside = await _json({**base, "idSubtable": product["idsubdatatable"]})
    assert inside
    assert not any(_TIMING & set(r) for r in inside)
    flat = await _json({**base, "flat": 1, "filter_pattern": "^/product", "filter_limit": 3})
    assert len(flat) == 3
    assert not any(_TIMING & set(r) for r in flat)
    timed = await _json({**base, "flat": 1, "filter_pattern": "^/(product|faq)"})
    assert all(set(r) >= _TIMING for r in timed)


# -- events --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_event_sub_rows_segment_on_their_own_dimension() -> None:
    """Recorded 119: getActionFromCategoryId rows are `eventAction==Play`, not
    `eventCategory==Video;eventAction==Play`; names and expanded sub-rows alike."""
    recorded, actual = await _replay(119)
    for rows in (recorded, actual):
        assert rows
        assert [r["segment"] for r in rows] == [
            f"eventAction=={quote_plus(r['label'])}" for r in rows
        ]
    base = {"idSite": 1, "period": "month", "date": "2026-10-01"}
    categories = await _json({"method": "Events.getCategory", **base, "expanded": 1})
    for method, dimension in [
        ("Events.getActionFromCategoryId", "eventAction"),
        ("Events.getNameFromCategoryId", "eventName"),
    ]:
        for category in categories:
            sub = await _json({"method": method, **base, "idSubtable": category["idsubdatatable"]})
            assert sub
            for row in sub:
                assert row["segment"] == f"{dimension}=={quote_plus(row['label'])}"
    for row in (s for c in categories for s in c["subtable"]):
        assert row["segment"] == f"eventAction=={quote_plus(row['label'])}"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("number", "dimension", "sub_method", "sub_dimension"),
    [
        (121, "eventAction", "Events.getNameFromActionId", "eventName"),
        (122, "eventName", "Events.getActionFromNameId", "eventAction"),
    ],
)
async def test_events_by_action_and_by_name(
    number: int, dimension: str, sub_method: str, sub_dimension: str
) -> None:
    """Events.getAction and getName answer in the recorded shape (121, 122), add up to the
    categories' events, and their subtables are the default secondary dimension."""
    recorded, actual = await _replay(number)
    assert shape_mismatches(recorded, actual) == []
    assert _order_conflicts(recorded, actual) == []
    request, _ = load_case(number)
    base = {k: v for k, v in request["params"].items() if k not in ("method", "module", "format")}
    categories = await _json({"method": "Events.getCategory", **base})
    assert sum(r["nb_events"] for r in actual) == sum(r["nb_events"] for r in categories)
    for row in actual:
        assert row["segment"] == f"{dimension}=={quote_plus(row['label'])}"
        sub = await _json({"method": sub_method, **base, "idSubtable": row["idsubdatatable"]})
        assert sum(r["nb_events"] for r in sub) == row["nb_events"]
        assert all(r["segment"].startswith(f"{sub_dimension}==") for r in sub)
    flat = await _json({"method": request["params"]["method"], **base, "flat": 1})
    assert {r["label"].split(" - ")[0] for r in flat} == {r["label"] for r in actual}
    wrong = await _json({"method": "Events.getAction", **base, "secondaryDimension": "eventAction"})
    assert wrong == {
        "result": "error",
        "message": "Secondary dimension 'eventAction' is not valid for the API getAction. "
        "Use one of: eventName, eventCategory",
    }


# -- API.getReportMetadata -----------------------------------------------------------------


@pytest.mark.anyio
async def test_report_metadata_lists_the_goal_and_ecommerce_reports_as_recorded() -> None:
    """Site 1 (recorded 146): every sandbox entry is the recorded one, in the recorded order,
    now with Goals.get per goal and for orders and carts, and Events.getAction/getName."""
    recorded, actual = await _replay(146)
    by_id = {r["uniqueId"]: r for r in recorded}
    ids = [r["uniqueId"] for r in actual]
    for wanted in [
        "Goals_get_idGoal--1",
        "Goals_get_idGoal--2",
        "Goals_get_idGoal--ecommerceOrder",
        "Goals_get_idGoal--ecommerceAbandonedCart",
        "Events_getAction",
        "Events_getName",
    ]:
        assert wanted in ids
    assert [r for r in actual if by_id[r["uniqueId"]] != r] == []
    assert [i for i in by_id if i in ids] == ids


@pytest.mark.anyio
async def test_report_metadata_follows_each_sites_goals() -> None:
    """The blog lists its one goal's reports and no ecommerce report; the empty site no goal's
    (as recorded 146/181: Goals.get then getDaysToConversion, overall and per goal)."""
    blog = await _json({"method": "API.getReportMetadata", "idSite": 2})
    goals = [r for r in blog if r["module"] == "Goals"]
    assert [(r["uniqueId"], r.get("parameters")) for r in goals] == [
        ("Goals_get", None),
        ("Goals_getDaysToConversion", None),
        ("Goals_get_idGoal--1", {"idGoal": 1}),
        ("Goals_getDaysToConversion_idGoal--1", {"idGoal": 1}),
    ]
    assert goals[2]["name"] == "Goal Read three posts"
    assert "idSite=2&apiModule=Goals&apiAction=get&idGoal=1&" in goals[2]["imageGraphUrl"]
    assert goals[3]["name"] == "Read three posts - Days to Conversion"
    days_graph = "idSite=2&apiModule=Goals&apiAction=getDaysToConversion&idGoal=1&"
    assert days_graph in goals[3]["imageGraphUrl"]
    empty = await _json({"method": "API.getReportMetadata", "idSite": 3})
    assert [r["uniqueId"] for r in empty if r["module"] == "Goals"] == [
        "Goals_get",
        "Goals_getDaysToConversion",
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("id_site", [1, 2, 3])
async def test_every_listed_report_answers(id_site: int) -> None:
    """Each (module, action, parameters) the sandbox lists answers, as `export reports` asks."""
    for meta in await _json({"method": "API.getReportMetadata", "idSite": id_site}):
        params = {
            "method": f"{meta['module']}.{meta['action']}",
            "idSite": id_site,
            "period": "day",
            "date": "2026-11-28",
            **meta.get("parameters", {}),
        }
        value = await _json(params)
        assert not (isinstance(value, dict) and value.get("result") == "error"), (params, value)


@pytest.mark.anyio
async def test_per_goal_entries_answer_the_goals_figures() -> None:
    """Goals.get with a listed idGoal gives that goal's figures (recorded 109's keys)."""
    request, body = load_case(109)
    recorded = json.loads(body)
    actual = await _json(dict(request["params"]))
    assert list(actual) == list(recorded)
    overall = await _json({**request["params"], "idGoal": ""})
    assert 0 < actual["nb_conversions"] < overall["nb_conversions"]


# -- configuration methods -----------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("number", [5, 6, 14, 107, 141])
async def test_configuration_methods_answer_the_recorded_bytes(number: int) -> None:
    """API.getPhpVersion, getIpFromHeader, UsersManager.hasSuperUserAccess, Goals.getGoals and
    CustomDimensions.getConfiguredCustomDimensions answer byte for byte as recorded."""
    request, body = load_case(number)
    response = await _post(dict(request["params"]))
    assert response.status_code == request["status"]
    assert response.content == body


@pytest.mark.anyio
async def test_configuration_methods_follow_access_and_site() -> None:
    """A viewer is no super user and sees its site's goals only; sites without custom
    dimensions have none; anonymous callers get Matomo's refusals."""
    assert await _json({"method": "UsersManager.hasSuperUserAccess"}, VIEWER_TOKEN) == {
        "value": False
    }
    goals = await _json({"method": "Goals.getGoals", "idSite": 2}, VIEWER_TOKEN)
    assert [(g["idsite"], g["idgoal"], g["name"]) for g in goals] == [(2, 1, "Read three posts")]
    refused = await _post({"method": "Goals.getGoals", "idSite": 1}, VIEWER_TOKEN)
    assert refused.status_code == 401
    assert "website id = 1" in refused.json()["message"]
    none = await _json({"method": "CustomDimensions.getConfiguredCustomDimensions", "idSite": 2})
    assert none == []
    anonymous = await _post({"method": "API.getIpFromHeader"}, "anonymous")
    assert anonymous.status_code == 401
    php = await _post({"method": "API.getPhpVersion"}, VIEWER_TOKEN)
    assert php.status_code == 401
