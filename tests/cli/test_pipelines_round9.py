"""`matomo` run unattended (cron, CI, Airflow, `docker run`): what a job's log and exit code show.

Without a terminal the summary's notes stay one line each (a job greps `^Mismatch:`), a long
export says now and then that it is alive, and `matomo --help` lists the exit codes.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from matomo_client.cli import connection, display
from matomo_client.cli.display import ExportDisplay, console, render_summary
from matomo_client.export import ExportSummary, Mismatch

from .conftest import invoke

LONG_CAUSE = (
    "Matomo counts visits the visits log no longer holds (raw data deleted or anonymised after "
    "archiving, or the visits log truncated), or visits tracked late (queued tracking, an "
    "imported log) after this day was exported: a done day is not fetched again"
)
LONG_WARNING = "site 7:" + " a long message from Matomo" * 12


def test_summary_notes_stay_one_line_each_in_a_log() -> None:
    """Piped or redirected, each Mismatch and Warning line is whole: at 200 columns rich cut the
    longer causes into two lines, and `grep '^Mismatch:'` lost their ends."""
    summary = ExportSummary("visits", "out.jsonl", sites=[1], windows_total=3,
                            windows_exported=3, windows_open=1, reconciled=True)  # fmt: skip
    summary.mismatches.append(Mismatch(1, date(2024, 3, 8), 46, 47, LONG_CAUSE))
    summary.warnings.append(LONG_WARNING)
    out = io.StringIO()  # not a terminal, as under cron or `> summary.txt`
    render_summary(summary, ExportDisplay("visits", show=False), console(out))
    lines = out.getvalue().splitlines()
    mismatch = [line for line in lines if line.startswith("Mismatch: ")]
    assert mismatch == [f"Mismatch: site 1 2024-03-08: exported 46 visits, "
                        f"VisitsSummary says 47 ({LONG_CAUSE})"]  # fmt: skip
    assert [line for line in lines if line.startswith("Warning: ")] == [f"Warning: {LONG_WARNING}"]
    assert any(line.startswith("1 window(s) are not over yet: ") and line.endswith("command.")
               for line in lines)  # fmt: skip


def test_help_lists_the_exit_codes() -> None:
    """A job decides what to do from the exit code: `matomo --help` says what each one means."""
    result = invoke(["--help"])
    assert result.exit_code == 0
    codes = result.output[result.output.index("Exit codes") :]
    for code in ("0 ", "1 ", "2 ", "130 ", "143 "):
        assert re.search(rf"^\s*{code}|; {code}", codes, re.M), code


@pytest.fixture
def slow_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """An in-process sandbox that answers in 40 ms, and a tick every 50 ms instead of a minute."""
    overrides = {"days": 10, "visits_per_day": 6, "latency_ms": 40.0}
    monkeypatch.setattr(connection, "sandbox_overrides", overrides)
    monkeypatch.setattr(display, "TICK_SECONDS", 0.05, raising=False)


EXPORT = ["export", "visits", "--sandbox", "--site", "all", "--from", "last10", "--to",
          "yesterday", "--concurrency", "1", "--workers", "0", "--out", "x.jsonl"]  # fmt: skip
TICK = re.compile(
    r"^visits( \(\w+\))?: (starting, \d+s elapsed|[\d,]+ of [\d,]+ windows, [\d,]+ visits, "
    r"[\d,]+ requests, [\d,]+ retries, \d+s elapsed)$"
)


@pytest.mark.usefixtures("slow_sandbox")
def test_a_long_export_without_a_terminal_says_it_is_alive() -> None:
    """With stderr not a terminal (no bars), an export wrote nothing for as long as it ran (CI
    services kill a step silent for 10 minutes): now a plain line each TICK_SECONDS."""
    result = invoke(EXPORT)
    assert result.exit_code == 0, result.stderr
    ticks = result.stderr.splitlines()
    assert ticks
    assert all(TICK.match(line) for line in ticks), ticks
    assert "Reconciled" in result.stdout
    assert not any(TICK.match(line) for line in result.stdout.splitlines())


@pytest.mark.usefixtures("slow_sandbox")
def test_quiet_export_writes_nothing_on_stderr() -> None:
    """`--quiet` keeps stderr for errors only."""
    result = invoke([*EXPORT, "--quiet"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def test_json_summary_is_one_object_a_job_can_read() -> None:
    """`--json`: the summary a job needs to decide (windows open: run again; mismatches) is one
    JSON line on stdout, not a table to scrape."""
    result = invoke(["export", "visits", "--sandbox", "--site", "1,3", "--from", "last3", "--to",
                     "today", "--workers", "0", "--out", "x.jsonl", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    summary = json.loads(result.stdout)
    assert result.stdout.count("\n") == 1
    assert summary["ok"] is True
    assert summary["exit_code"] == 0
    assert (summary["kind"], summary["period"], summary["target"]) == ("visits", None, "x.jsonl")
    assert [s["id_site"] for s in summary["sites"]] == [1, 3]
    assert summary["windows_total"] == summary["windows_exported"] == 6
    # Today, of each site (both in UTC); in the hour after midnight yesterday too (not settled).
    settling = datetime.now(timezone.utc).hour == 0
    assert summary["windows_open"] in ((2, 4) if settling else (2,))
    assert summary["run_again"] is True
    assert summary["visits"] == sum(s["visits"] for s in summary["sites"]) > 0
    assert summary["reconciled"] is True
    assert summary["not_reconciled"] == []
    assert summary["reconciliation_ok"] is True
    assert summary["mismatches"] == []
    assert summary["warnings"] == []


def test_json_summary_of_reports() -> None:
    """A reports export names its period and rows; closed days leave nothing to run again."""
    today = datetime.now(timezone.utc).date()  # site 1's; two days back is closed at any hour
    first, last = (today - timedelta(days=4)).isoformat(), (today - timedelta(days=2)).isoformat()
    result = invoke(["export", "reports", "--sandbox", "--site", "1", "--from", first, "--to",
                     last, "--report", "Actions.getPageUrls", "--out", "r.jsonl",
                     "--json"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["kind"], summary["period"]) == ("reports", "day")
    assert summary["report_rows"] == summary["sites"][0]["rows"] > 0
    assert summary["run_again"] is False


@pytest.mark.parametrize(
    ("args", "code", "resumable"),
    [
        (["--site", "1", "--from", "bogus", "--to", "today"], 2, False),  # a bad value
        (["--from", "last3", "--to", "today"], 2, False),  # a missing option
        (["--site", "1", "--from", "last3", "--to", "today", "--bogus"], 2, False),  # unknown
        (["--site", "all,1", "--from", "last3", "--to", "today"], 2, False),  # checked later
        (["--site", "1", "--from", "last3", "--to", "today", "--url", "CLOSED"], 1, True),
    ],
)
def test_json_failures_are_json_too(
    args: list[str], code: int, resumable: bool, closed_port_url: str
) -> None:
    """With `--json`, every failure also leaves one JSON object on stdout (and its usual line on
    stderr): a job that parses stdout never gets an empty or cut document."""
    argv = [a.replace("CLOSED", closed_port_url) for a in args]
    env = {"MATOMO_TOKEN": "sandbox-token"}
    result = invoke(["export", "visits", "--json", *argv, "--out", "x.jsonl"], env=env)
    assert result.exit_code == code
    failure = json.loads(result.stdout)
    assert failure["ok"] is False
    assert failure["exit_code"] == code
    assert failure["resumable"] is resumable
    assert failure["retryable"] is (code == 1)  # the server down may pass; bad input will not
    assert f"Error: {failure['error']}" == result.stderr.strip()


def test_json_failure_of_a_refused_token_is_not_retryable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token Matomo refuses fails every run the same way: a scheduler should not retry it."""
    monkeypatch.setattr(connection, "sandbox_overrides", {"days": 5, "token": "the-right-one"})
    result = invoke(
        ["export", "visits", "--sandbox", "--json", "--site", "1", "--from", "last2", "--to",
         "yesterday", "--out", str(tmp_path / "x.jsonl")],
        env={"MATOMO_TOKEN": "not-the-sandbox-token"},
    )  # fmt: skip
    assert result.exit_code == 1
    failure = json.loads(result.stdout)
    assert failure["retryable"] is False


def test_json_failure_of_the_target_is_resumable(tmp_path: Path) -> None:
    """A target the export cannot use (exit 2, like bad input) still resumes once mended:
    `resumable` is about the input, not the exit code."""
    target = tmp_path / "x.sqlite"
    target.write_text("not a database\n" * 100)
    result = invoke(
        ["export", "visits", "--sandbox", "--json", "--site", "1", "--from", "last2", "--to",
         "yesterday", "--out", str(target)],
    )  # fmt: skip
    assert result.exit_code == 2
    failure = json.loads(result.stdout)
    assert failure["resumable"] is True
    assert failure["retryable"] is False


def test_json_failure_of_an_interrupted_export_is_retryable(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    """Ctrl-C, SIGTERM or SIGHUP: running the same command again resumes and may succeed."""
    from matomo_client.cli.failures import SESSION, show_failure

    SESSION.reset()
    SESSION.json = True
    SESSION.resumable = True
    try:
        assert show_failure(KeyboardInterrupt()) == 130
    finally:
        SESSION.reset()
    failure = json.loads(capfdbinary.readouterr().out)
    assert failure["exit_code"] == 130
    assert failure["resumable"] is True
    assert failure["retryable"] is True
