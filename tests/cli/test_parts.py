"""The CLI's small parts on their own: date parsing, the progress display, the summary table."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import pytest
from rich.console import Console

from matomo_client.cli.connection import Connection, display_url
from matomo_client.cli.display import ExportDisplay, render_summary, show_target
from matomo_client.cli.options import parse_day
from matomo_client.export import ExportProgress, ExportSummary, Mismatch

TODAY = date(2024, 3, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31", date(2024, 1, 31)),
        ("today", TODAY),
        ("Yesterday", date(2024, 3, 9)),
        ("last1", TODAY),  # Matomo's last1 is today
        ("last7", date(2024, 3, 4)),  # last7 includes today: 7 days ending today
        ("previous7", date(2024, 3, 3)),  # previous7 ends yesterday
        (" 2024-02-29 ", date(2024, 2, 29)),
    ],
)
def test_parse_day(text: str, expected: date) -> None:
    """--from/--to forms resolve like Matomo's, lastN counting today."""
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize("text", ["2023-02-29", "last0", "next3", "2024/01/01", "", "tomorrow"])
def test_parse_day_rejects(text: str) -> None:
    """Anything else is a ValueError with a readable message."""
    with pytest.raises(ValueError, match="invalid date"):
        parse_day(text, TODAY)


def _snap(done: int, visits: int, last: str | None, total: int = 4) -> ExportProgress:
    return ExportProgress(
        kind="visits",
        phase="exporting",
        windows_total=total,
        windows_done=done,
        windows_skipped=0,
        visits=visits,
        actions=visits * 3,
        report_rows=0,
        requests=done * 2,
        retries=0,
        last_window=last,
    )


def test_display_tallies_per_site_and_draws_progress() -> None:
    """Snapshots become per-site tallies, and the bar (when shown) reports windows and visits."""
    stream = io.StringIO()
    display = ExportDisplay("visits", show=True, stream=stream)
    with display:
        display(_snap(0, 0, None))
        display(_snap(1, 10, "site 1, 2024-03-08"))
        display(_snap(2, 15, "site 2, 2024-03-08"))
        display(_snap(3, 40, "site 1, 2024-03-09"))
    assert display.sites[1].windows == 2
    assert display.sites[1].visits == 35
    assert display.sites[2].visits == 5
    assert display.sites[2].actions == 15
    drawn = stream.getvalue()
    assert "3/4" in drawn
    assert "40 visits" in drawn


def test_display_bar_counts_windows_waiting_for_their_transaction() -> None:
    """Windows fetched but not committed yet (pending) move the bar and the site's tally; their
    visits come with the commit (before: the bar stayed at 0/3 until the commit)."""
    stream = io.StringIO()
    display = ExportDisplay("visits", show=True, stream=stream)
    with display:
        display(_snap(0, 0, None, total=3))
        display(replace(_snap(0, 0, "site 1, 2024-03-08", total=3), windows_pending=1))
        display(replace(_snap(0, 0, "site 2, 2024-03-08", total=3), windows_pending=2))
        assert display._progress is not None
        assert display._progress.tasks[0].completed == 2
        display(replace(_snap(1, 10, "site 1, 2024-03-08", total=3), windows_pending=1))
        display(_snap(2, 15, "site 2, 2024-03-08", total=3))
    assert (display.sites[1].windows, display.sites[1].visits) == (1, 10)
    assert (display.sites[2].windows, display.sites[2].visits) == (1, 5)


def test_display_counts_the_visits_of_windows_waiting_for_a_transaction() -> None:
    """The bar and the plain progress line count the visits of fetched windows a SQL target
    has not committed yet: "2 of 3 windows, 0 visits" read as two empty days."""
    stream = io.StringIO()
    display = ExportDisplay("visits", show=True, stream=stream)
    with display:
        display(_snap(0, 0, None, total=3))
        display(
            replace(
                _snap(0, 0, "site 1, 2024-03-08", total=3),
                windows_pending=2,
                visits_pending=25,
                actions_pending=70,
            )
        )
        assert display._progress is not None
        assert display._progress.tasks[0].fields["count"] == 25
        assert "2 of 3 windows, 25 visits" in display.tick_line()
        display(replace(_snap(2, 25, "site 1, 2024-03-08", total=3), windows_pending=0))
        assert display._progress.tasks[0].fields["count"] == 25
        assert "2 of 3 windows, 25 visits" in display.tick_line()
    assert display.sites[1].visits == 25  # the tally: committed visits, counted once


def test_display_hidden_draws_nothing() -> None:
    """With show=False (quiet or no terminal) nothing is written, but tallies are kept."""
    stream = io.StringIO()
    display = ExportDisplay("visits", show=False, stream=stream)
    with display:
        display(_snap(0, 0, None))
        display(_snap(1, 7, "site 3, 2024-03-08"))
    assert stream.getvalue() == ""
    assert display.sites[3].visits == 7


def test_summary_table_names_mismatches() -> None:
    """The summary prints one row per site, totals, and each mismatch with its cause."""
    display = ExportDisplay("visits", show=False)
    display(_snap(0, 0, None, total=2))
    display(_snap(1, 10, "site 1, 2024-03-08", total=2))
    display(_snap(2, 12, "site 2, 2024-03-08", total=2))
    summary = ExportSummary("visits", "out.duckdb", sites=[1, 2], windows_total=2,
                            windows_exported=2, visits=12, actions=36, retries=3,
                            reconciled=True)  # fmt: skip
    summary.mismatches.append(Mismatch(2, date(2024, 3, 8), 2, 3, "archive outdated"))
    out = io.StringIO()
    render_summary(summary, display, Console(file=out, width=200))
    text = out.getvalue()
    assert "visits export to out.duckdb" in text
    assert "2 (+0 done before) of 2" in text
    assert "Mismatch: site 2 2024-03-08: exported 2 visits" in text
    assert "archive outdated" in text
    assert "Reconciled" not in text


@pytest.mark.parametrize("kind", ["visits", "reports:day"])
def test_summary_counts_retries_once_for_the_run(kind: str) -> None:
    """Retries are the client's, for the whole run: the footer counts them, and the table has no
    per-site retries column (before: one, always '-')."""
    display = ExportDisplay(kind, show=False)
    summary = ExportSummary(kind, "out.duckdb", sites=[1, 2], windows_total=2,
                            windows_exported=2, requests=9, retries=3)  # fmt: skip
    out = io.StringIO()
    render_summary(summary, display, Console(file=out, width=200))
    lines = out.getvalue().splitlines()
    assert [line for line in lines if "retries" in line] == ["9 requests, 3 retries."]
    rows = [line for line in lines if line.startswith("│")]
    assert rows
    assert all(" - " not in row for row in rows)


def test_urls_lose_their_password() -> None:
    """Targets and URLs are shown without user:password."""
    assert display_url("https://u:secret@stats.example.com:8443/m/") == (
        "https://stats.example.com:8443/m/"
    )
    assert "secret" not in show_target("postgresql://me:secret@db:5432/matomo")
    assert show_target("out.duckdb") == "out.duckdb"


def test_connection_repr_hides_the_token() -> None:
    """A Connection's repr never shows the token."""
    conn = Connection("https://stats.example.com/", "tok-123456")
    assert "tok-123456" not in repr(conn)
