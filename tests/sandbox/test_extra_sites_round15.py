"""`SandboxConfig(extra_sites=N)`: sites 4..N+3 for trying a many-site export, sites 1-3 unchanged."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_support import api_json, client_for, get_all, load_case, shape_mismatches

from matomo_client import AsyncMatomo, Auth
from matomo_client.sandbox import Sandbox, SandboxConfig
from matomo_client.sandbox.records import local_midnight

pytestmark = pytest.mark.anyio

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 23, 59, tzinfo=timezone.utc)
DAY = date(2026, 11, 20)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here."""
    return "asyncio"


def _sandbox(extra: int, **overrides: Any) -> Sandbox:
    options: dict[str, Any] = {"today": TODAY, "days": 30, "visits_per_day": 40}
    options.update(overrides)
    return Sandbox(SandboxConfig(extra_sites=extra, **options))


async def _digest(sb: Sandbox) -> str:
    """A digest of sites 1-3's answers: Live pages, reports, segments, site rows."""
    h = hashlib.sha256()
    async with client_for(sb) as client:
        for site in ("1", "2", "3", "1,2,3"):
            for method, period in (
                ("Live.getLastVisitsDetails", "day"),
                ("VisitsSummary.get", "week"),
                ("Actions.getPageUrls", "month"),
                ("Goals.get", "day"),
                ("SitesManager.getSiteFromId", "day"),
            ):
                for segment in ("", "visitorType==returningCustomer"):
                    params = {"idSite": site, "period": period, "date": DAY.isoformat()}
                    response = await client.post(
                        "index.php",
                        data={"module": "API", "format": "JSON", "token_auth": "sandbox-token"}
                        | {"method": method, "filter_limit": "-1", "segment": segment}
                        | params,
                    )
                    h.update(response.content)
        sites = await api_json(client, method="SitesManager.getSitesWithAtLeastViewAccess")
        h.update(json.dumps(sites[:3]).encode())
    return h.hexdigest()


async def test_sites_1_to_3_answer_the_same_bytes_with_extra_sites() -> None:
    """Adding sites changes nothing of sites 1-3 (Live bytes, reports, idVisits, site rows)."""
    assert await _digest(_sandbox(0)) == await _digest(_sandbox(40))


def test_extra_sites_are_numbered_after_3_and_drawn_from_the_seed() -> None:
    """Sites 4..N+3, the same for the same seed whatever N, varied in timezone and settings."""
    world = _sandbox(300).world
    assert sorted(world.sites) == list(range(1, 304))
    extra = [world.site(i) for i in range(4, 304)]
    zones = Counter(s.timezone for s in extra)
    for tz in ("Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "UTC", "Europe/Berlin"):
        assert zones[tz] >= 5, zones
    assert 30 < sum(s.ecommerce for s in extra) < 150
    assert 50 < sum(bool(s.goals) for s in extra) < 250
    assert any(s.volume == 0 for s in extra)
    assert all(s.volume <= 0.3 for s in extra)  # a fraction of visits_per_day
    assert len({s.name for s in extra}) == 300
    # asking for fewer sites, or again: the same sites
    assert _sandbox(5).world.site(7) == world.site(7)
    assert _sandbox(5, seed=2).world.site(7) != world.site(7)


def test_extra_sites_are_created_inside_the_days_and_have_no_visit_before() -> None:
    """ts_created lies inside the configured days; no visit comes before the creation day."""
    world = _sandbox(60).world
    created_days = set()
    for i in range(4, 64):
        created = date.fromisoformat(world.created(i)[:10])
        assert world.first_day <= created <= TODAY
        created_days.add(created)
        if created > world.first_day:
            assert world.day_visits(i, created - timedelta(days=1)) == ()
            assert world.visit_count(i, world.first_day) == 0
        if world.site(i).volume:
            assert world.day_visits(i, created)
    assert len(created_days) > 10  # spread, not one day
    assert world.created(1) == "2026-10-24 00:00:00"  # sites 1-3: a week before the first day


def test_extra_site_days_are_days_in_their_own_timezone() -> None:
    """A visit of site-local day D ends in [D 00:00, D+1 00:00) of the site's timezone."""
    world = _sandbox(40).world
    half_hour_zone_seen = False
    for i in range(4, 44):
        tz = world.site(i).timezone
        for day in (DAY, date(2026, 11, 1)):
            start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
            for v in world.day_visits(i, day):
                assert start <= v.last_ts < end, (i, tz, day)
                half_hour_zone_seen |= tz == "Asia/Kolkata"
    assert half_hour_zone_seen


def test_visit_ids_are_unique_across_all_sites() -> None:
    """idVisit stays unique in the world, extra sites included."""
    world = _sandbox(40).world
    ids = [v.id_visit for i in world.sites for v in world.day_visits(i, DAY)]
    assert len(ids) == len(set(ids)) > 100


async def test_site_methods_metadata_bulk_and_segments_answer_for_extra_sites() -> None:
    """SitesManager rows keep the recorded shape; metadata, bulk, Live with a segment work."""
    sb = _sandbox(40)
    ecommerce = next(i for i in range(4, 44) if sb.world.site(i).ecommerce)
    async with client_for(sb) as client:
        rows = await api_json(client, method="SitesManager.getSitesWithAtLeastViewAccess")
        assert [r["idsite"] for r in rows] == list(range(1, 44))
        assert await api_json(client, method="SitesManager.getAllSitesId") == list(range(1, 44))
        one = await api_json(client, method="SitesManager.getSiteFromId", idSite=ecommerce)
        assert list(one) == list(rows[0])
        assert one["ecommerce"] == 1
        meta = await api_json(client, method="API.getReportMetadata", idSite=ecommerce)
        assert any(r["module"] == "Goals" and r["action"] == "getItemsSku" for r in meta)
        bulk = await api_json(
            client,
            method="API.getBulkRequest",
            **{
                f"urls[{n}]": f"method=VisitsSummary.get&idSite={i}&period=day&date={DAY}"
                for n, i in enumerate(range(4, 44))
            },
        )
        assert len(bulk) == 40
        assert not any(isinstance(b, dict) and b.get("result") == "error" for b in bulk)
        for segment in ("visitorType==returningCustomer", "pageUrl=@cart", "pageTitle=@Shop"):
            live = await api_json(
                client,
                method="Live.getLastVisitsDetails",
                idSite=ecommerce,
                period="month",
                date=DAY,
                segment=segment,
                filter_limit=-1,
            )
            assert isinstance(live, list)


async def test_live_and_visits_summary_agree_on_every_extra_site_day() -> None:
    """Per site and site-local day, Live's visits are VisitsSummary's nb_visits (not today:
    Live reads a single date of today as the day before, as Matomo does)."""
    sb = _sandbox(20, days=7)
    summary = await get_all(
        sb, method="VisitsSummary.get", idSite="all", period="day", date="2026-11-22,2026-11-28"
    )
    for i in range(4, 24):
        for key, value in summary[str(i)].items():
            live = await get_all(
                sb, method="Live.getLastVisitsDetails", idSite=i, period="day", date=key
            )
            assert len(live) == (value["nb_visits"] if value else 0), (i, key)


async def test_multisites_get_all_is_shaped_as_recorded_and_agrees_with_visits_summary() -> None:
    """MultiSites.getAll: recorded shape, a row per site with visits, VisitsSummary's counts."""
    sb = _sandbox(20)
    rows = await get_all(sb, method="MultiSites.getAll", period="month", date="2026-11-01")
    recorded = json.loads(load_case(145)[1])
    assert shape_mismatches(recorded, rows) == []
    assert [list(r) for r in rows[:1]] == [list(recorded[0])]
    summary = await get_all(
        sb, method="VisitsSummary.get", idSite="all", period="month", date="2026-11-01"
    )
    with_visits = {int(i) for i, v in summary.items() if v}
    assert {r["idsite"] for r in rows} == with_visits
    assert 3 not in with_visits
    for r in rows:
        assert r["nb_visits"] == summary[str(r["idsite"])]["nb_visits"]
        assert r["previousRange"] == "Oct 2026"
        assert r["currencySymbol"] == sb.world.site(r["idsite"]).currency_symbol
    assert [r["nb_visits"] for r in rows] == sorted((r["nb_visits"] for r in rows), reverse=True)


def test_bad_extra_sites_values_are_refused() -> None:
    """Negative, too many or non-integer counts are a ValueError; the repr names the count."""
    for bad in (-1, 10_001, True, 2.0):
        with pytest.raises(ValueError, match="extra_sites"):
            SandboxConfig(extra_sites=bad)  # type: ignore[arg-type]
    assert "extra_sites=5" in repr(SandboxConfig(extra_sites=5))
    assert "extra_sites" not in repr(SandboxConfig())


async def test_export_of_all_sites_over_40_extra_sites_reconciles(tmp_path: Path) -> None:
    """`--site all` over 43 sites into DuckDB: every visit once, 0 mismatches, each site's
    windows in its own timezone and none before its creation day."""
    import duckdb

    from matomo_client.export import export_visits

    sb = _sandbox(40, days=5, visits_per_day=20)
    target = str(tmp_path / "all.duckdb")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    async with AsyncMatomo(
        "http://sandbox.test/", auth=Auth.token("sandbox-token"), http_client=http
    ) as m:
        summary = await export_visits(
            m, sites="all", start=TODAY - timedelta(days=4), end=TODAY, target=target, now=NOW
        )
    assert summary.mismatches == []
    assert summary.reconciled
    expected = {
        (i, v.id_visit)
        for i in sb.world.sites
        for d in range(5)
        for v in sb.world.day_visits(i, TODAY - timedelta(days=d))
    }
    with duckdb.connect(target, read_only=True) as db:
        got = db.execute("select id_site, id_visit from visits").fetchall()
    assert len(got) == len(set(got))
    assert {(int(s), int(v)) for s, v in got} == expected
    assert len({s for s, _ in expected} - {1, 2, 3}) > 20  # the extra sites have visits too
