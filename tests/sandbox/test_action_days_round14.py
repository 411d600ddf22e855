"""Round 14 (sandboxdays): actions and conversions count on their own day, as Matomo archives.

Matomo's Actions and Events archivers select `log_link_visit_action.server_time` within the
day (page time spent too: `time_spent_ref_action` sits on the next action), its Goals
archiver `log_conversion.server_time`; VisitsSummary, the visit tables and entry and exit
pages select `log_visit.visit_last_action_time`. A visit begun before the site's midnight
puts its early actions on the day before. Recounted here from the sandbox's own Live visits,
whose action `timestamp` is the UTC instant shifted by the site's offset (Berlin: summer
time ends on 2026-10-25).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sandbox_support import api_json, client_for, recorded_config

from matomo_client.sandbox import Sandbox
from matomo_client.sandbox.aggregates import FactsCache, facts_for
from matomo_client.sandbox.records import PAGE, local_midnight
from matomo_client.sandbox.world import World

FIRST, LAST = date(2026, 10, 20), date(2026, 10, 29)
RANGE = f"{FIRST},{LAST}"
ZONES = {1: ZoneInfo("UTC"), 2: ZoneInfo("Europe/Berlin")}
TOTALS = {
    "action": "nb_pageviews",
    "download": "nb_downloads",
    "outlink": "nb_outlinks",
    "search": "nb_searches",
    "event": "nb_events",
}
CONVERSIONS = ("goal", "ecommerceOrder")


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """Enough traffic for several visits a day across the sites' midnights."""
    return Sandbox(recorded_config(visits_per_day=300))


def _instants(visit: dict[str, Any], zone: ZoneInfo) -> list[int]:
    """The UTC instants of a Live visit's action `timestamp`s (each shifted by the offset it
    had then): the first reading not before the previous action (gaps are minutes, so the
    hour repeated in autumn is told apart)."""
    out: list[int] = []
    previous = visit["firstActionTimestamp"]
    for a in visit["actionDetails"]:
        readings = sorted(
            a["timestamp"] - offset
            for offset in (0, 3600, 7200)
            if datetime.fromtimestamp(a["timestamp"] - offset, zone).utcoffset()
            == timedelta(seconds=offset)
        )
        previous = next(t for t in readings if t >= previous)
        out.append(previous)
    assert out[-1] == visit["lastActionTimestamp"]
    return out


class _Recount:
    """The Live visits of the range (and a day either side) recounted by each action's day."""

    def __init__(self) -> None:
        self.counts: defaultdict[date, Counter[str]] = defaultdict(Counter)
        self.page_visits: defaultdict[date, set[tuple[int, str]]] = defaultdict(set)
        self.time_spent: Counter[date] = Counter()
        self.visits: Counter[date] = Counter()
        self.across = 0  # visits with actions on two days

    def add(self, visit: dict[str, Any], zone: ZoneInfo) -> None:
        self.visits[datetime.fromtimestamp(visit["lastActionTimestamp"], zone).date()] += 1
        actions = list(zip(_instants(visit, zone), visit["actionDetails"], strict=True))
        days = [datetime.fromtimestamp(ts, zone).date() for ts, _ in actions]
        self.across += days[0] != days[-1]
        for i, ((ts, a), own) in enumerate(zip(actions, days, strict=True)):
            kind = a["type"]
            self.counts[own][kind] += 1
            if kind != "action":
                continue
            self.page_visits[own].add((visit["idVisit"], a["url"]))
            later = [(t, d) for (t, _), d in zip(actions[i + 1 :], days[i + 1 :], strict=True)]
            later = [(t, d) for t, d in later if t > ts]
            if later:  # counted on the day of the next action (`time_spent_ref_action`)
                self.time_spent[later[0][1]] += later[0][0] - ts


async def _recount(sb: Sandbox, id_site: int) -> _Recount:
    recount = _Recount()
    async with client_for(sb) as client:
        visits = await api_json(
            client,
            method="Live.getLastVisitsDetails",
            idSite=id_site,
            period="day",
            date=f"{FIRST - timedelta(days=1)},{LAST + timedelta(days=1)}",
            filter_limit=-1,
        )
    for visit in visits:
        recount.add(visit, ZONES[id_site])
    return recount


async def _report(sb: Sandbox, method: str, id_site: int, **params: Any) -> dict[str, Any]:
    async with client_for(sb) as client:
        answer: dict[str, Any] = await api_json(
            client, method=method, idSite=id_site, period="day", date=RANGE, **params
        )
    return answer


@pytest.mark.anyio
@pytest.mark.parametrize("id_site", [1, 2])
async def test_action_reports_count_each_action_on_its_own_day(
    sandbox: Sandbox, id_site: int
) -> None:
    recount = await _recount(sandbox, id_site)
    assert recount.across >= 5  # visits across midnight are covered
    actions = await _report(sandbox, "Actions.get", id_site)
    events = await _report(sandbox, "Events.getCategory", id_site, flat=1, filter_limit=-1)
    goals = await _report(sandbox, "Goals.get", id_site)
    pages = await _report(sandbox, "Actions.getPageUrls", id_site, flat=1, filter_limit=-1)
    summary = await _report(sandbox, "VisitsSummary.get", id_site)
    for day, got in actions.items():
        own = recount.counts[date.fromisoformat(day)]
        want = {name: own[kind] for kind, name in TOTALS.items()}
        have = {name: got.get(name, 0) for name in TOTALS.values()}
        have["nb_events"] = sum(row["nb_events"] for row in events[day])
        assert have == want, day
        assert got["hits"] == sum(want.values()), day
        assert got["nb_uniq_pageviews"] == len(recount.page_visits[date.fromisoformat(day)])
        assert goals[day]["nb_conversions"] == sum(own[kind] for kind in CONVERSIONS), day
        rows = pages[day]
        assert sum(row["nb_hits"] for row in rows) == want["nb_pageviews"], day
        assert (
            sum(row["sum_time_spent"] for row in rows)
            == recount.time_spent[date.fromisoformat(day)]
        ), day
        # visit figures stay on the visit's day (its last action's)
        visits = recount.visits[date.fromisoformat(day)]
        assert summary[day]["nb_visits"] == visits, day
        assert sum(int(row.get("entry_nb_visits", 0)) for row in rows) == visits, day
        assert sum(int(row.get("exit_nb_visits", 0)) for row in rows) == visits, day


@pytest.mark.anyio
async def test_a_segment_counts_the_next_days_early_actions_of_its_visits(
    sandbox: Sandbox,
) -> None:
    recount = _Recount()
    async with client_for(sandbox) as client:
        visits = await api_json(
            client,
            method="Live.getLastVisitsDetails",
            idSite=2,
            period="day",
            date=f"{FIRST},{LAST + timedelta(days=1)}",
            segment="visitorType==new",
            filter_limit=-1,
        )
    for visit in visits:
        recount.add(visit, ZONES[2])
    got = await _report(sandbox, "Actions.get", 2, segment="visitorType==new")
    for day, totals in got.items():
        assert totals["nb_pageviews"] == recount.counts[date.fromisoformat(day)]["action"], day


@pytest.mark.parametrize("minutes", [-10, 5, 50, 200])
def test_a_day_in_progress_counts_the_next_days_actions_live_shows(minutes: int) -> None:
    """On a moving clock, a day's pageviews are those Live shows on it and on the next day,
    and the day is not cached while a visit begun before midnight may still show up."""
    world = World(seed=3, days=5, visits_per_day=400, today=date(2026, 11, 29))
    day = date(2026, 11, 27)
    start, end = local_midnight(day, "UTC"), local_midnight(day + timedelta(days=1), "UTC")
    world.cutoff = end + 60 * minutes
    visits = world.day_visits(1, day) + world.day_visits(1, day + timedelta(days=1))
    want = sum(a.kind == PAGE and start <= a.ts < end for v in visits for a in v.actions)
    cache = FactsCache()
    assert facts_for(world, cache, 1, [day]).nb_pageviews == want
    assert len(cache) == (minutes > 8192 // 60)
    if minutes > 0:
        assert any(v.first_ts < end for v in world.day_visits(1, day + timedelta(days=1)))


@pytest.mark.parametrize("max_cached_visits", [50_000, 100])
def test_early_visits_are_the_days_visits_begun_before_its_midnight(
    max_cached_visits: int,
) -> None:
    """Drawn for a day's report, a big next day is not kept (the day asked stays in memory);
    a small one is, for its own report."""
    world = World(
        seed=2,
        days=5,
        visits_per_day=300,
        today=date(2026, 11, 29),
        max_cached_visits=max_cached_visits,
    )
    day = date(2026, 11, 27)
    following = day + timedelta(days=1)
    facts_for(world, FactsCache(), 2, [day])
    assert ((2, following) in world.cached_days()) == (max_cached_visits > 1000)
    assert world.cached_days()[-1 if max_cached_visits < 1000 else 0] == (2, day)
    early = world.early_visits(2, following)
    midnight = local_midnight(following, "Europe/Berlin")
    want = tuple(v for v in world.day_visits(2, following) if v.first_ts < midnight)
    assert early == want
    assert early
