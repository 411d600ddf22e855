"""The export's own log (`matomo_client.export`): a start record, one per window written, the
reconciliation and the end at INFO, the summary's warnings at WARNING; never the token or a
target's password. `matomo -v` shows them with timestamps, `--debug` too; stdout stays as is.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, quote_plus

import anyio
import pytest
from click.testing import CliRunner
from export_fakeworld import FakeMatomo
from export_sandbox import sandbox_client

from matomo_client.cli import cli
from matomo_client.export import ExportSummary, export_reports, export_visits, runlog
from matomo_client.export.sinks import open_target
from matomo_client.sandbox import Faults, Sandbox, SandboxConfig, serve_in_thread

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
START = TODAY - timedelta(days=3)
EXPORT = "matomo_client.export"
MARKER = "Mark3rTok+en/exp=9MARKER"  # its raw, quoted and quote_plus'ed forms all differ
FORMS = (MARKER, quote(MARKER, safe=""), quote_plus(MARKER), quote(MARKER))
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
LINE = re.compile(rf"^{STAMP} (?P<level>DEBUG|INFO|WARNING) (?P<name>[\w.]+): (?P<msg>.*)$")


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The log captured, the export logger's at INFO and above."""
    with caplog.at_level(logging.INFO, logger=EXPORT):
        yield caplog


def _mine(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == EXPORT]


def _found(pattern: str, text: str) -> str:
    """The first group of `pattern` in `text` (which must match)."""
    m = re.search(pattern, text)
    assert m is not None, text
    return m[1]


async def _visits(world: FakeMatomo, target: str, **kw: object) -> ExportSummary:
    async with world.client() as m:
        return await export_visits(
            m, sites=[1, 2], start=START, end="today", target=target, page_size=4, now=NOW,
            workers=0, **kw,  # type: ignore[arg-type]
        )  # fmt: skip


async def test_a_visits_export_logs_its_start_each_window_the_reconciliation_and_its_end(
    tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    """One INFO record to start (kind, sites, range, target, windows), one per window written
    (site, day, visits, actions, done/open, how far), the reconciliation, the end's figures."""
    target = str(tmp_path / "v.duckdb")
    summary = await _visits(FakeMatomo(today=TODAY, days=5, per_day=5), target)
    mine = _mine(records)
    assert all(r.levelno == logging.INFO for r in mine)
    texts = [r.getMessage() for r in mine]
    assert texts[0] == (
        f"visits export to {target}: sites 1, 2; from {START} to today ({START} to {TODAY}); "
        "8 windows, 0 done by an earlier run, 8 to fetch"
    )
    windows = [t for t in texts if re.match(r"site \d, \d{4}-\d\d-\d\d: ", t)]
    assert len(windows) == summary.windows_exported == 8
    assert sum(int(_found(r": (\d+) visits", t)) for t in windows) == summary.visits
    assert sum(t.count(", open (") for t in windows) == summary.windows_open == 2
    assert [_found(r"\((\d+) of 8 windows\)$", t) for t in windows] == [str(n) for n in range(1, 9)]
    assert texts[-2] == "reconciled: every window matches VisitsSummary.nb_visits"
    assert re.fullmatch(
        rf"visits export to {re.escape(target)} done in \d+\.\d s: 8 windows exported, 0 already "
        rf"done, 2 still open \(of 8\); {summary.visits} visits, {summary.actions} actions; "
        rf"{summary.requests} requests, 0 retries",
        texts[-1],
    )
    assert len(texts) == 8 + 3


async def test_a_resumed_export_says_what_an_earlier_run_did_and_logs_only_what_it_writes(
    tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    """The second run: "6 done by an earlier run, 2 to fetch", and two window records."""
    world = FakeMatomo(today=TODAY, days=5, per_day=5)
    target = str(tmp_path / "v.jsonl")
    await _visits(world, target)
    records.clear()
    await _visits(world, target)
    texts = [r.getMessage() for r in _mine(records)]
    assert texts[0].endswith("8 windows, 6 done by an earlier run, 2 to fetch")
    windows = [t for t in texts if t.startswith("site ")]
    assert len(windows) == 2
    assert all(f"{TODAY}: " in t and ", open (" in t for t in windows)
    assert [t[-16:] for t in windows] == ["(7 of 8 windows)", "(8 of 8 windows)"]


async def test_mismatches_and_the_summary_warnings_are_warnings(
    tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    """A day Matomo counts differently is a WARNING naming it; a site left out (`all`, its
    visits log off) is a WARNING with the summary's text, after the end record."""
    world = FakeMatomo(today=TODAY, days=5, per_day=5, disabled_sites={2})
    world.summary_offset[(1, START)] = 1
    async with world.client() as m:
        summary = await export_visits(
            m, sites="all", start=START, end="yesterday", target=str(tmp_path / "v.sqlite"),
            page_size=4, now=NOW, workers=0,
        )  # fmt: skip
    mine = _mine(records)
    assert summary.mismatches
    assert summary.warnings
    assert mine[0].getMessage().startswith("visits export to ")
    assert "sites 1, 2, 3 (all);" in mine[0].getMessage()
    warned = [r.getMessage() for r in mine if r.levelno == logging.WARNING]
    assert warned[0] == (
        "reconciled: VisitsSummary.nb_visits differs for 1 window: "
        + summary.mismatches[0].describe()
    )
    assert warned[1:] == summary.warnings
    infos = [r.getMessage() for r in mine if r.levelno == logging.INFO]
    assert "not reconciled: site 2 (see the warnings)" in infos
    assert "every window matches" not in " ".join(infos)
    assert infos[-1].startswith("visits export to ")


async def test_a_failed_export_logs_that_it_stopped(
    tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    """An export that fails once started says so, with what it had written."""
    world = FakeMatomo(today=TODAY, days=5, per_day=5, disabled_sites={2})
    with pytest.raises(Exception, match="Visits log is deactivated"):
        await _visits(world, str(tmp_path / "v.duckdb"))
    last = _mine(records)[-1]
    assert last.levelno == logging.INFO
    assert re.match(r"visits export to \S+ stopped \(ExportApiError\) in ", last.getMessage())


async def test_an_export_refused_before_it_starts_logs_nothing(
    tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    """A target holding another export's options: the error says it, no "stopped" record of
    an export that never started."""
    world = FakeMatomo(today=TODAY, days=5, per_day=5)
    target = str(tmp_path / "v.duckdb")
    await _visits(world, target)
    records.clear()
    with pytest.raises(Exception, match="other options"):
        await _visits(world, target, segment="browserCode==FF")
    assert _mine(records) == []


async def test_done_days_fetched_again_are_logged(
    tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    """`refetch_short`: how many done days are fetched again, and each one's outcome (here its
    rows are kept: Matomo counts one visit more than it lists)."""
    world = FakeMatomo(today=TODAY, days=5, per_day=5)
    target = str(tmp_path / "v.duckdb")
    await _visits(world, target)
    world.summary_offset[(1, START)] = 1
    records.clear()
    await _visits(world, target, refetch_short=True)
    texts = [r.getMessage() for r in _mine(records)]
    assert texts[0].endswith("8 windows, 5 done by an earlier run, 3 to fetch")
    assert texts[1] == "1 done window(s) Matomo now counts more visits for: fetched again"
    assert f"site 1, {START}: fetched again, no more visits than exported: rows kept" in " ".join(
        texts
    )


async def test_an_interrupted_export_says_so(
    tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    """Cancelled (Ctrl-C, SIGTERM in the CLI): "stopped (interrupted)", no class name."""
    world = FakeMatomo(today=TODAY, days=5, per_day=5)
    with anyio.CancelScope() as scope:

        def stop(progress: object) -> None:
            if getattr(progress, "windows_done", 0) >= 2:
                scope.cancel()

        await _visits(world, str(tmp_path / "v.jsonl"), progress=stop)
    assert scope.cancelled_caught
    last = _mine(records)[-1].getMessage()
    assert re.match(r"visits export to \S+ stopped \(interrupted\) in ", last)


async def test_a_reports_export_logs_each_transaction(
    tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    """Reports: the start names the period and the reports, one record per chunk written."""
    world = FakeMatomo(today=TODAY, days=5, per_day=5)
    target = str(tmp_path / "r.duckdb")
    async with world.client() as m:
        summary = await export_reports(
            m, sites=[1], start=START, end="yesterday", reports=["VisitsSummary.get"],
            target=target, now=NOW,
        )  # fmt: skip
    texts = [r.getMessage() for r in _mine(records)]
    assert texts[0] == (
        f"reports export by day to {target}: site 1; from {START} to yesterday "
        f"({START} to {TODAY - timedelta(days=1)}); reports VisitsSummary.get; "
        "3 windows, 0 done by an earlier run, 3 to fetch"
    )
    chunks = [t for t in texts if t.startswith("site 1, ")]
    assert chunks
    assert all(
        re.search(r": \d+ windows done, \d+ report rows \(\d of 3 windows\)$", t) for t in chunks
    )
    assert texts[-1].startswith(f"reports export by day to {target} done in ")
    assert f"; {summary.report_rows} report rows;" in texts[-1]


async def test_a_database_url_target_is_logged_without_its_password(
    tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    """A target named by a URL with a password shows it as the CLI does: `***`."""
    sink = open_target(str(tmp_path / "v.duckdb"))
    sink.target = "postgresql://etl:pa55word@db.example/wh?sslpassword=kpa55"
    await _visits(FakeMatomo(today=TODAY, days=5, per_day=5), sink)  # type: ignore[arg-type]
    text = "\n".join(r.getMessage() for r in _mine(records))
    assert "pa55" not in text
    assert "postgresql://etl:***@db.example/wh?sslpassword=***" in text
    assert runlog.shown_target("postgres://u:x@h/d") == "postgres://u:***@h/d"


async def test_with_info_off_no_window_record_is_formatted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of windows: with the logger above INFO nothing per window is even built."""

    def fail(self: object) -> str:
        raise AssertionError("formatted with INFO off")

    monkeypatch.setattr(runlog.RunLog, "_counted", fail)
    with caplog.at_level(logging.WARNING, logger=EXPORT):
        summary = await _visits(FakeMatomo(today=TODAY, days=5, per_day=5), str(tmp_path / "v.csv"))
    assert summary.windows_exported == 8
    assert _mine(caplog) == []


def _assert_no_token(text: str) -> None:
    for form in FORMS:
        assert form not in text, f"the token leaked: {text[:300]!r}"


async def test_no_record_holds_the_token(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every logger at DEBUG over a faulty sandbox whose token is the marker, with a segment
    that holds it too: no record's text, arguments or attributes hold any form of it."""
    config = SandboxConfig(
        seed=3, days=4, visits_per_day=5, token=MARKER, faults=Faults(error_5xx_rate=0.2)
    )
    sb = Sandbox(config)
    with caplog.at_level(logging.DEBUG):
        async with sandbox_client(sb) as m:
            await export_visits(
                m, sites="all", start="last3", end="today", target=str(tmp_path / "v.duckdb"),
                segment=f"pageUrl=@{quote(MARKER, safe='')}", workers=0,
            )  # fmt: skip
    mine = _mine(caplog)
    assert any(r.getMessage().startswith("site ") for r in mine)
    assert "segment pageUrl=@***" in mine[0].getMessage()
    for r in caplog.records:
        _assert_no_token(caplog.handler.format(r))
        _assert_no_token(repr(r.args))
        _assert_no_token(repr(vars(r)))


# --- the CLI -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """A served sandbox whose token is the marker, with a few 5xx answers."""
    config = SandboxConfig(
        seed=5, days=5, visits_per_day=6, token=MARKER, faults=Faults(error_5xx_rate=0.2)
    )
    with serve_in_thread(Sandbox(config)) as url:
        yield url


def _matomo(args: list[str], url: str, **env: str) -> tuple[int, str, str]:
    clean = {k: None for k in os.environ if k.startswith("MATOMO_")}
    result = CliRunner().invoke(
        cli, [*args, "--url", url], env={**clean, "MATOMO_TOKEN": MARKER, **env},
        catch_exceptions=False,
    )  # fmt: skip
    return result.exit_code, result.stdout, result.stderr


def _export(tmp_path: Path, name: str) -> list[str]:
    return ["export", "visits", "--site", "all", "--from", "last3", "--to", "today",
            "--out", str(tmp_path / name), "--json"]  # fmt: skip


@pytest.mark.parametrize("how", ["-v", "MATOMO_LOG=info", "--debug"])
def test_the_cli_shows_the_export_log_with_timestamps_and_json_stays_one_object(
    served: str, tmp_path: Path, how: str
) -> None:
    """`-v`, `MATOMO_LOG=info` and `--debug` (now timestamped too): the export's records on
    stderr, stdout one JSON object, no form of the token anywhere."""
    args = _export(tmp_path, "v.duckdb")
    env: dict[str, str] = {}
    if how == "-v":
        args = ["-v", *args]
    elif how == "--debug":
        args.append("--debug")
    else:
        env["MATOMO_LOG"] = "info"
    code, out, err = _matomo(args, served, **env)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["ok"] is True
    lines = [m for m in map(LINE.match, err.splitlines()) if m and m["name"] == EXPORT]
    assert lines[0]["msg"].startswith("visits export to ")
    assert sum(m["msg"].startswith("site ") for m in lines) == summary["windows_exported"]
    assert lines[-1]["msg"].startswith("visits export to ")
    assert " done in " in lines[-1]["msg"]
    if how == "--debug":  # every line of the log is timestamped, httpx's included
        logged = [x for x in err.splitlines() if re.match(r"^\S+ \S+ (DEBUG|INFO) ", x)]
        assert logged
        assert all(LINE.match(x) for x in logged)
    _assert_no_token(out + err)


def test_without_v_the_cli_logs_nothing_of_the_export(served: str, tmp_path: Path) -> None:
    """No -v: stderr holds no record of the export."""
    code, _, err = _matomo(["export", "visits", "--site", "all", "--from", "last3", "--to",
                              "today", "--out", str(tmp_path / "v.csv")], served)  # fmt: skip
    assert code == 0, err
    assert EXPORT not in err
    assert not re.search(r"^(reconciled|not reconciled|site \d+, )", err, re.MULTILINE)


def test_warnings_are_not_printed_by_logging_s_last_resort() -> None:
    """With no handler configured (a script, the CLI without -v), a WARNING record of the
    export's is not printed on stderr by logging's last resort: the summary has it already."""
    code = (
        "import logging; from matomo_client.export import runlog; "
        "runlog.log.warning('site 2: left out'); logging.getLogger('matomo_client').warning('x')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "left out" not in done.stderr
