"""Determinism, laziness, the default world, and serving as a separate process."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import httpx
import pytest
from sandbox_support import TOKEN, api, api_json, client_for, recorded_config

from matomo_client.sandbox import Sandbox, SandboxConfig

CALLS = [
    {"method": "Live.getLastVisitsDetails", "idSite": 1, "period": "day", "date": "2026-11-20",
     "filter_limit": -1},
    {"method": "VisitsSummary.get", "idSite": "all", "period": "day", "date": "last10"},
    {"method": "Actions.getPageUrls", "idSite": 2, "period": "month", "date": "2026-10-01",
     "expanded": 1},
    {"method": "Referrers.getAll", "idSite": 1, "period": "week", "date": "2026-11-11"},
]  # fmt: skip


async def _bodies(sb: Sandbox) -> list[bytes]:
    async with client_for(sb) as client:
        return [(await api(client, **call)).content for call in CALLS]


@pytest.mark.anyio
async def test_same_seed_same_bytes_different_seed_different_data() -> None:
    """Two sandboxes with one seed answer byte for byte alike; another seed differs."""
    first = await _bodies(Sandbox(recorded_config(seed=7)))
    again = await _bodies(Sandbox(recorded_config(seed=7)))
    other = await _bodies(Sandbox(recorded_config(seed=8)))
    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))


@pytest.mark.anyio
async def test_default_world_sites() -> None:
    """Three sites: Shop (UTC, USD, ecommerce), Blog (Berlin, EUR) and an empty one."""
    sb = Sandbox(recorded_config())
    async with client_for(sb) as client:
        sites = await api_json(client, method="SitesManager.getSitesWithAtLeastViewAccess")
        empty = await api_json(
            client, method="Live.getLastVisitsDetails", idSite=3, filter_limit=-1
        )
    summary = [
        (s["idsite"], s["name"], s["timezone"], s["currency"], s["ecommerce"]) for s in sites
    ]
    assert summary == [
        (1, "Shop", "UTC", "USD", 1),
        (2, "Blog", "Europe/Berlin", "EUR", 0),
        (3, "Empty", "UTC", "USD", 0),
    ]
    assert empty == []


def test_days_are_generated_lazily() -> None:
    """A year of 5,000 visits a day generates only the days that are read."""
    sb = Sandbox(SandboxConfig(days=365, visits_per_day=5000, today=date(2026, 11, 29)))
    visits = sb.world.visits(2, date(2026, 6, 1))
    assert 2000 < len(visits) < 6000
    assert sb.world.cached_days() == [(2, date(2026, 6, 1))]
    assert sb.world.visit_count(1, date(2025, 12, 1)) > 3000


def test_world_visits_are_unicode_and_varied() -> None:
    """Visits carry every referrer type, several action types and non-ASCII text."""
    sb = Sandbox(recorded_config(visits_per_day=80))
    visits = [v for d in range(1, 8) for v in sb.world.visits(1, date(2026, 11, d))]
    assert {v["referrerType"] for v in visits} == {
        "direct",
        "search",
        "website",
        "campaign",
        "social",
    }
    kinds = {a["type"] for v in visits for a in v["actionDetails"]}
    assert {"action", "download", "outlink", "search", "event", "goal", "ecommerceOrder",
            "ecommerceAbandonedCart"} <= kinds  # fmt: skip
    assert any(not a.get("pageTitle", "x").isascii() for v in visits for a in v["actionDetails"]
               if a.get("pageTitle"))  # fmt: skip
    ids = [v["idVisit"] for v in visits]
    assert len(ids) == len(set(ids))
    # a few visits started before midnight and ended on the day they are counted for
    assert any(v["serverDatePrettyFirstAction"] != v["serverDatePretty"] for v in visits)


def test_served_in_a_subprocess_answers_http() -> None:
    """`python -m matomo_client.sandbox --port 0` serves a real HTTP request on 127.0.0.1."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "matomo_client.sandbox", "--port", "0", "--days", "3",
         "--token", TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Matomo sandbox listening on http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[1].strip()
        assert proc.stdout.readline().strip() == f"token: {TOKEN}"
        response = None
        for _ in range(50):
            try:
                response = httpx.post(
                    url + "index.php",
                    data={"module": "API", "method": "API.getMatomoVersion", "format": "JSON",
                          "token_auth": TOKEN},
                    timeout=5,
                )  # fmt: skip
                break
            except httpx.ConnectError:
                import time

                time.sleep(0.1)
        assert response is not None
        assert response.json() == {"value": "5.11.2"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.anyio
async def test_a_sandbox_on_the_real_clock_moves_to_the_next_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Left running past midnight UTC, it has visits on the new day too (SPEC §4: "up to and
    including today"), and the days it had keep their visits and ids."""
    from datetime import datetime, timedelta, timezone

    from matomo_client.sandbox import app

    sb = Sandbox(SandboxConfig(days=3, visits_per_day=40))
    first_today = sb.world.today
    before = [v["idVisit"] for v in sb.world.visits(1, first_today - timedelta(days=1))]
    noon = datetime(first_today.year, first_today.month, first_today.day, 12, tzinfo=timezone.utc)
    monkeypatch.setattr(app, "now_utc", lambda: int(noon.timestamp()) + 86400)
    tomorrow = (first_today + timedelta(days=1)).isoformat()
    async with client_for(sb) as client:
        summary = await api_json(
            client, method="VisitsSummary.get", idSite=1, period="day", date="today"
        )
        visits = await api_json(
            client, method="Live.getLastVisitsDetails", idSite=1, period="day", date=tomorrow,
            filter_limit=-1, filter_sort_order="asc",
        )  # fmt: skip
    assert summary["nb_visits"] > 0
    assert {v["serverDate"] for v in visits} >= {tomorrow}
    assert [v["idVisit"] for v in sb.world.visits(1, first_today - timedelta(days=1))] == before


@pytest.mark.anyio
async def test_a_day_the_timezone_skipped_has_no_visits() -> None:
    """Pacific/Apia skipped 2011-12-30: that day has no visits and the week around it is served
    (drawing a zero-hour day used to raise IndexError)."""
    import dataclasses

    sb = Sandbox(SandboxConfig(seed=1, days=10, visits_per_day=20, today=date(2012, 1, 5)))
    sb.world.sites[2] = dataclasses.replace(sb.world.sites[2], timezone="Pacific/Apia")
    assert sb.world.visit_count(2, date(2011, 12, 30)) == 0
    async with client_for(sb) as client:
        week = await api_json(
            client,
            method="VisitsSummary.get",
            idSite=2,
            period="day",
            date="2011-12-28,2012-01-01",
        )
        visits = await api_json(
            client,
            method="Live.getLastVisitsDetails",
            idSite=2,
            period="range",
            date="2011-12-28,2012-01-01",
            filter_limit=-1,
        )
    by_day = {day: (row or {}).get("nb_visits", 0) for day, row in week.items()}
    assert by_day["2011-12-30"] == 0
    assert all(n > 0 for day, n in by_day.items() if day != "2011-12-30")
    assert len(visits) == sum(by_day.values())
