"""What the README says about tokens, the export's tables, its options and its defaults holds."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
import duckdb
import httpx

from matomo_client import AsyncMatomo, Auth, Matomo, RetryPolicy
from matomo_client.export import export_reports, export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"
TODAY = date(2026, 11, 30)


def _client(sb: Sandbox, token: str) -> AsyncMatomo:
    """An `AsyncMatomo` answered by `sb` in-process, with `token`."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    return AsyncMatomo("http://sandbox.test/", auth=Auth.token(token), http_client=http)


def _now() -> datetime:
    """Noon of the sandbox's today, UTC."""
    return datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=timezone.utc)


def test_every_option_in_the_prose_is_a_real_option() -> None:
    """Each `--option` the README names outside the generated CLI reference is in that reference
    (other than those of other tools: mypy's, the benchmark script's)."""
    start, end = TEXT.index(START), TEXT.index(END)
    pattern = r"(?<![\w-])--[a-z][a-z0-9-]*"
    real = set(re.findall(pattern, TEXT[start:end]))
    named = set(re.findall(pattern, TEXT[:start] + TEXT[end:]))
    assert named - real <= {"--strict", "--only"}, sorted(named - real)


def test_the_documented_defaults_are_the_defaults() -> None:
    """The README's `RetryPolicy(...)` defaults and `timeout=30.0` are the constructor's."""
    found = re.search(r"The defaults are `(RetryPolicy\([^`]*\))` and `timeout=([\d.]+)`", TEXT)
    assert found, "the README no longer states the defaults: update this test"
    stated = dict(re.findall(r"(\w+)=([\d.]+)", found.group(1)))
    assert set(stated) == {"attempts", "initial_wait", "max_wait", "max_total"}
    for name, value in stated.items():
        assert getattr(RetryPolicy(), name) == float(value), name
    client = AsyncMatomo("https://stats.example.com/")
    assert client.retry == RetryPolicy()
    for cls in (AsyncMatomo, Matomo):
        assert inspect.signature(cls.__init__).parameters["timeout"].default == float(
            found.group(2)
        )


def test_the_performance_prose_quotes_the_table() -> None:
    """The reports' round-trip ratio in the prose is figure 4's (it said 261x while the table said 243x)."""
    table = re.search(r"\| 4 \| Report round trips[^\n]*?\| (\d+)x fewer", TEXT)
    prose = re.search(r"round trips \((\d+)x fewer for reports", TEXT)
    assert table
    assert prose
    assert table.group(1) == prose.group(1)


def test_a_view_only_token_exports_visits_and_reports(tmp_path: Path) -> None:
    """'view access to a site is enough to read and export that site's visits and reports'."""
    sb = Sandbox(
        SandboxConfig(days=10, visits_per_day=20, today=TODAY, viewers={"viewtok": frozenset({1})})
    )
    target = str(tmp_path / "v.duckdb")

    async def main() -> None:
        async with _client(sb, "viewtok") as m:
            visits = await export_visits(
                m,
                sites="all",
                start="2026-11-27",
                end="2026-11-28",
                target=target,
                now=_now(),
                workers=0,
            )
            reports = await export_reports(
                m, sites="all", start="2026-11-27", end="2026-11-28", target=target, now=_now(),
                reports=["VisitsSummary.get"],
            )  # fmt: skip
        assert visits.ok
        assert visits.visits > 0
        assert list(visits.sites) == [1]
        assert reports.ok
        assert reports.report_rows == 2

    anyio.run(main)


def test_the_window_day_is_the_local_day_of_the_last_action(tmp_path: Path) -> None:
    """The README's tables and manifest: a visit's window is the day of its last action in the
    site's timezone, and `_matomo_export` holds the documented columns."""
    sb = Sandbox(SandboxConfig(days=10, visits_per_day=60, today=TODAY))
    target = str(tmp_path / "w.duckdb")

    async def main() -> None:
        async with _client(sb, sb.config.token) as m:
            await export_visits(
                m,
                sites=[2],
                start="2026-11-24",
                end="2026-11-28",
                target=target,
                now=_now(),
                workers=0,
            )

    anyio.run(main)
    db = duckdb.connect(target, read_only=True)
    manifest = {c[0] for c in db.execute("DESCRIBE _matomo_export").fetchall()}
    for name in (
        "kind",
        "id_site",
        "day",
        "status",
        "visits",
        "actions",
        "report_rows",
        "nb_visits",
        "params",
    ):
        assert f"`{name}`" in TEXT, name
        assert name in manifest, name
    counted = dict(
        db.execute(
            "SELECT day, visits FROM _matomo_export WHERE kind = 'visits' AND status = 'done'"
        ).fetchall()
    )
    berlin = ZoneInfo("Europe/Berlin")
    by_last: dict[date, int] = {}
    for (stamp,) in db.execute("SELECT last_action_timestamp FROM visits").fetchall():
        day = stamp.replace(tzinfo=timezone.utc).astimezone(berlin).date()
        by_last[day] = by_last.get(day, 0) + 1
    assert by_last == counted
    assert len(counted) == 5
    for table, names in {
        "actions": ("id_site", "id_visit", "position", "type", "url", "title", "timestamp"),
        "reports": (
            "id_site",
            "period",
            "date",
            "report",
            "report_params",
            "label",
            "metrics",
            "extra",
        ),
    }.items():
        columns = {c[0] for c in db.execute(f"DESCRIBE {table}").fetchall()}
        for name in names:
            assert f"`{name}`" in TEXT, (table, name)
            assert name in columns, (table, name)


def _cli(*args: str, cwd: Path) -> dict[str, object]:
    """`matomo export ... --sandbox --json` in `cwd`; its JSON line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATOMO_")}
    done = subprocess.run(
        [sys.executable, "-m", "matomo_client.cli", "export", *args, "--sandbox", "-q", "--json"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_which_options_may_change_between_runs(tmp_path: Path) -> None:
    """'Another --segment ... is refused unless --restart; --site, --from, --to, --concurrency,
    --page-size ... may change', and `--to yesterday` run again exports only what is not done
    (in the first hour after midnight, yesterday is still open: it is fetched again)."""
    start = (datetime.now(timezone.utc).date() - timedelta(days=3)).isoformat()
    base = ("visits", "--site", "1", "--from", start, "--to", "yesterday", "--out", "t.duckdb")
    first = _cli(*base, cwd=tmp_path)
    assert first["ok"]
    assert first["windows_exported"] == 3
    assert first["windows_open"] <= 1  # yesterday, until it has settled
    again = _cli(*base, "--page-size", "7", "--concurrency", "2", "--workers", "0", cwd=tmp_path)
    assert again["ok"]
    assert again["windows_exported"] == first["windows_open"]
    assert again["windows_skipped"] == 3 - first["windows_open"]
    refused = _cli(*base, "--segment", "countryCode==de", cwd=tmp_path)
    assert refused["exit_code"] == 2, refused
    assert "--restart" in str(refused["error"]), refused
    more = _cli("visits", "--site", "1,2", "--from", "last5", "--to", "yesterday", "--out",
                "t.duckdb", cwd=tmp_path)  # fmt: skip
    assert more["ok"], more
    done = 3 - again["windows_open"]  # site 1's days already done (yesterday: once settled)
    assert more["windows_skipped"] == done
    assert more["windows_exported"] == 1 + (3 - done) + 4  # site 1's other days, site 2's four
    assert _cli(*base, "--segment", "countryCode==de", "--restart", cwd=tmp_path)["ok"]


def test_action_timestamps_are_utc_instants(tmp_path: Path) -> None:
    """'Timestamps are UTC instants': a one-action visit's action happened at its first action time,
    on a site that is not in UTC too."""
    sb = Sandbox(SandboxConfig(days=10, visits_per_day=60, today=TODAY))
    target = str(tmp_path / "a.duckdb")

    async def main() -> None:
        async with _client(sb, sb.config.token) as m:
            await export_visits(
                m,
                sites=[2],
                start="2026-11-27",
                end="2026-11-27",
                target=target,
                now=_now(),
                workers=0,
            )

    anyio.run(main)
    db = duckdb.connect(target, read_only=True)
    pairs = db.execute(
        "SELECT v.first_action_timestamp, a.timestamp FROM visits v JOIN actions a USING (id_site, id_visit)"
        " WHERE v.actions = 1 AND a.position = 1"
    ).fetchall()
    assert pairs
    assert all(first == action for first, action in pairs), pairs[:3]
