"""API.getReportPagesMetadata, API.getSegmentsMetadata, CustomDimensions.getCustomDimension and
MultiSites.getAll with enhanced=1: the recorded shapes (cases 142, 143, 145, 150, 151, 221) and
answers that agree with the reports, segments and VisitsSummary the sandbox already serves."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sandbox_support import api, client_for, load_case, recorded_json, recorded_sandbox

from matomo_client.sandbox.api import Access

pytestmark = pytest.mark.anyio

_MONTH = {"period": "month", "date": "2026-10-01"}


def _recorded(number: int) -> Any:
    return json.loads(load_case(number)[1])


def _widgets(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every widget, containers' widgets included."""
    out = []
    for w in widgets:
        out.append(w)
        out.extend(_widgets(w.get("widgets", [])))
    return out


# -- API.getReportPagesMetadata ---------------------------------------------------------------


async def test_report_pages_keep_the_recorded_shape_and_order() -> None:
    recorded = {p["uniqueId"]: p for p in _recorded(151)}
    order = list(recorded)
    pages = await recorded_json(method="API.getReportPagesMetadata", idSite=1)
    assert pages
    assert [p["uniqueId"] for p in pages] == sorted((p["uniqueId"] for p in pages), key=order.index)
    for page in pages:
        want = recorded[page["uniqueId"]]
        assert list(page) == list(want)
        assert page["category"] == want["category"]
        assert page["subcategory"] == want["subcategory"]
        recorded_ids = {w["uniqueId"] for w in _widgets(want["widgets"])}
        for w in _widgets(page["widgets"]):
            assert w["uniqueId"] in recorded_ids


async def test_report_pages_list_only_served_reports() -> None:
    for id_site in (1, 2, 3):
        served = {
            f"{r['module']}.{r['action']}"
            for r in await recorded_json(method="API.getReportMetadata", idSite=id_site)
        }
        pages = await recorded_json(method="API.getReportPagesMetadata", idSite=id_site)
        for page in pages:
            assert page["widgets"]
            for w in _widgets(page["widgets"]):
                if w.get("isContainer"):
                    assert w["widgets"]
                    continue
                name = f"{w['module']}.{w['action']}"
                assert name in served or f"{w['module']}.get" in served, name
        ids = [p["uniqueId"] for p in pages]
        site = recorded_sandbox().world.site(id_site)
        assert [i for i in ids if i.startswith("Goals_Goals.") and i[-1].isdigit()] == [
            f"Goals_Goals.{g}" for g, _, _ in sorted(site.goals, key=lambda g: g[1])
        ]
        assert any(i.startswith("Goals_Ecommerce.") for i in ids) == site.ecommerce


async def test_report_pages_goal_page_for_another_sites_goal() -> None:
    (page,) = [
        p
        for p in await recorded_json(method="API.getReportPagesMetadata", idSite=2)
        if p["uniqueId"] == "Goals_Goals.1"
    ]
    text = json.dumps(page)
    assert page["subcategory"]["name"] == "Read three posts"
    assert "Visited contact page" not in text


async def test_report_pages_need_view_access() -> None:
    async with client_for(recorded_sandbox()) as client:
        response = await api(client, method="API.getReportPagesMetadata", idSite=99)
    assert "website id was set to '99'" in response.json()["message"]


# -- API.getSegmentsMetadata ------------------------------------------------------------------


async def test_segments_metadata_recorded_entries_the_engine_accepts() -> None:
    recorded = _recorded(150)
    segments = await recorded_json(method="API.getSegmentsMetadata", idSites="1")
    assert segments == [s for s in recorded if s in segments]  # recorded entries, in order
    listed = {s["segment"] for s in segments}
    assert {"pageUrl", "visitorType", "referrerType", "countryCode", "deviceType"} <= listed
    for s in segments:  # each listed segment filters the reports
        await recorded_json(
            method="VisitsSummary.get", idSite=1, segment=f"{s['segment']}==x", **_MONTH
        )
    for s in recorded:  # and those left out are refused
        if s["segment"] not in listed:
            async with client_for(recorded_sandbox()) as client:
                response = await api(
                    client,
                    method="VisitsSummary.get",
                    idSite=1,
                    segment=f"{s['segment']}==x",
                    **_MONTH,
                )
            assert "is not a supported segment" in response.text


async def test_segments_metadata_refuses_sites_not_viewable() -> None:
    access = Access(superuser=False, sites=frozenset({2}))
    assert recorded_sandbox().api.call({"method": "API.getSegmentsMetadata"}, access)
    with pytest.raises(Exception, match="website id = 1"):
        recorded_sandbox().api.call({"method": "API.getSegmentsMetadata", "idSites": "1"}, access)


# -- CustomDimensions.getCustomDimension ------------------------------------------------------


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    return list(rows[0])


async def test_visit_dimension_shape_and_totals() -> None:
    recorded = _recorded(142)
    rows = await recorded_json(
        method="CustomDimensions.getCustomDimension", idSite=1, idDimension=1, **_MONTH
    )
    assert _keys(rows) == _keys(recorded)
    assert {r["label"] for r in rows} == {"new", "returning"}
    summary = await recorded_json(method="VisitsSummary.get", idSite=1, **_MONTH)
    for key in ("nb_visits", "nb_actions", "bounce_count", "sum_visit_length"):
        assert sum(r[key] for r in rows) == summary[key]
    for row in rows:  # a row's segment gives the row's visits
        kind = "new" if row["label"] == "new" else "returning"
        freq = await recorded_json(method="VisitFrequency.get", idSite=1, **_MONTH)
        assert row["segment"] == f"dimension1=={row['label']}"
        assert row["nb_visits"] == freq[f"nb_visits_{kind}"]
        assert row["avg_time_on_site"] == round(row["sum_visit_length"] / row["nb_visits"])


async def test_action_dimension_shape_and_values_match_live() -> None:
    recorded = _recorded(143)
    rows = await recorded_json(
        method="CustomDimensions.getCustomDimension", idSite=1, idDimension=2, **_MONTH
    )
    want = [k for k in _keys(recorded) if k != "idsubdatatable"]
    assert _keys(rows) == want
    site = recorded_sandbox().world.site(1)
    assert {r["label"] for r in rows} == {p.kind for p in site.pages}
    titles = await recorded_json(
        method="Actions.getPageTitles", idSite=1, filter_limit=-1, **_MONTH
    )
    assert sum(r["nb_hits"] for r in rows) == sum(t["nb_hits"] for t in titles)
    assert sum(r["exit_nb_visits"] for r in rows) == sum(t["exit_nb_visits"] for t in titles)
    summary = await recorded_json(method="VisitsSummary.get", idSite=1, **_MONTH)
    assert max(r["nb_visits"] for r in rows) <= summary["nb_visits"]


async def test_custom_dimension_errors() -> None:
    async with client_for(recorded_sandbox()) as client:
        response = await api(
            client, method="CustomDimensions.getCustomDimension", idSite=1, idDimension=99, **_MONTH
        )
        assert response.json() == _recorded(221)
        response = await api(
            client, method="CustomDimensions.getCustomDimension", idSite=2, idDimension=1, **_MONTH
        )
        assert response.json()["message"] == "Dimension 1 for website 2 does not exist."
        response = await api(
            client, method="CustomDimensions.getCustomDimension", idSite=1, **_MONTH
        )
        assert response.json()["message"] == "Please specify a value for 'idDimension'."


# -- MultiSites.getAll enhanced=1 -------------------------------------------------------------


async def test_multisites_enhanced_adds_goal_and_ecommerce_metrics() -> None:
    plain = await recorded_json(method="MultiSites.getAll", **_MONTH)
    rows = await recorded_json(method="MultiSites.getAll", enhanced=1, **_MONTH)
    recorded_keys = list(_recorded(145)[0])
    by_site = {r["idsite"]: r for r in rows}
    assert set(by_site) == {1, 2, 3}  # enhanced keeps the site without visits
    assert by_site[3]["nb_visits"] == 0
    for row in plain:
        enhanced = by_site[row["idsite"]]
        assert {k: enhanced[k] for k in row} == row
    shop, blog = by_site[1], by_site[2]
    extra = ["nb_conversions", "orders", "ecommerce_revenue"]
    for metric in extra:
        assert f"previous_{metric}" in shop
        assert f"{metric}_evolution_trend" in shop
    assert list(shop) == [
        *recorded_keys[:7],
        *extra,
        *recorded_keys[7:19],
        *(k for m in extra for k in (f"{m}_evolution", f"{m}_evolution_trend")),
        *recorded_keys[19:30],
        *(f"previous_{m}" for m in extra),
        *recorded_keys[30:],
    ]
    assert "orders" not in blog
    assert "previous_orders" not in blog
    assert "nb_conversions" in blog
    goals = await recorded_json(method="Goals.get", idSite=1, **_MONTH)
    before = await recorded_json(method="Goals.get", idSite=1, period="month", date="2026-09-01")
    orders = await recorded_json(method="Goals.get", idSite=1, idGoal="ecommerceOrder", **_MONTH)
    assert shop["nb_conversions"] == goals["nb_conversions"]
    assert shop["previous_nb_conversions"] == before["nb_conversions"]
    assert (shop["orders"], shop["ecommerce_revenue"]) == (
        orders["nb_conversions"],
        orders["revenue"],
    )


async def test_multisites_enhanced_zero_is_off() -> None:
    plain = await recorded_json(method="MultiSites.getAll", **_MONTH)
    assert await recorded_json(method="MultiSites.getAll", enhanced=0, **_MONTH) == plain
