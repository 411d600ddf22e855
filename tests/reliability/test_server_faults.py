"""Faults at the server: transient ones are ridden out exactly once; permanent ones stop cleanly.

The sandbox is served over real HTTP on 127.0.0.1 (so a hung answer becomes a client timeout),
and the test keeps the `Sandbox` object to compare the target with `sb.world` and to count the
requests each run made.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from export_readers import read_rows
from live_requests import live_days
from reliability_support import served

from matomo_client import AsyncMatomo, Auth, RetryPolicy
from matomo_client.export import ExportApiError, export_visits
from matomo_client.sandbox import Faults, Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
DAYS = 60
FIRST = TODAY - timedelta(days=DAYS)
LAST = TODAY - timedelta(days=1)
TOKEN = "sandbox-token"
# What issue 6 asks for: 10% 5xx, 2% 429 + Retry-After, 1% truncated, 1% HTML, 1% hung.
FAULTS = Faults(
    error_5xx_rate=0.10,
    rate_429=0.02,
    retry_after_s=1,
    truncated_rate=0.01,
    html_error_rate=0.01,
    hang_rate=0.01,
    hang_s=1.5,
)


def _days() -> list[date]:
    return [FIRST + timedelta(days=i) for i in range(DAYS)]


def _expected(sb: Sandbox, sites: tuple[int, ...] = (1, 2)) -> set[tuple[int, int]]:
    return {(s, v.id_visit) for s in sites for d in _days() for v in sb.world.day_visits(s, d)}


def _ids(target: str) -> list[tuple[int, int]]:
    return [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]


def _done_windows(target: str) -> set[tuple[int, str]]:
    """(id_site, day) of every window the target's manifest records as done."""
    if target.endswith(".sqlite"):
        rows = read_rows(target, "_matomo_export")
        return {(int(r["id_site"]), str(r["day"])) for r in rows if r["status"] == "done"}
    journal = Path(target + "._matomo_export.jsonl")
    last: dict[tuple[int, str], str] = {}
    for line in journal.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "window":
            last[(int(entry["id_site"]), entry["day"])] = entry["status"]
    return {key for key, status in last.items() if status == "done"}


def _client(url: str, token: str = TOKEN, **kw: Any) -> AsyncMatomo:
    return AsyncMatomo(url, auth=Auth.token(token), **kw)


def _live_windows(sb: Sandbox, since: int = 0) -> Counter[tuple[int, str]]:
    """(idSite, day) of every day the Live requests the sandbox answered after request number
    `since` asked for."""
    return live_days(sb.requests[since:])


async def test_transient_faults_every_visit_exactly_once(tmp_path: Path) -> None:
    """60 days x 2 sites through 5xx, 429, truncated, HTML and hung answers: complete, once each, retries counted."""
    sb = Sandbox(
        # Seed 9: the fault draws of its first 110+ requests hold every kind at least once.
        # Page size 4 makes a week-long run of closed days (28 visits) take 8 requests.
        SandboxConfig(seed=9, days=DAYS + 1, visits_per_day=4, today=TODAY, faults=FAULTS)
    )
    target = str(tmp_path / "faults.duckdb")
    with served(sb.app) as url:
        # A short timeout turns each hung answer into a TransportError that is retried; ten
        # attempts make "every try of one request failed" vanishingly rare at these rates.
        async with _client(url, timeout=0.5, retry=RetryPolicy(attempts=10)) as m:
            summary = await export_visits(
                m, sites=[1, 2], start=FIRST, end=LAST, target=target, page_size=4, now=NOW
            )
    got = _ids(target)
    assert len(got) == len(set(got)), "a visit was written twice"
    assert set(got) == _expected(sb)
    faults = Counter(r.fault for r in sb.requests if r.fault is not None)
    assert {"429", "html", "truncated", "hang"} <= set(faults), faults
    assert faults.keys() & {"500", "502", "503"}
    # Every faulty answer cost exactly one retry, and the summary says so.
    assert summary.retries == sum(faults.values())
    assert summary.windows_exported == 2 * DAYS
    assert summary.mismatches == []
    assert summary.warnings == []
    assert summary.reconciled


async def test_visits_log_disabled_stops_then_resumes(tmp_path: Path) -> None:
    """A site whose visits log is off stops the export with one ExportApiError; once on, the re-run fetches only what is missing."""
    sb = Sandbox(
        SandboxConfig(seed=12, days=8, visits_per_day=5, today=TODAY, live_disabled_sites={2})
    )
    target = str(tmp_path / "disabled.sqlite")
    start = TODAY - timedelta(days=7)
    with served(sb.app) as url:
        async with _client(url) as m:
            with pytest.raises(ExportApiError) as info:
                await export_visits(
                    m, sites=[1, 2], start=start, end=LAST, target=target, now=NOW, concurrency=2
                )
            done_before = _done_windows(target)
            mark = len(sb.requests)
            sb.api.live_disabled_sites = frozenset()  # the admin switches it back on
            summary = await export_visits(
                m, sites=[1, 2], start=start, end=LAST, target=target, now=NOW, concurrency=2
            )
    message = str(info.value)
    assert "\n" not in message
    assert "site 2" in message
    assert "Visits log is deactivated" in message
    all_windows = {(s, (start + timedelta(days=i)).isoformat()) for s in (1, 2) for i in range(7)}
    assert done_before
    assert all(s == 1 for s, _ in done_before)
    # The re-run fetches exactly the windows that were not done: none twice, none skipped.
    assert set(_live_windows(sb, mark)) == all_windows - done_before
    assert summary.windows_skipped == len(done_before)
    assert summary.windows_exported + summary.windows_skipped == 2 * 7
    got = _ids(target)
    assert len(got) == len(set(got))
    assert set(got) == {
        (s, v.id_visit)
        for s in (1, 2)
        for d in (start + timedelta(days=i) for i in range(7))
        for v in sb.world.day_visits(s, d)
    }


class _RevokingProxy:
    """An ASGI wrapper that, once `revoked`, swaps the token in each body for a wrong one.

    The sandbox then answers exactly as Matomo does for a revoked token (HTTP 401, HTML page).
    `revoke_after` Live requests flips it on by itself, so the token dies mid-export.
    """

    def __init__(self, sb: Sandbox, revoke_after: int) -> None:
        self.sb = sb
        self.revoke_after = revoke_after
        self.live_seen = 0
        self.revoked = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.sb.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if b"Live.getLastVisitsDetails" in scope.get("query_string", b""):
            self.live_seen += 1
            if self.live_seen > self.revoke_after:
                self.revoked = True
        if self.revoked:
            body = body.replace(TOKEN.encode(), b"revoked-token")
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.sb.app(scope, replay, send)


async def test_token_revoked_mid_export_stops_then_resumes(tmp_path: Path) -> None:
    """A token that stops working mid-export gives one ExportApiError naming the auth failure; with a working token the re-run skips finished windows."""
    sb = Sandbox(SandboxConfig(seed=13, days=8, visits_per_day=5, today=TODAY))
    proxy = _RevokingProxy(sb, revoke_after=12)
    target = str(tmp_path / "revoked.jsonl")
    start = TODAY - timedelta(days=7)
    # Page size 2: about 8 requests for each run of three days, so the token goes mid-export.
    options: dict[str, Any] = {"start": start, "end": LAST, "now": NOW, "page_size": 2}
    with served(proxy) as url:
        async with _client(url) as m:
            with pytest.raises(ExportApiError) as info:
                await export_visits(m, sites=[1, 2], target=target, concurrency=1, **options)
            mark = len(sb.requests)
            done_before = _done_windows(target)
            proxy.revoked = False
            proxy.revoke_after = 10**9
            summary = await export_visits(m, sites=[1, 2], target=target, concurrency=1, **options)
    message = str(info.value)
    assert "\n" not in message
    assert "Unable to authenticate" in message
    assert TOKEN not in message
    all_windows = {(s, (start + timedelta(days=i)).isoformat()) for s in (1, 2) for i in range(7)}
    assert done_before
    assert set(_live_windows(sb, mark)) == all_windows - done_before
    assert summary.windows_skipped == len(done_before)
    got = _ids(target)
    assert len(got) == len(set(got))
    assert set(got) == {
        (s, v.id_visit)
        for s in (1, 2)
        for d in (start + timedelta(days=i) for i in range(7))
        for v in sb.world.day_visits(s, d)
    }


def test_cli_visits_log_disabled_one_line_then_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`matomo export visits` against a site with the visits log off prints one Error line (exit 1); once on, the same command finishes and fetches only what was missing."""
    from click.testing import CliRunner

    from matomo_client.cli import cli

    for key in ("MATOMO_URL", "MATOMO_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    today = datetime.now(timezone.utc).date()
    sb = Sandbox(SandboxConfig(seed=14, days=10, visits_per_day=4, live_disabled_sites={2}))
    target = str(tmp_path / "cli.sqlite")
    start, end = today - timedelta(days=6), today - timedelta(days=2)
    with served(sb.app) as url:
        args = ["export", "visits", "--url", url, "--site", "1,2", "--from", start.isoformat(),
                "--to", end.isoformat(), "--out", target, "--quiet", "--concurrency", "1"]  # fmt: skip
        env = {"MATOMO_TOKEN": TOKEN}
        first = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
        done_before = _done_windows(target)
        mark = len(sb.requests)
        sb.api.live_disabled_sites = frozenset()
        second = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    lines = [line for line in first.stderr.splitlines() if line.strip()]
    assert first.exit_code == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ")
    assert "Visits log is deactivated" in lines[0]
    assert "site 2" in lines[0]
    assert second.exit_code == 0, second.stderr
    windows = {(s, (start + timedelta(days=i)).isoformat()) for s in (1, 2) for i in range(5)}
    # One window at a time, site 1 first: all of site 1 was done before site 2 failed.
    assert done_before == {w for w in windows if w[0] == 1}
    assert set(_live_windows(sb, mark)) == windows - done_before
    got = _ids(target)
    assert len(got) == len(set(got))
    assert set(got) == {
        (s, v.id_visit)
        for s in (1, 2)
        for d in (start + timedelta(days=i) for i in range(5))
        for v in sb.world.day_visits(s, d)
    }
