"""Windows in sites' own timezones: DST days, odd offsets, each site's today, a sandbox export."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from export_readers import read_rows

from matomo_client import AsyncMatomo, Auth
from matomo_client.export import export_visits
from matomo_client.export.engine import _plan
from matomo_client.export.sites import SiteInfo
from matomo_client.export.windows import plan_days, site_tz
from matomo_client.sandbox import Sandbox, SandboxConfig

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23.0),
        ("Europe/Berlin", date(2026, 10, 25), 25.0),
        ("America/Sao_Paulo", date(2018, 11, 4), 23.0),  # midnight itself skipped
        ("America/Sao_Paulo", date(2019, 2, 16), 25.0),
        ("Australia/Lord_Howe", date(2026, 4, 5), 24.5),
        ("Australia/Lord_Howe", date(2026, 10, 4), 23.5),
        ("Asia/Kathmandu", date(2026, 1, 1), 24.0),
        ("UTC+5.5", date(2026, 1, 1), 24.0),
        ("UTC+5:30", date(2026, 1, 1), 24.0),
    ],
)
def test_window_lengths_and_adjacency(tz: str, day: date, hours: float) -> None:
    """A DST day is 23, 23.5, 24.5 or 25 hours; neighbouring windows meet at one midnight."""
    zone = site_tz(tz)
    ws = plan_days(1, day - timedelta(days=1), day + timedelta(days=1), zone, NOW)
    assert (ws[1].end_ts - ws[1].start_ts) / 3600 == hours
    assert all(a.end_ts == b.start_ts for a, b in itertools.pairwise(ws))
    start = datetime.fromtimestamp(ws[1].start_ts, timezone.utc).astimezone(zone)
    assert start.date() == day
    assert start.hour in (0, 1)


def test_utc_colon_offset_windows_start_at_local_midnight() -> None:
    """`UTC+5:30` days start at 18:30 UTC (they started at 18:42)."""
    (w,) = plan_days(1, date(2026, 1, 1), date(2026, 1, 1), site_tz("UTC+5:30"), NOW)
    assert w.start_ts == int(datetime(2025, 12, 31, 18, 30, tzinfo=timezone.utc).timestamp())


def test_today_is_each_sites_own() -> None:
    """One export of `today` takes each site's own date: UTC+14 is a day ahead, UTC-12 behind."""
    sites = [
        SiteInfo(1, "UTC+14"),
        SiteInfo(2, "UTC-12"),
        SiteInfo(3, "UTC+5.5"),
        SiteInfo(4, None),
    ]
    now = datetime(2026, 11, 30, 10, 30, tzinfo=timezone.utc)
    days = {
        w.id_site: (w.day, w.closed)
        for w in _plan(sites, "today", "today", now, timedelta(hours=1))
    }
    assert days == {
        1: (date(2026, 12, 1), False),
        2: (date(2026, 11, 29), False),
        3: (date(2026, 11, 30), False),
        4: (date(2026, 11, 30), False),
    }
    yesterday = _plan(sites, "yesterday", "yesterday", now, timedelta(hours=1))
    # UTC+14's yesterday ended 30 minutes ago: not settled yet
    assert [(w.id_site, w.day, w.closed) for w in yesterday] == [
        (1, date(2026, 11, 30), False),
        (2, date(2026, 11, 28), True),
        (3, date(2026, 11, 29), True),
        (4, date(2026, 11, 29), True),
    ]


def test_to_in_the_future_stops_at_each_sites_today() -> None:
    """`--to` next year plans no day after the site's today."""
    now = datetime(2026, 11, 30, 10, 30, tzinfo=timezone.utc)
    ws = _plan([SiteInfo(1, "UTC+14")], date(2026, 11, 29), date(2027, 1, 1), now, timedelta(0))
    assert [w.day for w in ws] == [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1)]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_sandbox_export_over_dst_in_far_timezones(tmp_path: Path) -> None:
    """Sites in Lord Howe, Kathmandu and UTC-12 over a DST weekend: every visit once, reconciled."""
    sb = Sandbox(SandboxConfig(seed=5, days=12, visits_per_day=20, today=date(2024, 4, 10)))
    zones = ["Australia/Lord_Howe", "Asia/Kathmandu", "Etc/GMT+12"]
    sb.world.sites = {
        s.id: dataclasses.replace(s, timezone=z)
        for s, z in zip(sb.world.sites.values(), zones, strict=True)
    }
    first, last = date(2024, 4, 2), date(2024, 4, 8)
    target = str(tmp_path / "x.duckdb")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    async with AsyncMatomo(
        "http://sandbox.test/", auth=Auth.token("sandbox-token"), http_client=http
    ) as m:
        now = datetime(2024, 4, 10, 12, tzinfo=timezone.utc)
        summary = await export_visits(m, start=first, end=last, target=target, page_size=7, now=now)
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    expected = {
        (s, v.id_visit) for s in sb.world.sites for d in days for v in sb.world.day_visits(s, d)
    }
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert summary.mismatches == []
    assert summary.reconciled


@pytest.mark.anyio
@pytest.mark.parametrize("job", ["visits", "reports"])
async def test_a_site_timezone_unknown_here_is_a_usage_error_and_frees_the_target(
    job: str, tmp_path: Path
) -> None:
    """A timezone this machine's zone data does not know is one ExportUsageError naming the site
    for both exports (reports raised a bare ValueError, and left its target open)."""
    from matomo_client import MockTransport
    from matomo_client.export import ExportUsageError, export_reports
    from matomo_client.transports.mock import Request, Response, json_response, request_params

    def handle(request: Request) -> Response:
        method = request_params(request).get("method")
        if method == "SitesManager.getSitesWithAtLeastViewAccess":
            return json_response([{"idsite": "1", "name": "X", "timezone": "Mars/Olympus_Mons"}])
        return json_response([])

    export = export_visits if job == "visits" else export_reports
    target = str(tmp_path / "x.sqlite")
    for _ in range(2):  # the second run would find the target locked if the first left it open
        client = AsyncMatomo(
            "https://m.test/", transport=MockTransport(handle), skip_preflight=True
        )
        async with client as m:
            with pytest.raises(ExportUsageError, match="site 1: unknown site timezone"):
                await export(m, start="2026-11-01", end="2026-11-02", target=target)
