"""Live's date windows, sites and limits as `Live\\Model` reads them (matomo-api-notes.md §4),
where they differ from the report periods: today's date, several periods, several sites."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sandbox_support import api_json, client_for, recorded_config

from matomo_client.sandbox import Sandbox

pytestmark = pytest.mark.anyio

TODAY = date(2026, 11, 29)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """The recorded world's dates."""
    return Sandbox(recorded_config())


async def _ids(sb: Sandbox, **params: Any) -> list[int]:
    async with client_for(sb) as client:
        visits = await api_json(
            client, method="Live.getLastVisitsDetails", doNotFetchActions=1, **params
        )
    return [v["idVisit"] for v in visits]


def _utc(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


async def test_today_s_date_reads_like_today(sandbox: Sandbox) -> None:
    """`date=<today's date>` starts a day early and has no end, as `date=today` does
    (matomo#13659): both answer yesterday's visits too."""
    site = {"idSite": 1, "period": "day", "filter_limit": -1}
    explicit = await _ids(sandbox, date=TODAY.isoformat(), **site)
    keyword = await _ids(sandbox, date="today", **site)
    yesterday = await _ids(sandbox, date=(TODAY - timedelta(days=1)).isoformat(), **site)
    assert explicit == keyword
    assert set(yesterday) < set(explicit)


async def test_today_takes_the_period_of_yesterday() -> None:
    """On the 1st, `period=month&date=today` is the month of yesterday, open-ended: the
    previous month's visits and today's, as `period=range&date=<1st of last month>,today`."""
    first = date(2026, 12, 1)
    sb = Sandbox(recorded_config(today=first))
    month = await _ids(sb, idSite=1, period="month", date="today", filter_limit=-1)
    span = await _ids(sb, idSite=1, period="range", date="2026-11-01,today", filter_limit=-1)
    assert month == span
    assert len(month) > 300


@pytest.mark.parametrize(
    ("period", "date_param", "days"),
    [("week", "last2", "last2"), ("month", "2026-11-18,2026-11-20", "2026-11-18,2026-11-20")],
)
async def test_several_periods_are_one_range_of_days(
    sandbox: Sandbox, period: str, date_param: str, days: str
) -> None:
    """lastN and `A,B` with period week/month read as `new Range('range', $date)`: N days,
    or A to B, not whole weeks or months."""
    several = await _ids(sandbox, idSite=2, period=period, date=date_param, filter_limit=-1)
    as_days = await _ids(sandbox, idSite=2, period="range", date=days, filter_limit=-1)
    assert several == as_days
    assert several


async def test_several_sites_interleave_by_last_action_in_utc_days(sandbox: Sandbox) -> None:
    """idSite=1,2: visits of both sites ordered by (last action, idVisit) together, the day
    taken in UTC (Matomo's default timezone), so a page holds the newest visits of any site."""
    day = date(2026, 11, 20)
    async with client_for(sandbox) as client:
        both = await api_json(
            client, method="Live.getLastVisitsDetails", idSite="1,2", period="day",
            date=day.isoformat(), filter_limit=-1, doNotFetchActions=1,
        )  # fmt: skip
        page = await api_json(
            client, method="Live.getLastVisitsDetails", idSite="1,2", period="day",
            date=day.isoformat(), filter_limit=5, doNotFetchActions=1,
        )  # fmt: skip
    keys = [(v["lastActionTimestamp"], v["idVisit"]) for v in both]
    assert keys == sorted(keys, reverse=True)
    assert page == both[:5]
    lo, hi = _utc(day), _utc(day + timedelta(days=1))
    expected = {
        v["idVisit"]
        for site in (1, 2)
        for d in (day - timedelta(days=1), day, day + timedelta(days=1))
        for v in sandbox.world.visits(site, d)
        if lo <= v["lastActionTimestamp"] <= hi
    }
    assert {v["idVisit"] for v in both} == expected
    assert {v["idSite"] for v in both} == {1, 2}


@pytest.mark.parametrize(
    ("params", "count"),
    [
        ({"filter_limit": 0}, "all"),  # no LIMIT below 1, as -1
        ({"filter_limit": "abc"}, 10),  # getRequestVar('filter_limit', 10, 'int')
        ({"filter_limit": ""}, 10),
        ({"countVisitorsToFetch": "abc"}, "all"),  # (int)'abc' is 0: no LIMIT
        ({"countVisitorsToFetch": "3", "filter_offset": 5}, 3),
    ],
)
async def test_live_limit_rules(sandbox: Sandbox, params: dict[str, Any], count: Any) -> None:
    """Live reads its limit itself: 0 is every visit, a non-integer is 10, and a malformed
    countVisitorsToFetch is not a crash."""
    site = {"idSite": 1, "period": "day", "date": "2026-11-20"}
    everything = await _ids(sandbox, filter_limit=-1, **site)
    got = await _ids(sandbox, **site, **params)
    assert got == (everything if count == "all" else everything[:count])
