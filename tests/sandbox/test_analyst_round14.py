"""Round 14 (analyst): reports an analyst recounts from the raw visits, as Matomo archives them.

* Goals.get without `idGoal`: `nb_visits_converted` is VisitsSummary's (each converted visit
  once, however many goals it converted), and the conversion rates follow it (recorded 108
  and 019: 147 conversions, 125 visits converted, "20.7%" of 604 visits);
* Actions.get `nb_keywords`: the distinct site search keywords of the period (Matomo counts
  the rows of its keyword table), not a stand-in.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sandbox_support import get_all, load_case, recorded_config

from matomo_client.sandbox import Sandbox

DAYS = [date(2026, 11, 16) + timedelta(days=i) for i in range(7)]
WEEK = "2026-11-16"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """Enough traffic for visits that convert several goals on one day."""
    return Sandbox(recorded_config(visits_per_day=120))


_get = get_all


async def _visits(sb: Sandbox, id_site: int, day: date) -> list[dict[str, Any]]:
    visits: list[dict[str, Any]] = await _get(
        sb, method="Live.getLastVisitsDetails", idSite=id_site, period="day", date=day.isoformat()
    )
    return visits


def _converted(visit: dict[str, Any]) -> bool:
    return any(a["type"] in ("goal", "ecommerceOrder") for a in visit["actionDetails"])


def _rate(part: int, whole: int) -> float:
    return round(part / whole * 100, 2) if whole else 0.0


def test_recorded_goals_get_takes_visitssummarys_converted_visits() -> None:
    """The fact the fix rests on: Matomo's overall Goals.get is not a sum over goals."""
    goals = json.loads(load_case(108)[1])
    summary = json.loads(load_case(19)[1])
    assert goals["nb_conversions"] > goals["nb_visits_converted"]
    assert goals["nb_visits_converted"] == summary["nb_visits_converted"]
    assert goals["conversion_rate"] == f"{_rate(125, summary['nb_visits']):g}%"


@pytest.mark.anyio
@pytest.mark.parametrize("id_site", [1, 2])
async def test_goals_get_counts_each_converted_visit_once(sandbox: Sandbox, id_site: int) -> None:
    several = 0
    week = {"": [0, 0], "_new_visit": [0, 0], "_returning_visit": [0, 0]}
    for day in DAYS:
        visits = await _visits(sandbox, id_site, day)
        got = await _get(
            sandbox, method="Goals.get", idSite=id_site, period="day", date=day.isoformat()
        )
        summary = await _get(
            sandbox, method="VisitsSummary.get", idSite=id_site, period="day", date=day.isoformat()
        )
        assert got["nb_visits_converted"] == summary["nb_visits_converted"]
        for suffix, keep in (
            ("", lambda v: True),
            ("_new_visit", lambda v: v["visitorType"] == "new"),
            ("_returning_visit", lambda v: v["visitorType"] != "new"),  # returningCustomer too
        ):
            mine = [v for v in visits if keep(v)]
            converted = sum(1 for v in mine if _converted(v))
            assert got["nb_visits_converted" + suffix] == converted, (day, suffix)
            rate = float(got["conversion_rate" + suffix].rstrip("%"))
            assert rate == _rate(converted, len(mine)), (day, suffix)
            week[suffix][0] += converted
            week[suffix][1] += len(mine)
        several += got["nb_conversions"] > got["nb_visits_converted"]
    if id_site == 1:
        assert several  # some visits converted more than one goal: the case that differed
    got = await _get(sandbox, method="Goals.get", idSite=id_site, period="week", date=WEEK)
    for suffix, (converted, n) in week.items():
        assert got["nb_visits_converted" + suffix] == converted
        assert float(got["conversion_rate" + suffix].rstrip("%")) == _rate(converted, n)


@pytest.mark.anyio
async def test_per_goal_figures_still_count_that_goals_visits(sandbox: Sandbox) -> None:
    day = DAYS[0]
    visits = await _visits(sandbox, 1, day)
    for id_goal, kind in (("1", "goal"), ("2", "goal"), ("ecommerceOrder", "ecommerceOrder")):
        got = await _get(
            sandbox,
            method="Goals.get",
            idSite=1,
            period="day",
            date=day.isoformat(),
            idGoal=id_goal,
        )
        hits = [
            v
            for v in visits
            if any(
                a["type"] == kind and (kind != "goal" or str(a["goalId"]) == id_goal)
                for a in v["actionDetails"]
            )
        ]
        assert got["nb_visits_converted"] == len(hits)


@pytest.mark.anyio
@pytest.mark.parametrize("id_site", [1, 2])
async def test_actions_get_counts_distinct_site_search_keywords(
    sandbox: Sandbox, id_site: int
) -> None:
    # searches on their own day (Live's `timestamp` is the site's wall clock), as Matomo
    # counts actions; the next day's visits may have begun before midnight
    by_day: dict[date, list[str]] = {day: [] for day in DAYS}
    for day in [*DAYS, DAYS[-1] + timedelta(days=1)]:
        for v in await _visits(sandbox, id_site, day):
            for a in v["actionDetails"]:
                own = datetime.fromtimestamp(a["timestamp"], timezone.utc).date()
                if a["type"] == "search" and own in by_day:
                    by_day[own].append(a["siteSearchKeyword"])
    over_week: set[str] = set()
    searches = 0
    for day in DAYS:
        keywords = set(by_day[day])
        searches += len(by_day[day])
        over_week |= keywords
        got = await _get(
            sandbox, method="Actions.get", idSite=id_site, period="day", date=day.isoformat()
        )
        assert got["nb_keywords"] == len(keywords), day
    got = await _get(sandbox, method="Actions.get", idSite=id_site, period="week", date=WEEK)
    assert (got["nb_searches"], got["nb_keywords"]) == (searches, len(over_week))


@pytest.mark.anyio
async def test_few_searches_give_few_keywords() -> None:
    """A day with one search has one keyword (the old stand-in said min(searches, 8))."""
    sb = Sandbox(recorded_config(visits_per_day=12))
    for day in DAYS:
        visits = await _visits(sb, 1, day)
        keywords = {
            a["siteSearchKeyword"]
            for v in visits
            for a in v["actionDetails"]
            if a["type"] == "search"
        }
        got = await _get(sb, method="Actions.get", idSite=1, period="day", date=day.isoformat())
        assert got["nb_keywords"] == len(keywords) <= got["nb_searches"]


@pytest.mark.anyio
async def test_a_search_engines_undefined_keyword_links_the_faq(sandbox: Sandbox) -> None:
    """Recorded 099: the row has Matomo's FAQ link and no segment, also when flattened."""
    recorded = json.loads(load_case(99)[1])
    (want,) = [r for r in recorded if r["label"] == "Keyword not defined"]
    engines = await _get(
        sandbox, method="Referrers.getSearchEngines", idSite=1, period="month", date="2026-10-01"
    )
    seen = 0
    for engine in engines:
        rows = await _get(
            sandbox,
            method="Referrers.getKeywordsFromSearchEngineId",
            idSite=1,
            period="month",
            date="2026-10-01",
            idSubtable=engine["idsubdatatable"],
        )
        for row in rows:
            if row["label"] == "Keyword not defined":
                seen += 1
                assert list(row) == list(want)
                assert row["url"] == want["url"]
    assert seen
    flat = await _get(
        sandbox,
        method="Referrers.getSearchEngines",
        idSite=1,
        period="month",
        date="2026-10-01",
        flat=1,
    )
    undefined = [r for r in flat if r["label"].endswith(" - Keyword not defined")]
    assert undefined
    assert all(r["url"] == want["url"] for r in undefined)
