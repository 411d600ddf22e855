"""Referrers' subtable rows as Matomo 5 gives them: getKeywordsFromCampaignId's segment as
recorded (103), getSearchEnginesFromKeywordId's from plugins/Referrers/API.php, no keyword row for
a campaign visit without keyword (RecordBuilders/Referrers.php), bare `expanded=1` subtables
(Matomo's expected test_OneVisitorTwoVisits__Referrers.getSearchEngines/getKeywords_day.xml and
test_PiwikTracker_..._alsoTestsCampaignTracking__Referrers.getCampaigns_day.xml), and
getSearchEngines' row metadata in the recorded order (098)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote_plus

import pytest
from sandbox_support import RECORDED, recorded_json

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}
_METADATA = ("segment", "url", "logo")
_GOALS = ("goals", "nb_conversions", "revenue")


async def _rows(method: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await recorded_json(
        method=f"Referrers.{method}", filter_limit=-1, **_MONTH, **params
    )
    return rows


async def _visits(segment: str) -> int:
    summary = await recorded_json(method="VisitsSummary.get", segment=segment, **_MONTH)
    return int(summary["nb_visits"])


def _recorded(name: str) -> list[dict[str, Any]]:
    (path,) = RECORDED.glob(f"{name}*.response.json")
    rows: list[dict[str, Any]] = json.loads(path.read_text())
    return rows


@pytest.mark.anyio
async def test_campaign_keyword_segment_is_in_the_recorded_order() -> None:
    """recorded 103: `referrerName==<campaign>;referrerType==campaign;referrerKeyword==<kw>`,
    the campaign as is (PrependSegment's), the keyword urlencoded. Each selects its visits."""
    recorded = _recorded("103_")[0]["segment"]
    shape = re.compile(r"referrerName==(.*);referrerType==campaign;referrerKeyword==(.*)")
    assert shape.fullmatch(recorded)
    seen = 0
    for campaign in await _rows("getCampaigns"):
        if "idsubdatatable" not in campaign:
            continue
        for row in await _rows("getKeywordsFromCampaignId", idSubtable=campaign["idsubdatatable"]):
            assert row["segment"] == (
                f"referrerName=={campaign['label']};referrerType==campaign;"
                f"referrerKeyword=={quote_plus(row['label'])}"
            )
            assert [k for k in row if k in _METADATA] == ["segment"]
            assert await _visits(row["segment"]) == row["nb_visits"]
            seen += 1
    assert seen


@pytest.mark.anyio
async def test_campaign_visits_without_keyword_have_no_keyword_row() -> None:
    """Matomo archives a campaign's keyword row only for a non-empty keyword: a campaign seen
    only without keyword has no subtable (no idsubdatatable), in every view."""
    campaigns = await _rows("getCampaigns", expanded=1)
    bare = [row for row in campaigns if "idsubdatatable" not in row]
    assert bare  # the sandbox's "retargeting" campaign has no keyword
    for row in bare:
        assert "subtable" not in row
    for row in campaigns:
        keywords = row.get("subtable", [])
        assert "Keyword not defined" not in {k["label"] for k in keywords}
        assert sum(k["nb_visits"] for k in keywords) <= row["nb_visits"]
    flat = await _rows("getCampaigns", flat=1)
    for row in bare:
        (alone,) = [f for f in flat if f["Referrers_Campaign"] == row["label"]]
        assert alone["label"] == row["label"]
        assert "Referrers_Keyword" not in alone


@pytest.mark.anyio
async def test_search_engines_from_keyword_rows_as_matomos_filters_make_them() -> None:
    """getSearchEnginesFromKeywordId: segment `referrerKeyword==<keyword as archived>;
    referrerType==search;referrerName==<engine>`, then the keyword's search link and the
    engine's logo; no goals (conversions are not archived in keyword subtables)."""
    engines = {row["label"]: row for row in await _rows("getSearchEngines")}
    keywords = await _rows("getKeywords")
    assert any(k["label"] == "Keyword not defined" for k in keywords)
    for keyword in keywords:
        raw = "" if keyword["label"] == "Keyword not defined" else keyword["label"]
        rows = await _rows("getSearchEnginesFromKeywordId", idSubtable=keyword["idsubdatatable"])
        assert rows
        for row in rows:
            engine = engines[row["label"]]
            assert list(row)[-3:] == list(_METADATA)
            assert row["segment"] == (
                f"referrerKeyword=={raw};referrerType==search;referrerName=={row['label']}"
            )
            assert row["logo"] == engine["logo"]
            if raw:
                assert row["url"].startswith(engine["url"] + "/")
                assert row["url"].endswith("?q=" + quote_plus(raw))
            else:
                assert row["url"] == "https://matomo.org/faq/general/faq_144"
            assert not set(_GOALS) & set(row)
            assert await _visits(row["segment"]) == row["nb_visits"]


@pytest.mark.anyio
async def test_duckduckgo_search_link_is_its_definitions() -> None:
    """DuckDuckGo's backlink in Matomo's search engine list is `?q={k}`: `http://duckduckgo.com/
    ?q=<keyword>`, not `/search?q=` as Google's."""
    (ddg,) = [row for row in await _rows("getSearchEngines") if row["label"] == "DuckDuckGo"]
    rows = await _rows("getKeywordsFromSearchEngineId", idSubtable=ddg["idsubdatatable"])
    defined = [row for row in rows if row["label"] != "Keyword not defined"]
    assert defined
    for row in defined:
        assert row["url"] == f"http://duckduckgo.com/?q={quote_plus(row['label'])}"


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["getSearchEngines", "getKeywords", "getCampaigns"])
async def test_expanded_subtable_rows_are_bare(method: str) -> None:
    """`expanded=1` subtables are the archived rows: the parent's AddSegmentByLabel, queued
    PrependSegment and url/logo filters do not reach them, nor KeywordNotDefined (getSearchEngines'
    undefined keyword stays ""), and search subtables carry no goals."""
    rows = await _rows(method, expanded=1)
    children = [child for row in rows for child in row.get("subtable", [])]
    assert children
    for child in children:
        assert not set(_METADATA) & set(child), child
        if method != "getCampaigns":
            assert not set(_GOALS) & set(child), child
    if method == "getSearchEngines":
        assert "" in {child["label"] for child in children}
        assert "Keyword not defined" not in {child["label"] for child in children}


@pytest.mark.anyio
async def test_expanded_flat_campaign_rows_copy_their_campaigns_segment() -> None:
    """getCampaigns `flat=1&expanded=1`: the keyword subtables are in memory and bare, so the
    Flattener copies each campaign's segment to its keyword rows (then prefixed, as the campaign's)."""
    campaigns = {row["label"]: row for row in await _rows("getCampaigns")}
    flat = await _rows("getCampaigns", flat=1, expanded=1)
    assert any("Referrers_Keyword" in row for row in flat)
    for row in flat:
        assert row["segment"] == campaigns[row["Referrers_Campaign"]]["segment"]
        assert list(row)[-3 if "Referrers_Keyword" in row else -2] == "segment"


@pytest.mark.anyio
async def test_search_engine_rows_put_segment_before_url_and_logo() -> None:
    """recorded 098: AddSegmentByLabel runs first, the url and logo filters are queued."""
    want = [k for k in _recorded("098_")[0] if k in (*_METADATA, "idsubdatatable")]
    assert want == ["segment", "url", "logo", "idsubdatatable"]
    for params in ({}, {"expanded": 1}):
        for row in await _rows("getSearchEngines", **params):
            assert [k for k in row if k in (*_METADATA, "idsubdatatable")] == want
