"""Access: a token that sees some sites only (a Matomo "viewer") exports exactly those sites;
a site it cannot view stops the export with one clear error; once access is granted the same
export completes, fetching each window exactly once over all runs.

The sandbox is served over real HTTP on 127.0.0.1 and the test keeps the `Sandbox` object:
`sb.viewers` is the live token -> sites map (granting or revoking access between or during
runs, as a Matomo admin would), `sb.requests` counts what each run fetched.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from export_readers import read_rows
from live_requests import live_days
from reliability_support import scan_text, served

from matomo_client import AsyncMatomo, Auth
from matomo_client.cli import cli
from matomo_client.errors import MatomoError
from matomo_client.export import ExportApiError, ExportUsageError, export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
START = TODAY - timedelta(days=7)
LAST = TODAY - timedelta(days=1)
DAYS = 7
#: Alphanumeric and distinctive, so scanning output for it finds any leak.
VIEWER = "ViewerTok5d2e8a1f"


def _world(viewers: dict[str, set[int]], seed: int = 21, days: int = 9, **kw: Any) -> Sandbox:
    return Sandbox(SandboxConfig(seed=seed, days=days, visits_per_day=5, viewers=viewers, **kw))


def _client(url: str) -> AsyncMatomo:
    return AsyncMatomo(url, auth=Auth.token(VIEWER))


def _ids(target: str) -> list[tuple[int, int]]:
    return [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]


def _expected(sb: Sandbox, sites: set[int], first: date, days: int) -> set[tuple[int, int]]:
    return {
        (s, v.id_visit)
        for s in sites
        for d in (first + timedelta(days=i) for i in range(days))
        for v in sb.world.day_visits(s, d)
    }


def _windows(sites: set[int], first: date, days: int) -> set[tuple[int, str]]:
    return {(s, (first + timedelta(days=i)).isoformat()) for s in sites for i in range(days)}


def _done_windows(target: str) -> set[tuple[int, str]]:
    """(id_site, day) of every window the SQLite target's manifest records as done."""
    rows = read_rows(target, "_matomo_export")
    return {(int(r["id_site"]), str(r["day"])) for r in rows if r["status"] == "done"}


def _live_windows(sb: Sandbox, since: int = 0) -> Counter[tuple[int, str]]:
    """(idSite, day) of every day the Live requests the sandbox answered after request number
    `since` asked for."""
    return live_days(sb.requests[since:])


def _sites_asked(sb: Sandbox) -> set[str]:
    """Every idSite value any request named."""
    return {r.params["idSite"] for r in sb.requests if "idSite" in r.params}


class _LosingAccess:
    """An ASGI wrapper that takes `site` out of the viewer's sites after `after` Live requests,
    as an admin removing view access while the export runs."""

    def __init__(self, sb: Sandbox, site: int, after: int) -> None:
        self.sb = sb
        self.site = site
        self.after = after
        self.live_seen = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and b"Live.getLastVisitsDetails" in scope["query_string"]:
            self.live_seen += 1
            if self.live_seen > self.after:
                self.sb.viewers[VIEWER] = self.sb.viewers[VIEWER] - {self.site}
        await self.sb.app(scope, receive, send)


@pytest.mark.anyio
async def test_all_sites_as_viewer_exports_exactly_its_sites(tmp_path: Path) -> None:
    """sites="all" with a token that sees sites 2 and 3 exports those two, every visit once, and never asks for site 1."""
    sb = _world({VIEWER: {2, 3}}, today=TODAY)
    target = str(tmp_path / "viewer.sqlite")
    with served(sb.app) as url:
        async with _client(url) as m:
            summary = await export_visits(
                m, sites="all", start=START, end=LAST, target=target, now=NOW, concurrency=2
            )
    assert summary.sites == [2, 3]
    assert summary.windows_exported == 2 * DAYS
    assert summary.reconciled
    got = _ids(target)
    assert len(got) == len(set(got))
    assert set(got) == _expected(sb, {2, 3}, START, DAYS)
    assert got  # site 2 has visits: the comparison above is not between two empty sets
    assert set(_live_windows(sb)) == _windows({2, 3}, START, DAYS)
    assert "1" not in _sites_asked(sb)


@pytest.mark.anyio
async def test_site_without_access_stops_before_any_window_then_completes(tmp_path: Path) -> None:
    """Sites 1,2 with a token that sees site 2 only: one ExportUsageError naming site 1 and nothing fetched; once granted, the same call exports every window exactly once."""
    sb = _world({VIEWER: {2}}, seed=22, today=TODAY)
    target = str(tmp_path / "denied.sqlite")
    with served(sb.app) as url:
        async with _client(url) as m:
            with pytest.raises(ExportUsageError) as info:
                await export_visits(
                    m, sites=[1, 2], start=START, end=LAST, target=target, now=NOW, concurrency=1
                )
            first_run = _live_windows(sb)
            sb.viewers[VIEWER] = frozenset({1, 2})  # the admin grants view access to site 1
            mark = len(sb.requests)
            summary = await export_visits(
                m, sites=[1, 2], start=START, end=LAST, target=target, now=NOW, concurrency=1
            )
    message = str(info.value)
    assert isinstance(info.value, MatomoError)
    assert "\n" not in message
    assert "site 1" in message
    assert scan_text(message, VIEWER) == []
    assert first_run == Counter()  # stopped before any window: nothing half done
    rerun = _live_windows(sb, mark)
    assert set(rerun) == _windows({1, 2}, START, DAYS)
    assert set(rerun.values()) == {1}
    assert summary.windows_exported == 2 * DAYS
    got = _ids(target)
    assert len(got) == len(set(got))
    assert set(got) == _expected(sb, {1, 2}, START, DAYS)


@pytest.mark.anyio
async def test_access_lost_mid_export_stops_then_resumes_once_granted(tmp_path: Path) -> None:
    """View access to site 1 removed mid-export: one ExportApiError with Matomo's 401 text; once granted again, the re-run fetches only the windows not done."""
    sb = _world({VIEWER: {1, 2}}, seed=23, today=TODAY)
    proxy = _LosingAccess(sb, site=1, after=8)
    target = str(tmp_path / "lost.sqlite")
    # Page size 2: runs of closed days take several requests each, so access goes mid-export.
    options: dict[str, Any] = {"start": START, "end": LAST, "now": NOW, "page_size": 2}
    with served(proxy) as url:
        async with _client(url) as m:
            with pytest.raises(ExportApiError) as info:
                await export_visits(m, sites=[1, 2], target=target, concurrency=1, **options)
            done_before = _done_windows(target)
            proxy.after = 10**9
            sb.viewers[VIEWER] = frozenset({1, 2})
            mark = len(sb.requests)
            summary = await export_visits(m, sites=[1, 2], target=target, concurrency=1, **options)
    message = str(info.value)
    assert "\n" not in message
    assert "site 1" in message
    assert "requires 'view' access for the website id = 1" in message
    assert scan_text(message, VIEWER) == []
    all_windows = _windows({1, 2}, START, DAYS)
    assert done_before  # of either site: their runs go side by side
    rerun = _live_windows(sb, mark)
    assert set(rerun) == all_windows - done_before  # only the days not done were asked for
    assert summary.windows_skipped == len(done_before)
    assert summary.windows_exported + summary.windows_skipped == 2 * DAYS
    got = _ids(target)
    assert len(got) == len(set(got))
    assert set(got) == _expected(sb, {1, 2}, START, DAYS)


def _cli_args(url: str, site: str, target: str, start: date, end: date) -> list[str]:
    return ["export", "visits", "--url", url, "--site", site, "--from", start.isoformat(),
            "--to", end.isoformat(), "--out", target, "--quiet", "--concurrency", "1"]  # fmt: skip


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_cli_viewer_all_sites_then_denied_then_lost_and_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`matomo export visits` as a viewer: `--site all` exports its site only; a site it cannot
    view is one Error line (exit 2, nothing fetched); access lost mid-export is one Error line
    (exit 1); once granted, the same command finishes and fetches only the missing windows."""
    for key in ("MATOMO_URL", "MATOMO_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    today = datetime.now(timezone.utc).date()
    start, end = today - timedelta(days=6), today - timedelta(days=2)
    days = 5
    sb = _world({VIEWER: {2}}, seed=24, days=10)
    proxy = _LosingAccess(sb, site=1, after=10**9)
    env = {"MATOMO_TOKEN": VIEWER}
    all_target = str(tmp_path / "all.sqlite")
    target = str(tmp_path / "cli.sqlite")
    runner = CliRunner()
    with served(proxy) as url:
        every = runner.invoke(cli, _cli_args(url, "all", all_target, start, end), env=env)
        all_windows = _live_windows(sb)

        mark = len(sb.requests)
        denied = runner.invoke(cli, _cli_args(url, "1,2", target, start, end), env=env)
        denied_windows = _live_windows(sb, mark)

        sb.viewers[VIEWER] = frozenset({1, 2})
        proxy.live_seen, proxy.after = 0, 1  # ... and removed again after site 1's first run
        lost = runner.invoke(cli, _cli_args(url, "1,2", target, start, end), env=env)
        done_before = _done_windows(target)

        proxy.after = 10**9
        sb.viewers[VIEWER] = frozenset({1, 2})
        mark = len(sb.requests)
        resumed = runner.invoke(cli, _cli_args(url, "1,2", target, start, end), env=env)
    for result in (every, denied, lost, resumed):
        assert scan_text(result.stdout + result.stderr, VIEWER) == []

    assert every.exit_code == 0, every.stderr
    assert set(all_windows) == _windows({2}, start, days)
    assert set(_ids(all_target)) == _expected(sb, {2}, start, days)

    # The token cannot view site 1 when the export starts: a usage error (exit 2) before any window.
    assert denied.exit_code == 2
    assert "site 1" in _one_error_line(denied.stderr)
    assert denied_windows == Counter()

    # Access lost while exporting: Matomo refused (exit 1), the windows done so far are kept.
    assert lost.exit_code == 1
    assert "requires 'view' access for the website id = 1" in _one_error_line(lost.stderr)
    assert done_before
    assert all(s == 1 for s, _ in done_before)

    assert resumed.exit_code == 0, resumed.stderr
    rerun = _live_windows(sb, mark)
    assert set(rerun) == _windows({1, 2}, start, days) - done_before
    assert set(rerun.values()) == {1}
    got = _ids(target)
    assert len(got) == len(set(got))
    assert set(got) == _expected(sb, {1, 2}, start, days)
