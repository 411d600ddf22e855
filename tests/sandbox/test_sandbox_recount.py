"""Reports recounted from the raw Live visits: every metric the day sums produce agrees."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sandbox_support import api_json, client_for, recorded_config

from matomo_client.sandbox import Sandbox

DAY = "2026-11-20"
WEEK = ("2026-11-16", "2026-11-22")


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """Enough traffic for goals, orders, events and page timings on one day."""
    return Sandbox(recorded_config(visits_per_day=120))


async def _report(sb: Sandbox, method: str, id_site: int, period: str, date: str) -> Any:
    async with client_for(sb) as client:
        return await api_json(
            client, method=method, idSite=id_site, period=period, date=date, flat=1,
            filter_limit=-1,
        )  # fmt: skip


async def _visits(sb: Sandbox, id_site: int, period: str, date: str) -> list[dict[str, Any]]:
    async with client_for(sb) as client:
        visits: list[dict[str, Any]] = await api_json(
            client, method="Live.getLastVisitsDetails", idSite=id_site, period=period,
            date=date, filter_limit=-1,
        )  # fmt: skip
    return visits


def _pages(visit: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in visit["actionDetails"] if a["type"] == "action"]


def _wall_day(action: dict[str, Any]) -> str:
    """The site's date of an action: Live's `timestamp` is shifted to the site's wall clock."""
    return datetime.fromtimestamp(action["timestamp"], timezone.utc).date().isoformat()


def _title_counts(visits: list[dict[str, Any]], days: set[str]) -> dict[str, dict[str, int]]:
    """Title rows of `days` from `visits` (those days' and the next's): hits, time spent and
    visits on each action's own day, the time on its next action's day (Matomo's
    `time_spent_ref_action`); entries and exits on the visit's day."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for v in visits:
        actions = v["actionDetails"]
        hit_titles = set()
        for i, a in enumerate(actions):
            if a["type"] != "action":
                continue
            if _wall_day(a) in days:
                row = out[a["pageTitle"]]
                row["nb_hits"] += 1
                row["timed"] += "pageLoadTimeMilliseconds" in a
                hit_titles.add(a["pageTitle"])
            after = [b for b in actions[i + 1 :] if b["timestamp"] > a["timestamp"]]
            if after and _wall_day(after[0]) in days:
                out[a["pageTitle"]]["sum_time_spent"] += a["timeSpent"]
        for title in hit_titles:
            out[title]["nb_visits"] += 1
        pages = _pages(v)
        if pages and _wall_day(actions[-1]) in days:
            out[pages[0]["pageTitle"]]["entry_nb_visits"] += 1
            out[pages[0]["pageTitle"]]["entry_nb_actions"] += v["actions"]
            out[pages[0]["pageTitle"]]["entry_bounce_count"] += v["actions"] == 1
            out[pages[-1]["pageTitle"]]["exit_nb_visits"] += 1
    return out


@pytest.mark.anyio
@pytest.mark.parametrize("id_site", [1, 2])
async def test_page_titles_recount_from_visits(sandbox: Sandbox, id_site: int) -> None:
    """Per title: hits, time spent, timed hits, visits, entries (with bounces) and exits."""
    rows = await _report(sandbox, "Actions.getPageTitles", id_site, "day", DAY)
    after = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()
    visits = await _visits(sandbox, id_site, "range", f"{DAY},{after}")
    expected = _title_counts(visits, {DAY})
    for row in rows:
        want = expected[row["label"]]
        assert row["nb_hits"] == want["nb_hits"], row["label"]
        assert row["sum_time_spent"] == want["sum_time_spent"], row["label"]
        assert row["nb_visits"] == want["nb_visits"], row["label"]
        assert int(row.get("nb_hits_with_time_network", 0)) == want["timed"], row["label"]
        for key in ("entry_nb_visits", "entry_nb_actions", "entry_bounce_count", "exit_nb_visits"):
            assert int(row.get(key, 0)) == want[key], (row["label"], key)
        visitors = {
            v["visitorId"]
            for v in visits
            if any(a["pageTitle"] == row["label"] and _wall_day(a) == DAY for a in _pages(v))
        }
        assert row["nb_uniq_visitors"] == len(visitors), row["label"]
    assert {r["label"] for r in rows} == set(expected)
    assert any(_wall_day(v["actionDetails"][0]) != DAY for v in visits)  # across midnight


@pytest.mark.anyio
async def test_week_page_titles_merge_days(sandbox: Sandbox) -> None:
    """A week's title rows add up its days' hits, visits, entries and exits."""
    rows = await _report(sandbox, "Actions.getPageTitles", 1, "week", WEEK[0])
    after = (date.fromisoformat(WEEK[1]) + timedelta(days=1)).isoformat()
    days = {(date.fromisoformat(WEEK[0]) + timedelta(days=i)).isoformat() for i in range(7)}
    expected = _title_counts(await _visits(sandbox, 1, "range", f"{WEEK[0]},{after}"), days)
    got = {
        r["label"]: (r["nb_hits"], r["nb_visits"], int(r.get("entry_nb_visits", 0)),
                     int(r.get("exit_nb_visits", 0)))
        for r in rows
    }  # fmt: skip
    want = {
        title: (w["nb_hits"], w["nb_visits"], w["entry_nb_visits"], w["exit_nb_visits"])
        for title, w in expected.items()
    }
    assert got == want


@pytest.mark.anyio
@pytest.mark.parametrize("id_site", [1, 2])
async def test_referrer_types_recount_every_visit_metric(sandbox: Sandbox, id_site: int) -> None:
    """Per referrer type: visits, actions, bounces, length, max actions, conversions, uniques."""
    rows = await _report(sandbox, "Referrers.getReferrerType", id_site, "day", DAY)
    visits = await _visits(sandbox, id_site, "day", DAY)
    for row in rows:
        label = row["label"].split(" - ")[0]
        if " - " in row["label"]:
            continue  # flat subtable rows are checked through their parent type
        mine = [v for v in visits if v["referrerTypeName"] == label]
        assert row["nb_visits"] == len(mine)
        assert row["nb_actions"] == sum(v["actions"] for v in mine)
        assert row["bounce_count"] == sum(v["actions"] == 1 for v in mine)
        assert row["sum_visit_length"] == sum(v["visitDuration"] for v in mine)
        assert row["max_actions"] == max(v["actions"] for v in mine)
        assert row["nb_visits_converted"] == sum(v["visitConverted"] for v in mine)
        uniques = len({v["visitorId"] for v in mine})
        if label == "Direct Entry":
            assert row["nb_uniq_visitors"] == uniques
        else:  # Matomo sums the uniques of the type's name/keyword rows: one visitor may repeat
            assert row["nb_uniq_visitors"] >= uniques
        assert row.get("nb_conversions", 0) == sum(v["goalConversions"] for v in mine)


@pytest.mark.anyio
@pytest.mark.parametrize(("period", "date"), [("day", DAY), ("week", WEEK[0])])
async def test_goals_recount_conversions_and_revenue(
    sandbox: Sandbox, period: str, date: str
) -> None:
    """Goals.get: conversions and revenue (goals + orders) of the visits, also for returning."""
    goals = await _report(sandbox, "Goals.get", 1, period, date)
    visits = await _visits(
        sandbox,
        1,
        period if period == "day" else "range",
        date if period == "day" else ",".join(WEEK),
    )
    revenue = sum(
        a["revenue"]
        for v in visits
        for a in v["actionDetails"]
        if a["type"] in ("goal", "ecommerceOrder")
    )
    assert goals["nb_conversions"] == sum(v["goalConversions"] for v in visits) > 0
    assert goals["revenue"] == pytest.approx(revenue, abs=0.01)
    returning = [v for v in visits if v["visitorType"] != "new"]
    assert goals["nb_conversions_returning_visit"] == sum(v["goalConversions"] for v in returning)


@pytest.mark.anyio
async def test_events_downloads_countries_browsers_recount(sandbox: Sandbox) -> None:
    """Events per category/action, download hits, visits per country and per browser."""
    visits = await _visits(sandbox, 1, "day", DAY)
    events = await _report(sandbox, "Events.getCategory", 1, "day", DAY)
    downloads = await _report(sandbox, "Actions.getDownloads", 1, "day", DAY)
    countries = await _report(sandbox, "UserCountry.getCountry", 1, "day", DAY)
    browsers = await _report(sandbox, "DevicesDetection.getBrowsers", 1, "day", DAY)
    actions = [a for v in visits for a in v["actionDetails"]]
    n_events: dict[str, int] = defaultdict(int)
    for a in actions:
        if a["type"] == "event":
            n_events[f"{a['eventCategory']} - {a['eventAction']}"] += 1
    assert {r["label"]: r["nb_events"] for r in events} == n_events
    n_downloads: dict[str, int] = defaultdict(int)
    for a in actions:
        if a["type"] == "download":
            n_downloads[a["url"]] += 1
    assert {r["url"]: r["nb_hits"] for r in downloads} == n_downloads
    by_country: dict[str, int] = defaultdict(int)
    by_browser: dict[str, int] = defaultdict(int)
    for v in visits:
        by_country[v["country"]] += 1
        by_browser[v["browserName"]] += 1
    assert {r["label"]: r["nb_visits"] for r in countries} == by_country
    assert {r["label"]: r["nb_visits"] for r in browsers} == by_browser
