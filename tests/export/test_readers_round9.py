"""Other programs beside an export: a reader or writer holding the database, a notebook's own
DuckDB connection, exports into two schemas at once, and tables changed by hand."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client

from matomo_client.export import TargetError, export_visits, open_target
from matomo_client.export.rows import build_visit_batches
from matomo_client.export.sinks import DuckDBSink, PostgresSink, SQLiteSink
from matomo_client.export.state import DONE, JobInfo, WindowRecord, fingerprint
from matomo_client.sandbox import Sandbox, SandboxConfig

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
VISIT = {
    "idSite": "1",
    "idVisit": "7",
    "lastActionTimestamp": 1716000000,
    "actionDetails": [{"type": "action", "url": "https://shop.example/", "timestamp": 1716000000}],
}


def _job() -> JobInfo:
    p = {"kind": "visits", "sites": [1]}
    return JobInfo("visits", p, fingerprint(p))


def _write_one(sink: Any) -> None:
    visits, actions = build_visit_batches([VISIT])
    rec = WindowRecord("visits", 1, date(2024, 5, 18), DONE, 1, 1, bounds=None)
    sink.write_window("visits", [rec], [visits, actions])


def _target(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / f"x.{kind}")


def _sql(target: str, statement: str) -> None:
    """Run one statement on the target with its own driver, as a user at a SQL prompt would."""
    if target.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(target, autocommit=True) as con:
            con.execute(statement)
    elif target.endswith(".duckdb"):
        with duckdb.connect(target) as con:
            con.execute(statement)
    else:
        with sqlite3.connect(target) as con:
            con.execute(statement)


def test_a_sqlite_target_locked_by_another_program_is_one_clear_target_error(
    tmp_path: Path,
) -> None:
    """Another program's open write transaction: the export stops with a TargetError saying
    what to do (it was a bare `sqlite3.OperationalError`, an "internal error" in the command),
    and once that program commits the same calls complete."""
    target = str(tmp_path / "x.sqlite")
    sink = SQLiteSink(target)
    sink.open()
    other = sqlite3.connect(target, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    sink.con.execute("PRAGMA busy_timeout = 0")  # SQLite waits 5 s by default
    try:
        with pytest.raises(TargetError, match="another program holds a lock on it") as e:
            sink.start_job(_job(), restart=False)
        assert "run the same command again" in str(e.value)
        other.execute("COMMIT")
        sink.start_job(_job(), restart=False)
        _write_one(sink)
    finally:
        other.close()
        sink.close()
    assert [r["id_visit"] for r in read_rows(target, "visits")] == [7]


_HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1], read_only=True)
print("open", flush=True)
time.sleep(60)
"""


def test_a_duckdb_file_another_process_has_open_names_it_and_what_to_do(tmp_path: Path) -> None:
    """A BI tool holding the DuckDB file (here read-only): the error names the process and asks
    to close it, instead of DuckDB's advice to open the file read-only (no use to an export)."""
    target = str(tmp_path / "x.duckdb")
    with duckdb.connect(target):
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, target], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        sink = DuckDBSink(target)
        with pytest.raises(TargetError) as e:
            sink.open()
        sink.close()
    finally:
        holder.kill()
        holder.wait()
    message = str(e.value)
    assert f"PID {holder.pid}" in message
    assert "close that program's connection" in message
    assert "read-only" not in message
    sink = DuckDBSink(target)  # the holder is gone: the file opens
    sink.open()
    sink.close()


@pytest.mark.anyio
async def test_an_export_into_a_duckdb_file_the_caller_has_open_works(
    tmp_path: Path, anyio_backend: str
) -> None:
    """A notebook with `duckdb.connect(path)` open exports into that file from the same process
    (it failed: "a different configuration than existing connections") and reads the rows."""
    target = str(tmp_path / "x.duckdb")
    mine = duckdb.connect(target)
    sb = Sandbox(SandboxConfig(seed=3, days=4, visits_per_day=5, today=TODAY))
    try:
        async with sandbox_client(sb) as m:
            summary = await export_visits(
                m, sites=1, start="last3", end="yesterday", target=target, now=NOW, workers=0
            )
        count = mine.execute("SELECT count(*), count(DISTINCT id_visit) FROM visits").fetchone()
        assert summary.visits > 0
        assert count == (summary.visits, summary.visits)
    finally:
        mine.close()


def test_a_duckdb_file_open_read_only_in_this_process_is_a_clear_error(tmp_path: Path) -> None:
    """The caller's own read-only connection cannot be shared: one TargetError saying so."""
    target = str(tmp_path / "x.duckdb")
    with duckdb.connect(target):
        pass
    mine = duckdb.connect(target, read_only=True)
    try:
        sink = DuckDBSink(target)
        with pytest.raises(TargetError, match="this process has it open already"):
            sink.open()
        sink.close()
    finally:
        mine.close()


@pytest.mark.parametrize("kind", ["duckdb", "sqlite", "postgresql"])
def test_a_column_dropped_by_hand_is_refused_at_open_with_the_alter_to_run(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A table that lacks a column the export writes is refused when the target opens, before
    any fetching, with the ALTER TABLE that fixes it (DuckDB said only "transaction is aborted",
    after the first window was fetched); run it and the export resumes, each visit once."""
    target = _target(kind, tmp_path, request)
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write_one(sink)
    _sql(target, "ALTER TABLE visits DROP COLUMN referrer_name")
    sink = open_target(target)
    with pytest.raises(TargetError, match="table visits has no column referrer_name") as e:
        sink.open()
    sink.close()
    alter = str(e.value).split("(", 1)[1].split(")", 1)[0]
    assert alter.startswith("ALTER TABLE visits ADD COLUMN referrer_name ")
    _sql(target, alter)
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write_one(sink)
    assert [r["id_visit"] for r in read_rows(target, "visits")] == [7]


def test_a_duckdb_write_failure_is_not_hidden_by_the_aborted_transaction(
    tmp_path: Path,
) -> None:
    """A statement failing inside a DuckDB window names its cause (here the missing column),
    not the "Current transaction is aborted" of the clean-up after it."""
    target = str(tmp_path / "x.duckdb")
    sink = DuckDBSink(target)
    sink.open()
    try:
        sink.start_job(_job(), restart=False)
        sink._con.execute("ALTER TABLE actions DROP COLUMN url")  # behind the open check
        with pytest.raises(TargetError) as e:
            _write_one(sink)
    finally:
        sink.close()
    assert "url" in str(e.value)
    assert "aborted" not in str(e.value)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_manifest_column_added_back_at_the_end_keeps_the_job(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A manifest column dropped and added again (now the last one) still gets its own value:
    the manifest's rows were inserted by position."""
    target = _target(kind, tmp_path, request)
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
    _sql(target, "ALTER TABLE _matomo_export DROP COLUMN params")
    _sql(target, "ALTER TABLE _matomo_export ADD COLUMN params TEXT")
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write_one(sink)
        state = sink.load_state("visits")
    assert state.job is not None
    assert state.job.fingerprint == _job().fingerprint
    assert state.job.params == _job().params
    assert state.windows[(1, date(2024, 5, 18))].visits == 1


def test_postgresql_exports_into_two_schemas_of_one_database_run_side_by_side(
    pg_url: str,
) -> None:
    """The advisory lock is per schema: a second export into another schema (search_path in
    the URL) opens, one into the same schema is refused naming both ways out."""
    _sql(pg_url, "CREATE SCHEMA other")
    other = pg_url + "&options=-csearch_path%3Dother"
    first = PostgresSink(pg_url)
    first.open()
    try:
        beside = PostgresSink(other)
        beside.open()
        beside.start_job(_job(), restart=False)
        _write_one(beside)
        beside.close()
        same = PostgresSink(pg_url)
        with pytest.raises(TargetError, match="another database or schema"):
            same.open()
        same.close()
    finally:
        first.close()
    assert [r["id_visit"] for r in read_rows(other, "visits")] == [7]
    assert read_rows(pg_url, "visits") == []  # the first export's schema: nothing written yet


def test_postgresql_export_starts_beside_another_program_s_open_write(pg_url: str) -> None:
    """Another session's uncommitted write to `visits` no longer holds the export at its start
    (CREATE INDEX IF NOT EXISTS waited for its table's lock, silently, as long as that lasted);
    here a lock_timeout turns such a wait into a failure."""
    import psycopg

    with open_target(pg_url):
        pass
    with psycopg.connect(pg_url) as other:  # a transaction, left open until the block ends
        other.execute("UPDATE visits SET visit_ip = visit_ip WHERE false")
        with open_target(pg_url + "&options=-clock_timeout%3D2000") as sink:
            sink.start_job(_job(), restart=True)
            _write_one(sink)
    assert [r["id_visit"] for r in read_rows(pg_url, "visits")] == [7]
