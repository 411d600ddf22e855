"""Round 12 (this session's changes where they meet): the summary's lines, PostgreSQL URLs."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from export_fakeworld import FakeMatomo

from matomo_client.cli.display import ExportDisplay, summary_json
from matomo_client.export import export_visits
from matomo_client.export.progress import ExportSummary
from matomo_client.export.sinks.postgres import redact_url, url_passwords
from matomo_client.transports import MockTransport


def test_a_visits_summary_says_no_report_rows_and_names_refetched_windows() -> None:
    """`summary.lines()`: the refetch line went between the visits line and its `else`, so a
    visits export said "0 report rows written" and a refetching one did not."""
    plain = ExportSummary("visits", "x.duckdb", visits=5, actions=9)
    assert not any("report rows" in line for line in plain.lines())
    refetched = ExportSummary("visits", "x.duckdb", visits=5, windows_refetched=2)
    lines = refetched.lines()
    assert not any("report rows" in line for line in lines)
    assert any(line.startswith("2 done window(s) fetched again") for line in lines)
    reports = ExportSummary("reports:day", "x.duckdb", report_rows=7)
    assert "7 report rows written" in reports.lines()


@pytest.mark.parametrize("password", ["s?cr3t", "s#cr3t", "a?b#c", "p?w@rd"])
def test_a_password_with_question_mark_or_hash_is_never_shown(password: str) -> None:
    """libpq reads `user:password@` up to an `@` before any `/`: `?` and `#` are part of the
    password (psycopg connects with it), so the target shown must not hold it."""
    from psycopg.conninfo import conninfo_to_dict

    url = f"postgresql://u:{password}@127.0.0.1:5432/db"
    assert conninfo_to_dict(url)["password"] == password.partition("@")[0]
    shown = redact_url(url)
    assert shown.startswith("postgresql://u:***@")
    assert password.partition("@")[0] not in shown
    assert password in url_passwords(url)


def test_the_command_never_shows_a_password_with_a_question_mark() -> None:
    """End to end: the failure line names the target without its password, and the
    process-list warning is given."""
    from click.testing import CliRunner

    from matomo_client.cli import cli

    args = ["export", "visits", "--sandbox", "--site", "1", "--from", "yesterday", "--to"]
    args += ["yesterday", "-q", "--out", "postgresql://u:s?cr3t@127.0.0.1:1/db"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "s?cr3t" not in result.output
    assert "u:***@127.0.0.1:1/db" in result.output
    assert "holds a password" in result.output


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://h/db?a=b:c@d",
        "postgresql://[::1]:5432/db",
        "postgresql://h:5432/db?user=a:b@c",
        "postgresql:///db?host=/tmp&sslmode=disable",
    ],
)
def test_urls_without_a_password_are_shown_as_they_are(url: str) -> None:
    """No `user:password@` before the first `/`: nothing to mask."""
    assert redact_url(url) == url


@pytest.mark.anyio
async def test_a_kept_window_is_not_counted_as_written_for_its_site(tmp_path: Path) -> None:
    """`--refetch-short` on a day whose visits log gives no more visits keeps its rows and
    counts it "done before"; the per-site table (`--json` `sites[].windows`) said 1 window
    written for the site while the total said 0."""
    today, day = date(2024, 3, 20), date(2024, 3, 17)
    now = datetime(2024, 3, 20, 12, 0, tzinfo=timezone.utc)
    world = FakeMatomo(today, days=6)
    kw = {
        "sites": [1, 2],
        "start": today - timedelta(days=4),
        "end": "yesterday",
        "target": str(tmp_path / "x.duckdb"),
        "now": now,
    }
    async with world.client(MockTransport(world.handle)) as m:
        await export_visits(m, **kw)
    lost = world.owned(1, day)[:3]
    world.visits = [v for v in world.visits if v not in lost]  # the log lost three visits
    world.summary_offset[(1, day)] = 5  # and the archive counts more than it had
    display = ExportDisplay("visits", show=False)
    async with world.client(MockTransport(world.handle)) as m:
        summary = await export_visits(m, progress=display, refetch_short=True, **kw)
    assert summary.windows_kept == [(1, day)]
    data = summary_json(summary, display)
    assert data["windows_exported"] == 0
    assert [s["windows"] for s in data["sites"]] == [0, 0]
