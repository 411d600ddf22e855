"""Live.getLastVisitsDetails paging semantics of Matomo 5.11, and live traffic."""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_support import api_json, client_for, recorded_config

from matomo_client.sandbox import Sandbox

DAY = "2026-11-20"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """A busy day: more than one default page of visits."""
    return Sandbox(recorded_config(visits_per_day=160))


def _order(visits: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(v["lastActionTimestamp"], v["idVisit"]) for v in visits]


async def _live(client: Any, **params: Any) -> list[dict[str, Any]]:
    base = {"method": "Live.getLastVisitsDetails", "idSite": 1, "doNotFetchActions": 1}
    result: list[dict[str, Any]] = await api_json(client, **{**base, **params})
    return result


@pytest.mark.anyio
async def test_default_limit_is_100_and_order_is_newest_first(sandbox: Sandbox) -> None:
    """Without filter_limit Live returns 100 visits, by (last action, idVisit) descending."""
    async with client_for(sandbox) as client:
        everything = await _live(client, period="day", date=DAY, filter_limit=-1)
        page = await _live(client, period="day", date=DAY)
    assert len(everything) > 100
    assert len(page) == 100
    assert _order(page) == sorted(_order(page), reverse=True)
    assert page == everything[:100]


@pytest.mark.anyio
async def test_ascending_offset_pages_cover_the_day_exactly_once(sandbox: Sandbox) -> None:
    """Ascending offset pages concatenate to the whole day; past the end is []."""
    async with client_for(sandbox) as client:
        everything = await _live(
            client, period="day", date=DAY, filter_limit=-1, filter_sort_order="asc"
        )
        pages, offset = [], 0
        while True:
            page = await _live(
                client,
                period="day",
                date=DAY,
                filter_limit=37,
                filter_offset=offset,
                filter_sort_order="asc",
            )
            if not page:
                break
            pages.extend(page)
            offset += 37
        past = await _live(client, period="day", date=DAY, filter_limit=5, filter_offset=100000)
    assert _order(everything) == sorted(_order(everything))
    assert pages == everything
    assert past == []


@pytest.mark.anyio
async def test_visits_share_seconds_and_tie_break_on_idvisit(sandbox: Sandbox) -> None:
    """Several visits end in the same second; ties are ordered by idVisit."""
    async with client_for(sandbox) as client:
        everything = await _live(
            client, period="day", date=DAY, filter_limit=-1, filter_sort_order="asc"
        )
    stamps = [v["lastActionTimestamp"] for v in everything]
    assert len(stamps) > len(set(stamps))
    assert _order(everything) == sorted(_order(everything))


@pytest.mark.anyio
async def test_min_timestamp_is_strict(sandbox: Sandbox) -> None:
    """minTimestamp keeps only visits whose last action is strictly later (UTC seconds)."""
    async with client_for(sandbox) as client:
        everything = await _live(
            client, period="day", date=DAY, filter_limit=-1, filter_sort_order="asc"
        )
        pivot = everything[len(everything) // 2]["lastActionTimestamp"]
        later = await _live(
            client,
            period="day",
            date=DAY,
            filter_limit=-1,
            filter_sort_order="asc",
            minTimestamp=pivot,
        )
    assert later == [v for v in everything if v["lastActionTimestamp"] > pivot]
    assert all(v["lastActionTimestamp"] != pivot for v in later)


@pytest.mark.anyio
async def test_day_window_is_site_local_and_actions_optional(sandbox: Sandbox) -> None:
    """Berlin-site days are Berlin days; doNotFetchActions empties actionDetails only."""
    async with client_for(sandbox) as client:
        with_actions = await api_json(
            client,
            method="Live.getLastVisitsDetails",
            idSite=2,
            period="day",
            date=DAY,
            filter_limit=-1,
        )
        without = await _live(client, idSite=2, period="day", date=DAY, filter_limit=-1)
    assert [v["idVisit"] for v in with_actions] == [v["idVisit"] for v in without]
    assert all(v["actionDetails"] == [] for v in without)
    assert all(v["actionDetails"] for v in with_actions)
    for v in with_actions:
        assert v["serverDatePretty"].endswith("November 20, 2026")  # Berlin date of last action


def _keys(value: Any) -> set[str]:
    """Every object key in `value`, at any depth."""
    if isinstance(value, dict):
        return set(value).union(*map(_keys, value.values()))
    if isinstance(value, list):
        return set().union(*map(_keys, value))
    return set()


def _without(value: Any, hidden: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, hidden) for k, v in value.items() if k not in hidden}
    if isinstance(value, list):
        return [_without(v, hidden) for v in value]
    return value


@pytest.mark.anyio
async def test_hide_columns_reaches_into_action_details(sandbox: Sandbox) -> None:
    """Live applies hideColumns at every depth, unless hideColumnsRecursively=0."""
    hidden = {"serverTimePretty", "iconSVG", "browserIcon"}
    base = {"method": "Live.getLastVisitsDetails", "period": "day", "date": DAY}
    async with client_for(sandbox) as client:
        full = await api_json(client, idSite=1, filter_limit=5, **base)
        hiding = await api_json(
            client, idSite=1, filter_limit=5, hideColumns=",".join(sorted(hidden)), **base
        )
        top_only = await api_json(
            client,
            idSite=1,
            filter_limit=5,
            hideColumns="serverTimePretty,iconSVG",
            hideColumnsRecursively=0,
            **base,
        )
        again = await api_json(client, idSite=1, filter_limit=5, **base)
    assert hidden <= _keys(full)
    assert not hidden & _keys(hiding)
    assert hiding == _without(full, hidden)
    assert again == full  # the keys go from each freshly rendered page, not from shared data
    assert all("serverTimePretty" not in v for v in top_only)
    assert all("serverTimePretty" in a for v in top_only for a in v["actionDetails"])
    assert all("iconSVG" in a for v in top_only for a in v["actionDetails"])


@pytest.mark.anyio
async def test_show_columns_keeps_only_the_named_keys_of_each_visit(sandbox: Sandbox) -> None:
    """showColumns trims each visit to the listed keys."""
    async with client_for(sandbox) as client:
        visits = await _live(
            client, period="day", date=DAY, filter_limit=4, showColumns="idVisit,visitIp"
        )
    assert len(visits) == 4
    assert all(set(v) == {"idVisit", "visitIp"} for v in visits)


@pytest.mark.anyio
async def test_live_without_period_returns_latest_visits(sandbox: Sandbox) -> None:
    """Without period and date there is no date filter: the newest visits overall."""
    async with client_for(sandbox) as client:
        latest = await _live(client, filter_limit=3)
        today = await _live(client, period="day", date="2026-11-29", filter_limit=3)
    assert latest == today
    assert len(latest) == 3


@pytest.mark.anyio
async def test_visits_log_disabled_per_site() -> None:
    """A site in live_disabled_sites answers Live with Matomo's deactivation error."""
    sb = Sandbox(recorded_config(live_disabled_sites=frozenset({2})))
    async with client_for(sb) as client:
        answer = await _live(client, idSite=2, period="day", date=DAY)
        ok = await _live(client, idSite=1, period="day", date=DAY, filter_limit=1)
    assert answer == {
        "result": "error",
        "message": "Visits log is deactivated in website settings. A user with at least admin "
        "access can enable this feature in the settings for this website (idSite=2).",
    }
    assert len(ok) == 1


@pytest.mark.anyio
async def test_live_traffic_adds_and_grows_visits_of_today_while_paging() -> None:
    """In live-traffic mode, new visits arrive today and visits in progress gain actions."""
    sb = Sandbox(recorded_config(visits_per_day=200, live_traffic=True, live_step_s=240))
    seen: dict[int, dict[str, Any]] = {}
    grown = 0
    counts = []
    async with client_for(sb) as client:
        for _ in range(12):
            page = await api_json(
                client,
                method="Live.getLastVisitsDetails",
                idSite=1,
                period="day",
                date="today",
                filter_limit=-1,
            )
            counts.append(len(page))
            for v in page:
                before = seen.get(v["idVisit"])
                if before is not None and v["actions"] > before["actions"]:
                    assert v["lastActionTimestamp"] > before["lastActionTimestamp"]
                    grown += 1
                seen[v["idVisit"]] = v
    assert counts == sorted(counts)
    assert counts[-1] > counts[0]
    assert grown > 0
