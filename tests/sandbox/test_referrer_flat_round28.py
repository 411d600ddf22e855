"""Referrers' `flat=1` rows as Matomo 5 builds them (plugins/Referrers/API.php's `$flat` branches,
the KeywordsFromSearchEngineId / SearchEnginesFromKeywordId filters, core/API/DataTableManipulator/
Flattener.php, and Matomo's own expected outputs test_reportLimiting_flattened__Referrers.*):
getSearchEngines and getKeywords rows carry no segment but the engine's url and logo;
getCampaigns' keyword rows keep their own segment, prefixed once more; getReferrerType is not
flattened; getAll's rows get the Flattener's `Referrers_Referrer` key."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

import pytest
from sandbox_support import recorded_json

_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}
_FAQ = "https://matomo.org/faq/general/faq_144"
_METRICS = ("nb_visits", "nb_actions", "max_actions", "sum_visit_length", "bounce_count")


async def _rows(method: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await recorded_json(
        method=f"Referrers.{method}", filter_limit=-1, **_MONTH, **params
    )
    return rows


async def _engines() -> dict[str, dict[str, Any]]:
    """Each engine's row and, under "keywords", its getKeywordsFromSearchEngineId rows by label."""
    engines = {}
    for row in await _rows("getSearchEngines"):
        sub = await _rows("getKeywordsFromSearchEngineId", idSubtable=row["idsubdatatable"])
        engines[row["label"]] = {**row, "keywords": {k["label"]: k for k in sub}}
    return engines


@pytest.mark.anyio
async def test_search_engines_flat_rows_take_url_and_logo_and_no_segment() -> None:
    """A keyword row: the keyword's backlink as url, the engine's logo, no segment, then the
    two dimension keys; the keyword key is the label KeywordNotDefined gave it."""
    engines = await _engines()
    flat = await _rows("getSearchEngines", flat=1)
    assert len(flat) == sum(len(e["keywords"]) for e in engines.values())
    assert any(row["label"].endswith(" - Keyword not defined") for row in flat)
    for row in flat:
        assert "segment" not in row, row
        assert list(row)[-4:] == ["url", "logo", "Referrers_SearchEngine", "Referrers_Keyword"]
        engine, keyword = row["label"].split(" - ", 1)
        assert row["Referrers_SearchEngine"] == engine
        assert row["Referrers_Keyword"] == keyword
        sub = engines[engine]["keywords"][keyword]
        assert row["url"] == sub["url"]
        assert row["logo"] == engines[engine]["logo"]
        assert [row[k] for k in _METRICS] == [sub[k] for k in _METRICS]


@pytest.mark.anyio
async def test_keywords_flat_rows_take_url_and_logo_and_no_segment() -> None:
    """An engine row under a keyword: url then logo, no segment. The undefined keyword is read
    before KeywordNotDefined runs: label " - <engine>", key "" and Matomo's FAQ link."""
    engines = await _engines()
    flat = await _rows("getKeywords", flat=1)
    assert len(flat) == sum(len(e["keywords"]) for e in engines.values())
    undefined = [row for row in flat if row["label"].startswith(" - ")]
    assert undefined
    for row in flat:
        assert "segment" not in row, row
        assert list(row)[-4:] == ["url", "logo", "Referrers_Keyword", "Referrers_SearchEngine"]
        keyword, engine = row["label"].split(" - ", 1)
        assert row["Referrers_Keyword"] == keyword
        assert row["Referrers_SearchEngine"] == engine
        assert row["logo"] == engines[engine]["logo"]
        sub = engines[engine]["keywords"][keyword or "Keyword not defined"]
        assert row["url"] == sub["url"]
        assert [row[k] for k in _METRICS] == [sub[k] for k in _METRICS]
    for row in undefined:
        assert row["url"] == _FAQ
        assert row["Referrers_Keyword"] == ""


@pytest.mark.anyio
async def test_campaigns_flat_rows_keep_their_own_segment_prefixed_again() -> None:
    """getCampaigns has no `flat` parameter: the Flattener loads each campaign's keywords
    through getKeywordsFromCampaignId (`referrerName==<campaign>;referrerType==campaign;...`),
    and the flat table still runs getCampaigns' queued PrependSegment. Each segment selects
    exactly the row's visits."""
    flat = await _rows("getCampaigns", flat=1)
    assert flat
    for row in flat:
        if "Referrers_Keyword" not in row:  # no keyword archived: the campaign row, as is
            assert (
                row["segment"] == f"referrerType==campaign;referrerName=={quote_plus(row['label'])}"
            )
            assert list(row)[-2:] == ["segment", "Referrers_Campaign"]
            continue
        campaign, keyword = row["label"].split(" - ", 1)
        assert row["segment"] == (
            f"referrerType==campaign;referrerName=={campaign};referrerType==campaign;"
            f"referrerKeyword=={quote_plus(keyword)}"
        )
        assert list(row)[-3:] == ["segment", "Referrers_Campaign", "Referrers_Keyword"]
        assert row["Referrers_Keyword"] == keyword
        summary = await recorded_json(method="VisitsSummary.get", segment=row["segment"], **_MONTH)
        assert summary["nb_visits"] == row["nb_visits"]
    assert any(" " in row["Referrers_Campaign"] for row in flat)  # "spring sale", as is


@pytest.mark.anyio
async def test_referrer_type_flat_only_drops_the_subtables() -> None:
    """GetReferrerType sets supportsFlatten = false: flat=1 runs RemoveSubtables, no Flattener."""
    plain = await _rows("getReferrerType")
    assert any("idsubdatatable" in row for row in plain)
    for params in ({"flat": 1}, {"flat": 1, "expanded": 1}):
        flat = await _rows("getReferrerType", **params)
        assert flat == [{k: v for k, v in row.items() if k != "idsubdatatable"} for row in plain]


@pytest.mark.anyio
async def test_all_flat_rows_end_with_the_referrer_dimension() -> None:
    """getAll's rows have no subtables; the Flattener still adds the label as
    `Referrers_Referrer` (expected test_reportLimiting_flattened__Referrers.getAll_day.xml)."""
    plain = await _rows("getAll")
    flat = await _rows("getAll", flat=1)
    assert flat == [{**row, "Referrers_Referrer": row["label"]} for row in plain]
    assert "Keyword not defined" in {row["Referrers_Referrer"] for row in flat}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "method", ["getReferrerType", "getAll", "getSearchEngines", "getKeywords", "getCampaigns"]
)
async def test_flat_zero_is_the_plain_report(method: str) -> None:
    """Guard: flat=0 answers the plain report."""
    assert await _rows(method, flat=0) == await _rows(method)
