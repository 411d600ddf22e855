"""Each sink: write windows, re-write one, read back with the target's own reader."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from export_readers import read_rows

from matomo_client.export import (
    ExportUsageError,
    StateMismatchError,
    TargetError,
    jsonvalue,
    open_target,
)
from matomo_client.export.rows import build_report_rows, build_visit_batches
from matomo_client.export.schema import VISITS
from matomo_client.export.sinks import DuckDBSink, FileSink, PostgresSink, SQLiteSink
from matomo_client.export.state import DONE, OPEN, ExportState, JobInfo, WindowRecord, fingerprint

RECORDED = Path(__file__).parent.parent / "recorded"
PAGE_A = json.loads(
    (RECORDED / "049_Live.getLastVisitsDetails_limit5_offset0.response.json").read_text()
)
PAGE_B = json.loads(
    (RECORDED / "050_Live.getLastVisitsDetails_limit5_offset5.response.json").read_text()
)
FILE_TARGETS = [
    "x.duckdb",
    "x.sqlite",
    "x.jsonl",
    "x.jsonl.gz",
    "x.jsonl.zst",
    "x.csv",
    "x.parquet",
    "hive/",
]


@pytest.fixture(params=[*FILE_TARGETS, "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each target kind, in a fresh place."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / request.param)


def _write(sink: Any, day: date, page: list[dict[str, Any]], status: str = DONE) -> None:
    visits, actions = build_visit_batches(page)
    rec = WindowRecord("visits", 1, day, status, len(visits), len(actions), bounds=None)
    sink.write_window("visits", [rec], [visits, actions])


def _job(params: dict[str, Any] | None = None) -> JobInfo:
    p = params or {"kind": "visits", "sites": [1]}
    return JobInfo("visits", p, fingerprint(p))


def _ts(value: Any) -> datetime:
    """A timestamp as the target returned it, as a naive UTC datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value).rstrip("Z").replace("T", " "))


def test_write_rewrite_and_read_back(target: str) -> None:
    """Two windows then a re-write of the first give every visit and action exactly once, typed."""
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, date(2026, 11, 28), PAGE_B)
        _write(sink, date(2026, 11, 29), PAGE_A, OPEN)
        _write(sink, date(2026, 11, 29), PAGE_A, DONE)  # the open window fetched again
        sink.finish()
        state = sink.load_state("visits")
    visits = read_rows(target, "visits")
    ids = sorted(int(v["id_visit"]) for v in visits)
    assert ids == sorted(v["idVisit"] for v in PAGE_A + PAGE_B)
    actions = read_rows(target, "actions")
    n_actions = sum(len(v["actionDetails"]) for v in PAGE_A + PAGE_B)
    assert len(actions) == n_actions
    assert len({(a["id_visit"], a["position"]) for a in actions}) == n_actions

    first = next(v for v in visits if int(v["id_visit"]) == PAGE_A[0]["idVisit"])
    raw = PAGE_A[0]
    assert _ts(first["last_action_timestamp"]) == datetime(2026, 11, 29, 4, 39, 0)
    assert str(first["visitor_id"]) == raw["visitorId"]
    extra = first["extra"]
    extra = json.loads(extra) if isinstance(extra, str) else extra
    assert extra == {"dimension1": "new"}
    assert "server_time_pretty" not in first
    assert "country_flag" not in first
    if not target.endswith(".csv"):  # CSV has no types: everything is text
        assert first["visit_count"] == 1
        assert isinstance(first["visit_count"], int)
        assert isinstance(first["total_ecommerce_revenue"], float)
    assert state.job is not None
    assert state.job.fingerprint == _job().fingerprint
    assert {(r.day, r.status) for r in state.windows.values()} == {
        (date(2026, 11, 28), DONE),
        (date(2026, 11, 29), DONE),
    }


def test_values_out_of_range_are_null_and_kept_in_extra(target: str) -> None:
    """A timestamp no datetime holds, an integer beyond 64 bits and one only msgspec reads
    exactly (orjson reads it as a float): each target writes the window; the columns are NULL
    and `extra` keeps what Matomo sent, nested integers included."""
    visit = dict(PAGE_A[0])
    visit["serverTimestamp"] = 10**13  # the year 318857
    visit["visitCount"] = 2**63  # orjson reads it as an int, beyond int64
    visit["events"] = "99999999999999999999"  # a numeric string beyond int64
    visit["pluginData"] = {"big": 2**70}  # msgspec reads it as an int, orjson cannot write it
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, date(2026, 11, 29), [visit])
        sink.finish()
    (row,) = read_rows(target, "visits")
    assert row["server_timestamp"] in (None, "")
    assert row["visit_count"] in (None, "")
    assert row["events"] in (None, "")
    extra = row["extra"]
    extra = json.loads(extra) if isinstance(extra, str) else extra
    assert extra["serverTimestamp"] == 10**13
    assert extra["visitCount"] == 2**63
    assert extra["events"] == "99999999999999999999"
    assert float(extra["pluginData"]["big"]) == float(2**70)  # as orjson reads it, either way


def test_nul_in_nested_values_does_not_fail_postgresql(pg_url: str) -> None:
    """PostgreSQL's jsonb refuses `\\u0000` ("unsupported Unicode escape sequence"): a NUL in
    `extra` or a JSON column is left out there, as in text columns, and the window is written;
    the text `\\u0000` (an escaped backslash) is kept as it is."""
    visit = dict(PAGE_A[0])
    visit["dimension9"] = "a\x00b"
    visit["dimension10"] = {"k\x00": "\\u0000"}
    visit["actionDetails"] = [dict(visit["actionDetails"][0], itemDetails=[{"name": "x\x00"}])]
    with open_target(pg_url) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, date(2026, 11, 29), [visit])
        sink.finish()
    (row,) = read_rows(pg_url, "visits")
    assert row["extra"]["dimension9"] == "ab"
    assert row["extra"]["dimension10"] == {"k": "\\u0000"}
    (action,) = read_rows(pg_url, "actions")
    assert action["item_details"] == [{"name": "x"}]


@pytest.mark.parametrize("depth", [300, 1000])
def test_values_nested_deeper_than_orjson_writes_are_kept(target: str, depth: int) -> None:
    """orjson reads 1024 levels of nesting but writes 254: a deeper value (in `extra` and in
    a JSON column) is still written, as the same JSON, by every target."""
    deep: Any = "leaf"
    for i in range(depth):
        deep = [deep, 2**70] if i % 2 else {"k": deep}  # wide integers inside, too
    visit = dict(PAGE_A[0])
    visit["pluginData"] = deep
    visit["actionDetails"] = [dict(visit["actionDetails"][0], itemDetails=deep)]
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, date(2026, 11, 29), [visit])
        sink.finish()
    want = jsonvalue.dumps(deep)
    assert want.startswith(b'[{"k":[{"k":[')
    assert want.count(b"1.1805916207174113e+21") == depth // 2
    (row,) = read_rows(target, "visits")
    extra = row["extra"]
    extra = orjson.loads(extra) if isinstance(extra, str) else extra
    assert jsonvalue.dumps(extra["pluginData"]) == want
    (action,) = read_rows(target, "actions")
    items = action["item_details"]
    items = orjson.loads(items) if isinstance(items, str) else items
    assert jsonvalue.dumps(items) == want


def test_restart_clears_previous_export(target: str) -> None:
    """A restarted job starts from an empty table and an empty manifest."""
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, date(2026, 11, 28), PAGE_B)
        sink.finish()
    with open_target(target) as sink:
        sink.start_job(_job({"kind": "visits", "sites": [2]}), restart=True)
        _write(sink, date(2026, 11, 29), PAGE_A)
        sink.finish()
        state = sink.load_state("visits")
    ids = sorted(int(v["id_visit"]) for v in read_rows(target, "visits"))
    assert ids == sorted(v["idVisit"] for v in PAGE_A)
    assert list(state.windows) == [(1, date(2026, 11, 29))]


def test_reports_rows_are_replaced_per_period_date(target: str) -> None:
    """Writing the same report period twice leaves one copy of its rows, metrics as numbers."""
    rows = json.loads((RECORDED / "067_Actions.getPageUrls_flat.response.json").read_text())
    kind = "reports:day"
    job = JobInfo(kind, {"kind": kind}, fingerprint({"kind": kind}))
    with open_target(target) as sink:
        sink.start_job(job, restart=False)
        for _ in range(2):
            batch = build_report_rows(1, "day", date(2026, 11, 28), "Actions.getPageUrls", "", rows)
            rec = WindowRecord(kind, 1, date(2026, 11, 28), DONE, rows=len(batch))
            sink.write_window(kind, [rec], [batch])
        sink.finish()
    back = read_rows(target, "reports")
    assert len(back) == len(rows)
    by_label = {r["label"]: r for r in back}
    assert float(by_label[rows[0]["label"]]["nb_visits"]) == rows[0]["nb_visits"]
    assert {r["report"] for r in back} == {"Actions.getPageUrls"}


def test_reports_of_many_periods_replace_only_their_own_periods(target: str) -> None:
    """A chunk of 600 days written at once, then days 1 and 600 again with a gap between them:
    each day keeps one copy of its rows, and the days in the gap keep theirs (the deletes go
    by the chunk's periods, several at a statement, not by a date range)."""
    from datetime import timedelta

    rows = [{"label": "/a", "nb_visits": 1}, {"label": "/b", "nb_visits": 2}]
    kind = "reports:day"
    job = JobInfo(kind, {"kind": kind}, fingerprint({"kind": kind}))
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(600)]

    def write(sink: Any, some: list[date], visits: int) -> None:
        again = [dict(r, nb_visits=visits) for r in rows]
        batches = [build_report_rows(1, "day", d, "Actions.getPageUrls", "", again) for d in some]
        batch = batches[0]
        for b in batches[1:]:
            for name, col in batch.columns.items():
                col.extend(b.column(name))
        recs = [WindowRecord(kind, 1, d, DONE, rows=len(rows)) for d in some]
        sink.write_window(kind, recs, [batch])

    with open_target(target) as sink:
        sink.start_job(job, restart=False)
        write(sink, days, 1)
        write(sink, [days[0], days[-1]], 7)
        sink.finish()
    back = read_rows(target, "reports")
    assert len(back) == 600 * 2
    rewritten = {str(r["date"])[:10] for r in back if float(r["nb_visits"]) == 7}
    assert rewritten == {days[0].isoformat(), days[-1].isoformat()}


def test_state_refuses_a_different_command() -> None:
    """A job with another fingerprint and windows recorded is refused, naming what changed."""
    state = ExportState("visits", job=_job({"kind": "visits", "segment": None}))
    state.windows[(1, date(2026, 11, 28))] = WindowRecord("visits", 1, date(2026, 11, 28), DONE)
    with pytest.raises(StateMismatchError, match=r"segment: None -> 'browserCode==FF'"):
        state.check_job(_job({"kind": "visits", "segment": "browserCode==FF"}), "t.duckdb")


def test_a_job_without_windows_gives_way_to_another_command() -> None:
    """A job whose first run recorded nothing protects nothing: another command may start."""
    state = ExportState("visits", job=_job({"kind": "visits", "segment": "typo==1"}))
    state.check_job(_job({"kind": "visits", "segment": None}), "t.duckdb")


def test_open_target_picks_the_sink_from_the_name(tmp_path: Path) -> None:
    """Extensions and URLs map to the documented sinks; unknown ones are a usage error."""
    assert isinstance(open_target(str(tmp_path / "a.duckdb")), DuckDBSink)
    assert isinstance(open_target(str(tmp_path / "a.sqlite")), SQLiteSink)
    assert isinstance(open_target("postgresql://u:secret@h/db"), PostgresSink)
    assert "secret" not in open_target("postgresql://u:secret@h/db").target
    for url in (
        "postgresql://u@h/db?password=secret",
        "postgresql://u@h/db?sslmode=disable&password=secret&application_name=x",
        "postgresql:///db?host=h&user=u&PASSWORD=secret",
        "postgresql://u@h/db?sslpassword=secret",
    ):
        shown = open_target(url).target
        assert "secret" not in shown, shown
        assert "***" in shown
    shown = open_target("postgresql://u@h/db?sslmode=disable&password=secret&x=1").target
    assert shown == "postgresql://u@h/db?sslmode=disable&password=***&x=1"
    sink = open_target(str(tmp_path / "a.jsonl.zst"))
    assert isinstance(sink, FileSink)
    assert sink.compression == "zst"
    assert isinstance(open_target(str(tmp_path)), FileSink)
    with pytest.raises(ExportUsageError):
        open_target(str(tmp_path / "a.xlsx"))
    with pytest.raises(ExportUsageError):
        open_target("mysql://h/db")


@pytest.mark.parametrize("name", ["x.duckdb", "x.sqlite", "x.jsonl", "x.parquet"])
def test_unwritable_target_is_a_target_error(tmp_path: Path, name: str) -> None:
    """A target in a folder that cannot be created fails with TargetError naming it."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    path = str(blocker / name)
    with pytest.raises(TargetError, match="file"):
        open_target(path).open()


def test_file_sink_drops_unrecorded_parts_and_cut_journal_lines(tmp_path: Path) -> None:
    """After a crash, parts with no journal line are removed and a cut last line is ignored."""
    target = str(tmp_path / "x.jsonl")
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, date(2026, 11, 28), PAGE_B)
    orphan = tmp_path / "x.jsonl.parts" / "visits" / "site=1" / "date=2026-11-29.jsonl"
    orphan.write_text('{"id_visit": 1}\n')
    journal = tmp_path / "x.jsonl._matomo_export.jsonl"
    journal.write_bytes(journal.read_bytes() + b'{"type": "window", "kind": "vis')
    with open_target(target) as sink:
        state = sink.load_state("visits")
        _write(sink, date(2026, 11, 30), PAGE_A)
        sink.finish()
        state2 = sink.load_state("visits")
    assert not orphan.exists()
    assert list(state.windows) == [(1, date(2026, 11, 28))]
    assert set(state2.windows) == {(1, date(2026, 11, 28)), (1, date(2026, 11, 30))}
    assert len(read_rows(target, "visits")) == len(PAGE_A) + len(PAGE_B)


@pytest.mark.parametrize("name", ["x.parquet", "hive/"])
def test_parquet_windows_gather_into_row_groups(tmp_path: Path, name: str) -> None:
    """Many small windows: a file target's final file has one row group, zstd, every row in
    window order; its parts (read once more) are snappy, a directory target's parts zstd."""
    import pyarrow.parquet as pq

    sink = open_target(str(tmp_path / name))
    sink.open()
    sink.start_job(_job(), restart=False)
    days = [date(2024, 1, d) for d in range(1, 31)]
    for day in days:
        _write(sink, day, PAGE_A if day.day % 2 else PAGE_B)
    sink.finish()
    sink.close()
    assert isinstance(sink, FileSink)
    parts = sorted((sink.parts_root / "visits").rglob("*.parquet"))
    assert len(parts) == 30
    codec = pq.ParquetFile(parts[0]).metadata.row_group(0).column(0).compression
    if name == "hive/":
        assert codec == "ZSTD"
        return
    assert codec == "SNAPPY"
    final = pq.ParquetFile(sink.final_path(VISITS))
    assert final.metadata.num_row_groups == 1
    assert final.metadata.row_group(0).column(0).compression == "ZSTD"
    ids = final.read(columns=["id_visit"]).column("id_visit").to_pylist()
    expected = [int(v["idVisit"]) for d in days for v in (PAGE_A if d.day % 2 else PAGE_B)]
    assert ids == expected


def _foreign_db(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, Any]:
    """A database of `kind` holding another program's `visits (a INTEGER)` table, and a
    function listing its tables."""
    if kind == "duckdb":
        import duckdb

        path = str(tmp_path / "u.duckdb")
        with duckdb.connect(path) as con:
            con.execute("CREATE TABLE visits (a INTEGER)")

        def tables() -> set[str]:
            with duckdb.connect(path, read_only=True) as con:
                return {
                    r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
                }

        return path, tables
    if kind == "sqlite":
        import sqlite3

        path = str(tmp_path / "u.sqlite")
        with sqlite3.connect(path) as con:
            con.execute("CREATE TABLE visits (a INTEGER)")

        def tables() -> set[str]:
            with sqlite3.connect(path) as con:
                rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                return {r[0] for r in rows}

        return path, tables
    import psycopg

    url = str(request.getfixturevalue("pg_url"))
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE TABLE visits (a INTEGER)")

    def tables() -> set[str]:
        with psycopg.connect(url) as con:
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).fetchall()
            return {r[0] for r in rows}

    return url, tables


@pytest.mark.parametrize("kind", ["duckdb", "sqlite", "postgresql"])
def test_a_database_with_another_program_s_visits_table_is_refused_untouched(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A `visits` table without our keys is refused when the target opens, naming the table
    and the missing columns; no table of ours is created beside it."""
    target, tables = _foreign_db(kind, tmp_path, request)
    sink = open_target(target)
    with pytest.raises(TargetError, match=r"table visits that is not a matomo-client export") as e:
        sink.open()
    sink.close()
    assert "id_site, id_visit" in str(e.value)
    assert tables() == {"visits"}


def test_our_own_tables_pass_the_check(tmp_path: Path) -> None:
    """A database this exporter made opens again (the check looks at keys, not every column)."""
    target = str(tmp_path / "ours.duckdb")
    for _ in range(2):
        sink = open_target(target)
        sink.open()
        sink.close()


def test_duckdb_connect_is_undone_by_a_close_without_open(tmp_path: Path) -> None:
    """`connect` (run while Matomo is asked for the sites) creates the database; a `close`
    without `open` (the start failed) removes what it created, and only that."""
    path = tmp_path / "x.duckdb"
    sink = DuckDBSink(str(path))
    sink.connect()
    assert path.exists()
    sink.close()
    assert list(tmp_path.iterdir()) == []

    kept = DuckDBSink(str(path))
    kept.connect()
    kept.open()  # the export started: the file is the target's now
    kept.close()
    assert path.exists()
    again = DuckDBSink(str(path))
    again.connect()
    again.close()  # it existed before this connect
    assert path.exists()
    reopened = DuckDBSink(str(path))
    reopened.open()
    assert reopened.load_state("visits").windows == {}
    reopened.close()


@pytest.mark.skipif(
    int(__import__("duckdb").__version__.split(".")[0]) < 2,
    reason="DuckDB before 2.0 shares one database between the connections of a process",
)
def test_a_second_export_into_a_duckdb_file_in_this_process_is_refused(tmp_path: Path) -> None:
    """Two exports of one process into one DuckDB file are refused, as for the other targets:
    the second gets a TargetError saying so, and the first goes on writing."""
    path = str(tmp_path / "x.duckdb")
    first = open_target(path)
    first.connect()
    first.open()
    try:
        second = open_target(path)
        with pytest.raises(TargetError, match="this process has it open already, in another"):
            second.connect()
        second.close()
        assert first.load_state("visits").windows == {}
    finally:
        first.close()
    assert Path(path).exists()


def test_duckdb_connect_leaves_another_program_s_database_untouched(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """On an existing database `connect` creates no tables: `open` checks them first."""
    target, tables = _foreign_db("duckdb", tmp_path, request)
    sink = open_target(target)
    sink.connect()
    sink.close()
    assert tables() == {"visits"}
    sink = open_target(target)
    sink.connect()
    with pytest.raises(TargetError, match=r"table visits that is not a matomo-client export"):
        sink.open()
    sink.close()
    assert tables() == {"visits"}


@pytest.mark.parametrize("name", ["x.jsonl", "x.csv.gz", "x.parquet", "hive/", "x.sqlite", "pg"])
def test_a_target_in_use_by_another_export_is_refused_until_it_is_free(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two exports into one target at once (DuckDB refuses by its own file lock) are refused
    for the other targets too: the second to open gets a TargetError, and nothing is lost."""
    target = str(request.getfixturevalue("pg_url")) if name == "pg" else str(tmp_path / name)
    first = open_target(target)
    first.open()
    try:
        second = open_target(target)
        with pytest.raises(TargetError, match="in use by another export"):
            second.open()
        second.close()
    finally:
        first.close()
    again = open_target(target)  # the first one ended: the target is free
    again.open()
    again.close()


@pytest.mark.parametrize("name", ["new/dir/x.duckdb", "new/dir/x.sqlite", "new/dir/x.jsonl"])
def test_missing_parent_directories_are_created(name: str, tmp_path: Path) -> None:
    """Every local target makes its missing parent directories, as file targets always did."""
    sink = open_target(str(tmp_path / name))
    sink.open()
    sink.close()
    assert (tmp_path / "new" / "dir").is_dir()


def test_a_job_whose_recorded_options_are_lost_says_so() -> None:
    """A fingerprint that no longer matches its options (a state table edited by hand) was
    reported as "made with other options ()"."""
    state = ExportState("visits", job=JobInfo("visits", {}, "0" * 16))
    state.windows[(1, date(2026, 11, 28))] = WindowRecord("visits", 1, date(2026, 11, 28), DONE)
    with pytest.raises(StateMismatchError, match=r"\(its recorded options cannot be read\)"):
        state.check_job(_job({"kind": "visits"}), "t.duckdb")


def test_a_job_with_the_same_options_under_another_fingerprint_resumes() -> None:
    """Options recorded with a fingerprint computed otherwise (an earlier version hashed the
    range too) but asking the same data: resumed, not refused."""
    old = {"kind": "visits", "sites": [1], "from": "last3", "to": "today", "segment": None}
    state = ExportState("visits", job=JobInfo("visits", old, "0" * 16))
    state.windows[(1, date(2026, 11, 28))] = WindowRecord("visits", 1, date(2026, 11, 28), DONE)
    state.check_job(_job({**old, "sites": "all", "from": "2020-01-01"}), "t.duckdb")
    with pytest.raises(StateMismatchError, match=r"segment: None -> 'visitorType==new'"):
        state.check_job(_job({**old, "segment": "visitorType==new"}), "t.duckdb")
