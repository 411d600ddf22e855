"""Consistency: reports add up to the raw visits Live returns, for every period kind."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sandbox_support import api_json, client_for, recorded_config

from matomo_client.sandbox import Sandbox

TODAY = date(2026, 11, 29)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """A sandbox with enough traffic per day to make sums meaningful."""
    return Sandbox(recorded_config(visits_per_day=40))


def _days(seed: int, n: int) -> list[date]:
    rng = random.Random(seed)
    return sorted({TODAY - timedelta(days=rng.randrange(1, 60)) for _ in range(n)})


@pytest.mark.anyio
@pytest.mark.parametrize("id_site", [1, 2])
async def test_live_visits_of_a_day_equal_visits_summary(sandbox: Sandbox, id_site: int) -> None:
    """For random past days, Live with filter_limit=-1 returns nb_visits visits, each once."""
    async with client_for(sandbox) as client:
        for day in _days(id_site, 6):
            visits = await api_json(
                client, method="Live.getLastVisitsDetails", idSite=id_site, period="day",
                date=day.isoformat(), filter_limit=-1, doNotFetchActions=1,
            )  # fmt: skip
            summary = await api_json(
                client,
                method="VisitsSummary.get",
                idSite=id_site,
                period="day",
                date=day.isoformat(),
            )
            ids = [v["idVisit"] for v in visits]
            assert len(ids) == len(set(ids)) == summary["nb_visits"] > 0
            assert sum(v["actions"] for v in visits) == summary["nb_actions"]
            assert sum(v["visitDuration"] for v in visits) == summary["sum_visit_length"]
            assert sum(1 for v in visits if v["actions"] == 1) == summary["bounce_count"]
            assert len({v["visitorId"] for v in visits}) == summary["nb_uniq_visitors"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("period", "date_param", "first", "last"),
    [
        ("week", "2026-11-18", date(2026, 11, 16), date(2026, 11, 22)),
        ("month", "2026-10-01", date(2026, 10, 1), date(2026, 10, 31)),
        ("range", "2026-10-05,2026-11-10", date(2026, 10, 5), date(2026, 11, 10)),
        ("year", "2026-06-01", date(2026, 9, 30), TODAY),
    ],
)
async def test_period_reports_are_sums_of_days(
    sandbox: Sandbox, period: str, date_param: str, first: date, last: date
) -> None:
    """VisitsSummary for a week, month, range or year equals the sum of its days."""
    async with client_for(sandbox) as client:
        for id_site in (1, 2):
            whole = await api_json(
                client, method="VisitsSummary.get", idSite=id_site, period=period, date=date_param
            )
            days = await api_json(
                client, method="VisitsSummary.get", idSite=id_site, period="day",
                date=f"{first.isoformat()},{last.isoformat()}",
            )  # fmt: skip
            filled = [d for d in days.values() if d]
            for metric in ("nb_visits", "nb_actions", "bounce_count", "sum_visit_length"):
                assert whole[metric] == sum(d[metric] for d in filled)
            assert whole["max_actions"] == max(d["max_actions"] for d in filled)


@pytest.mark.anyio
async def test_page_url_hits_equal_pageviews_in_the_visits(sandbox: Sandbox) -> None:
    """Flat page URL hits per URL equal the pageviews of that URL in the week's visits."""
    async with client_for(sandbox) as client:
        rows = await api_json(
            client, method="Actions.getPageUrls", idSite=1, period="week", date="2026-11-18",
            flat=1, filter_limit=-1,
        )  # fmt: skip
        visits = await api_json(
            client, method="Live.getLastVisitsDetails", idSite=1, period="range",
            date="2026-11-16,2026-11-22", filter_limit=-1,
        )  # fmt: skip
    counted: dict[str, int] = {}
    for visit in visits:
        for action in visit["actionDetails"]:
            if action["type"] == "action":
                counted[action["url"]] = counted.get(action["url"], 0) + 1
    assert {r["url"]: r["nb_hits"] for r in rows} == counted
    assert sum(counted.values()) > 0


@pytest.mark.anyio
async def test_referrer_types_add_up_to_visits(sandbox: Sandbox) -> None:
    """Referrer type rows cover every visit of the period, with Live's referrer types."""
    async with client_for(sandbox) as client:
        rows = await api_json(
            client, method="Referrers.getReferrerType", idSite=2, period="day", date="2026-11-20"
        )
        visits = await api_json(
            client, method="Live.getLastVisitsDetails", idSite=2, period="day", date="2026-11-20",
            filter_limit=-1, doNotFetchActions=1,
        )  # fmt: skip
    by_type: dict[str, int] = {}
    for visit in visits:
        by_type[visit["referrerTypeName"]] = by_type.get(visit["referrerTypeName"], 0) + 1
    assert {r["label"]: r["nb_visits"] for r in rows} == by_type


@pytest.mark.anyio
async def test_world_visits_match_live(sandbox: Sandbox) -> None:
    """`sb.world.visits(site, day)` is what Live returns for that day (as a set, by idVisit)."""
    day = date(2026, 11, 3)
    async with client_for(sandbox) as client:
        visits = await api_json(
            client, method="Live.getLastVisitsDetails", idSite=2, period="day",
            date=day.isoformat(), filter_limit=-1,
        )  # fmt: skip
    expected = {v["idVisit"]: v for v in sandbox.world.visits(2, day)}
    assert {v["idVisit"]: v for v in visits} == expected


@pytest.mark.anyio
async def test_a_segment_value_reads_plus_as_a_space(sandbox: Sandbox) -> None:
    """As Matomo urldecode()s segment values, `+` and `%20` mean a space alike: the segment a
    keyword report gives (`referrerKeyword==buy+merino+socks`) finds that keyword's visits."""
    month = {"idSite": 1, "period": "month", "date": "2026-10-01"}
    async with client_for(sandbox) as client:
        keywords = await api_json(client, method="Referrers.getKeywords", **month)
        label = next(
            r["label"]
            for r in keywords
            if " " in r["label"] and r["label"] != "Keyword not defined"
        )
        counts = [
            (await api_json(client, method="VisitsSummary.get", segment=s, **month))["nb_visits"]
            for s in (
                "referrerKeyword==" + label.replace(" ", "+"),
                "referrerKeyword==" + label.replace(" ", "%20"),
            )
        ]
    assert counts[0] == counts[1] > 0


@pytest.mark.anyio
async def test_every_keyword_row_s_segment_finds_its_visits(sandbox: Sandbox) -> None:
    """Drilling down from Referrers.getKeywords works, "Keyword not defined" (an empty
    `referrerKeyword==`) included: each row's segment counts that row's visits."""
    month = {"idSite": 1, "period": "month", "date": "2026-10-01"}
    async with client_for(sandbox) as client:
        rows = await api_json(client, method="Referrers.getKeywords", **month)
        assert any(r["label"] == "Keyword not defined" for r in rows)
        for row in rows:
            summary = await api_json(
                client, method="VisitsSummary.get", segment=row["segment"], **month
            )
            assert summary["nb_visits"] == row["nb_visits"], row["label"]
