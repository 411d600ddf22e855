"""Referrers' flat rows carry the Flattener's dimension metadata, and VisitTime.getByDayOfWeek
refuses several sites, as Matomo 5 does (core/API/DataTableManipulator/Flattener.php, the
Referrers reports' dimensions, plugins/VisitTime/API.php; flat dimension keys as recorded in
067 and 120)."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_support import api, client_for, recorded_json, recorded_sandbox

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}

# report: its dimension's key, its subtable report's dimension key, the flat label separator
_FLAT_DIMENSIONS = {
    "getWebsites": ("Referrers_Website", "Referrers_WebsitePage", "/"),
    "getSocials": ("Referrers_SocialNetwork", "Referrers_WebsitePage", " - "),
    "getSearchEngines": ("Referrers_SearchEngine", "Referrers_Keyword", " - "),
    "getKeywords": ("Referrers_Keyword", "Referrers_SearchEngine", " - "),
    "getCampaigns": ("Referrers_Campaign", "Referrers_Keyword", " - "),
}


async def _rows(method: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await recorded_json(
        method=f"Referrers.{method}", filter_limit=-1, **_MONTH, **params
    )
    return rows


def _archived(label: str) -> str:
    """The label the Flattener reads: an undefined keyword is archived as ""."""
    return "" if label == "Keyword not defined" else label


@pytest.mark.anyio
@pytest.mark.parametrize("method", sorted(_FLAT_DIMENSIONS))
async def test_flat_rows_carry_both_dimensions_last(method: str) -> None:
    """Each flat row ends with its parent's label under the report's dimension id, then its
    own under the subtable report's; the two labels make the flat label."""
    top, sub, sep = _FLAT_DIMENSIONS[method]
    parents = {row["label"] for row in await _rows(method)}
    flat = await _rows(method, flat=1)
    assert flat
    for row in flat:
        if method == "getCampaigns" and sub not in row:  # a campaign without keyword rows
            assert list(row)[-1] == top, row
            assert row[top] == row["label"] in parents
            continue
        assert list(row)[-2:] == [top, sub], row
        parent, child = row["label"].split(sep, 1)
        # getKeywords' undefined keyword is flattened before it is named (" - Google");
        # getSearchEngines' keywords are named first (test_referrer_flat_round28).
        assert (parent or "Keyword not defined") in parents
        assert row[top] == (_archived(parent) if method == "getCampaigns" else parent)
        assert row[sub] == (_archived(child) if method == "getCampaigns" else child)
    if method in ("getSearchEngines", "getKeywords"):  # an undefined keyword is in each
        undefined = "Keyword not defined" if method == "getSearchEngines" else ""
        assert undefined in {row[top] for row in flat} | {row[sub] for row in flat}


@pytest.mark.anyio
async def test_flat_metadata_keys_are_matomos() -> None:
    """The full metadata of one flat row per report, in Matomo's order: the row's own
    metadata, what it took from its parent, then the dimensions."""
    websites = await _rows("getWebsites", flat=1)
    assert {k for k in websites[0] if not k.startswith(("nb_", "sum_", "max_", "bounce"))} >= {
        "label",
        "url",
    }
    assert list(websites[0])[-3:] == ["url", "Referrers_Website", "Referrers_WebsitePage"]
    assert websites[0]["url"].endswith(websites[0]["Referrers_WebsitePage"])
    socials = await _rows("getSocials", flat=1)
    assert list(socials[0])[-5:] == [
        "url",
        "logo",
        "segment",
        "Referrers_SocialNetwork",
        "Referrers_WebsitePage",
    ]
    assert socials[0]["Referrers_WebsitePage"].startswith("https://")


@pytest.mark.anyio
async def test_unflattened_referrer_rows_have_no_dimension_keys() -> None:
    """Without flat (plain, expanded, a subtable) no row carries a dimension key."""
    keys = {key for spec in _FLAT_DIMENSIONS.values() for key in spec[:2]}
    for method in _FLAT_DIMENSIONS:
        for params in ({}, {"expanded": 1}):
            for row in await _rows(method, **params):
                for r in [row, *row.get("subtable", [])]:
                    assert not keys & set(r), (method, params, r)
    subtable = await _rows("getUrlsFromWebsiteId", idSubtable=1)
    assert subtable
    assert not keys & {k for r in subtable for k in r}


@pytest.mark.anyio
@pytest.mark.parametrize("id_site", ["1,2", "all", "2,1,2"])
async def test_day_of_week_refuses_several_sites(id_site: str) -> None:
    async with client_for(recorded_sandbox()) as client:
        response = await api(
            client,
            method="VisitTime.getByDayOfWeek",
            idSite=id_site,
            period="month",
            date="2026-10-01",
        )
    assert response.json() == {
        "result": "error",
        "message": "VisitTime.getByDayOfWeek does not support multiple sites.",
    }


@pytest.mark.anyio
async def test_day_of_week_checks_dates_before_sites() -> None:
    async with client_for(recorded_sandbox()) as client:
        response = await api(
            client,
            method="VisitTime.getByDayOfWeek",
            idSite="1,2",
            period="day",
            date="last3",
        )
        single = await api(
            client,
            method="VisitTime.getByDayOfWeek",
            idSite="1,1",
            period="month",
            date="2026-10-01",
        )
    assert response.json()["message"] == (
        "VisitTime.getByDayOfWeek does not support multiple dates."
    )
    rows = single.json()
    assert isinstance(rows, list)
    assert len(rows) == 7
    assert rows[0]["label"] == "Monday"


# -- hideColumns / showColumns on a plain list answer (ResponseBuilder::handleArray) -----------
async def _sites(**params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await recorded_json(
        method="SitesManager.getSitesWithAtLeastViewAccess", **params
    )
    return rows


@pytest.mark.anyio
async def test_site_list_hide_and_show_columns() -> None:
    """Every key of a site row is a column: hidden ones go, showColumns keeps those named
    (in the row's order); applied after the limit."""
    sites = await _sites()
    assert len(sites) > 1
    hidden = await _sites(hideColumns="main_url,ts_created,nothing")
    assert hidden == [
        {k: v for k, v in s.items() if k not in ("main_url", "ts_created")} for s in sites
    ]
    shown = await _sites(showColumns="name,idsite")
    assert shown == [{"idsite": s["idsite"], "name": s["name"]} for s in sites]
    limited = await _sites(showColumns="currency", filter_limit=1, filter_offset=1)
    assert limited == [{"currency": sites[1]["currency"]}]


@pytest.mark.anyio
async def test_site_list_column_lists_as_written() -> None:
    """Only an empty list is no list: `0` names a column (none), names are not trimmed."""
    sites = await _sites()
    assert await _sites(hideColumns="") == sites
    assert await _sites(hideColumns="0") == sites
    assert await _sites(hideColumns=" name") == sites
    assert await _sites(showColumns="") == sites
