"""Worker processes that turn pages into rows: same rows, clean lifetimes, clear failures."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import pytest
from export_readers import read_rows

from matomo_client import AsyncMatomo, Auth, Cursor, Limit, Period
from matomo_client.export import ExportUsageError, export_visits
from matomo_client.export import run as export_run
from matomo_client.export._workers import WorkerError, WorkerPool
from matomo_client.export.encode import encode_page
from matomo_client.export.rows import build_visit_batches
from matomo_client.export.schema import ACTIONS, VISITS, Batch
from matomo_client.export.sinks.duckdb import DuckDBSink
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

DAY = date(2024, 3, 1)
START = 1_709_251_200  # 2024-03-01 00:00 UTC
BOUNDS = (START, START + 86_400)
TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parents[2]


def _body(n: int = 3) -> bytes:
    return orjson.dumps(
        [
            {
                "idSite": 1,
                "idVisit": i,
                "lastActionTimestamp": START + i,
                "actionDetails": [{"type": "action", "url": f"/p/{i}", "timestamp": START + i}],
            }
            for i in range(1, n + 1)
        ]
    )


def _args(encoding: str) -> tuple[Any, ...]:
    return (Cursor(1, Period.day(DAY), Limit(1000)), BOUNDS, encoding)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def _pids(pool: WorkerPool) -> list[int]:
    return [w.process.pid for w in pool._all]


@pytest.mark.parametrize("encoding", ["arrow", "jsonl"])
async def test_a_worker_gives_the_rows_this_process_gives(encoding: str) -> None:
    """Rows built in a worker process equal the rows built here, table identity included."""
    pool = WorkerPool(2)
    try:
        got = await pool.run(_args(encoding), _body())
        assert all(pid != os.getpid() for pid in _pids(pool))
    finally:
        await pool.aclose()
    here = encode_page(_body(), *_args(encoding))
    assert here is not None
    assert got.cursor == here.cursor
    assert got.ids == here.ids == [1, 2, 3]
    assert got.visits.table is VISITS
    assert got.actions.table is ACTIONS
    if encoding == "arrow":
        assert got.visits.arrow.equals(here.visits.arrow)
        assert got.actions.arrow.equals(here.actions.arrow)
    else:
        assert got.visits.jsonl == here.visits.jsonl
        assert got.actions.jsonl == here.actions.jsonl


async def test_closing_the_pool_stops_every_worker() -> None:
    """After `aclose` no worker process is left running."""
    pool = WorkerPool(2)
    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(pool.run, _args("jsonl"), _body())
    pids = _pids(pool)
    assert len(pids) == 2
    await pool.aclose()
    assert not any(_alive(p) for p in pids)


def test_a_worker_leaves_at_end_of_input_with_its_heap_frozen() -> None:
    """At the end of its input a worker returns with the heap frozen, so that the interpreter's
    exit, which the export waits for, skips its last garbage collection."""
    code = (
        "import gc, sys\n"
        "from matomo_client.export._workers import serve\n"
        "serve()\n"
        "print(gc.get_freeze_count() > 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=b"", capture_output=True, timeout=60, check=True
    )
    assert done.stdout.split() == [b"True"]


async def test_a_dead_worker_raises_a_clear_error_and_is_replaced() -> None:
    """A worker killed between pages: that call fails naming the cause, the next one works."""
    pool = WorkerPool(1)
    try:
        await pool.run(_args("arrow"), _body())
        (pid,) = _pids(pool)
        os.kill(pid, signal.SIGKILL)
        _wait_for(lambda: not _alive(pid), 10)
        with pytest.raises(WorkerError, match="page encoder process stopped"):
            await pool.run(_args("arrow"), _body())
        again = await pool.run(_args("arrow"), _body())
        assert again.ids == [1, 2, 3]
        assert _pids(pool) != [pid]
    finally:
        await pool.aclose()


async def test_a_worker_ignores_ctrl_c() -> None:
    """Ctrl-C reaches the whole process group; the export, not the worker, decides to stop."""
    pool = WorkerPool(1)
    try:
        await pool.run(_args("jsonl"), _body())
        (pid,) = _pids(pool)
        os.kill(pid, signal.SIGINT)
        await anyio.sleep(0.2)
        assert (await pool.run(_args("jsonl"), _body())).ids == [1, 2, 3]
        assert _pids(pool) == [pid]
    finally:
        await pool.aclose()


def test_a_declared_table_crosses_processes_as_itself() -> None:
    """A pickled batch keeps the very table object, so the sinks' identity checks hold."""
    visits, actions = build_visit_batches(orjson.loads(_body()))
    for batch, table in ((visits, VISITS), (actions, ACTIONS)):
        copy = pickle.loads(pickle.dumps(batch))
        assert copy.table is table
        assert copy.columns == batch.columns
    assert pickle.loads(pickle.dumps(Batch(VISITS))).table is VISITS


def test_an_arrow_batch_crosses_processes_whole() -> None:
    """A worker's Arrow rows (sent as one Arrow IPC stream) arrive equal, table and all."""
    rows = encode_page(_body(5), *_args("arrow"))
    assert rows is not None
    copy = pickle.loads(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
    for got, sent, table in (
        (copy.visits, rows.visits, VISITS),
        (copy.actions, rows.actions, ACTIONS),
    ):
        assert got.table is table
        assert got.arrow.schema == sent.arrow.schema
        assert got.arrow.equals(sent.arrow)
    assert copy.ids == [1, 2, 3, 4, 5]


def _arrow_forms() -> list[tuple[str, Any]]:
    """Arrow tables of visits in each shape a batch can have when it is pickled."""
    import pyarrow as pa

    rows = encode_page(_body(6), *_args("arrow"))
    assert rows is not None
    page = rows.visits.arrow
    other = pa.table({"id_site": pa.array([1, 2], pa.int64())})  # not the declared schema
    return [
        ("one page", page),
        ("a slice", page.slice(2, 3)),
        ("two chunks", pa.concat_tables([page.slice(0, 2), page.slice(2)])),
        ("no rows", page.slice(0, 0)),
        ("another schema", other),
    ]


@pytest.mark.parametrize("form", range(5), ids=[name for name, _ in _arrow_forms()])
def test_an_arrow_batch_of_any_shape_crosses_processes_equal(form: int) -> None:
    """A page's table goes as one record batch message, read against the declared schema;
    slices, several chunks, no rows and other schemas still arrive equal."""
    _, arrow = _arrow_forms()[form]
    copy = pickle.loads(pickle.dumps(Batch(VISITS, arrow=arrow), pickle.HIGHEST_PROTOCOL))
    assert copy.table is VISITS
    assert copy.arrow.schema == arrow.schema
    assert copy.arrow.equals(arrow)
    assert copy.arrow.to_pylist() == arrow.to_pylist()


async def test_workers_started_ahead_are_stopped_even_without_a_page() -> None:
    """`start` launches every worker before the first page; `aclose` stops them all."""
    pool = WorkerPool(2)
    await pool.start()
    pids = _pids(pool)
    assert len(pids) == 2
    assert all(_alive(p) for p in pids)
    await pool.aclose()
    assert not any(_alive(p) for p in pids)


def _sandbox_client(sb: Sandbox) -> AsyncMatomo:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    return AsyncMatomo("http://sandbox.test/", auth=Auth.token("sandbox-token"), http_client=http)


async def test_negative_workers_is_refused_before_any_request(tmp_path: Path) -> None:
    """`workers=-1` is a usage error naming the value."""
    sb = Sandbox(SandboxConfig(seed=3, days=5, visits_per_day=5, today=TODAY))
    async with _sandbox_client(sb) as m:
        with pytest.raises(ExportUsageError, match="workers must be from 0 to 64, not -1"):
            await export_visits(m, target=str(tmp_path / "x.jsonl"), workers=-1, now=NOW)
    assert not sb.requests


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (int(row["id_site"]), int(row["id_visit"]), int(row.get("position") or 0))


@pytest.mark.parametrize("name", ["x.duckdb", "x.jsonl", "x.parquet"])
async def test_exports_with_and_without_workers_hold_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Every page through the workers, or none: the same visits and actions, each visit once."""
    from matomo_client.export import encode

    monkeypatch.setattr(encode, "MIN_WORKER_BODY", 0)
    sb = Sandbox(SandboxConfig(seed=9, days=6, visits_per_day=15, today=TODAY))
    first, last = TODAY - timedelta(days=4), TODAY - timedelta(days=1)
    tables = []
    for workers in (0, 2):
        (tmp_path / str(workers)).mkdir()
        target = str(tmp_path / str(workers) / name)
        async with _sandbox_client(sb) as m:
            await export_visits(
                m, sites=[1, 2], start=first, end=last, target=target, now=NOW,
                workers=workers, page_size=7,
            )  # fmt: skip
        tables.append([sorted(read_rows(target, t), key=_key) for t in ("visits", "actions")])
    assert tables[0] == tables[1]
    days = [first + timedelta(days=i) for i in range(4)]
    expected = {(s, v.id_visit) for s in (1, 2) for d in days for v in sb.world.day_visits(s, d)}
    got = [_key(r)[:2] for r in tables[1][0]]
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert len(tables[1][1]) >= len(got)


async def test_sql_windows_share_transactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small windows go into DuckDB a few thousand visits per transaction, each visit once."""
    commits: list[int] = []
    real = DuckDBSink._commit

    def counted(self: DuckDBSink) -> None:
        commits.append(1)
        real(self)

    monkeypatch.setattr(DuckDBSink, "_commit", counted)
    monkeypatch.setattr(export_run, "FLUSH_VISITS", 100)
    _, target, summary = await _export_small_windows(tmp_path)
    assert summary.windows_exported == 36
    window_writes = len(commits) - 3  # opening, the job header and reconciliation commit too
    assert 1 < window_writes <= summary.visits // 100 + 1
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]
    assert len(got) == len(set(got)) == summary.visits


async def test_windows_piled_up_behind_a_slow_write_go_in_several_transactions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one write is slow, the windows that wait for it are written about FLUSH_VISITS
    visits a transaction afterwards, not all in one: each visit still once."""
    sizes: list[int] = []
    real = DuckDBSink.write_window

    def slow_first(self: DuckDBSink, kind: str, records: Any, batches: Any) -> None:
        if kind == "visits":
            sizes.append(len(batches[0]))
            if len(sizes) == 1:
                time.sleep(0.5)  # the other runs finish windows meanwhile
        real(self, kind, records, batches)

    monkeypatch.setattr(DuckDBSink, "write_window", slow_first)
    monkeypatch.setattr(export_run, "FLUSH_VISITS", 40)
    sb, target, summary = await _export_small_windows(tmp_path)
    largest_window = max(len(sb.world.day_visits(s, d)) for s, d in _SMALL_WINDOWS)
    assert sum(sizes) == summary.visits
    assert summary.visits > 3 * 40  # enough windows to pile up behind the slow write
    assert max(sizes) < 40 + largest_window
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]
    assert len(got) == len(set(got)) == summary.visits


async def test_sql_windows_show_progress_before_their_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows waiting for a shared transaction are reported as pending as they are fetched,
    done once committed (before: nothing until the end, so the bar stayed at 0/36); the commits
    are the same, one for all 36 windows."""
    seen: list[Any] = []
    windows_at_commit: list[int] = []
    reported_at_commit: list[int] = []
    real = DuckDBSink.write_window

    def noted(self: DuckDBSink, kind: str, records: Any, batches: Any) -> None:
        windows_at_commit.append(len(records))
        reported_at_commit.append(len(seen))
        real(self, kind, records, batches)

    monkeypatch.setattr(DuckDBSink, "write_window", noted)
    _, _, summary = await _export_small_windows(tmp_path, progress=seen.append)
    assert summary.visits < export_run.FLUSH_VISITS  # all windows wait for one transaction
    assert windows_at_commit == [36]
    assert reported_at_commit == [37]  # the start, then each window as it was fetched
    before_commit = [p for p in seen if p.phase == "exporting" and p.windows_done == 0]
    assert [p.windows_pending for p in before_commit] == list(range(37))  # one per window
    assert {p.visits for p in before_commit} == {0}  # visits count once written
    # ...and meanwhile as pending, window by window, with their actions
    pending = [(p.visits_pending, p.actions_pending) for p in before_commit]
    assert pending == sorted(pending)
    assert pending[0] == (0, 0)
    assert pending[-1] == (summary.visits, summary.actions)
    assert len({v for v, _ in pending}) > 30  # grows as windows come (a few have no visits)
    assert all(p.windows_done + p.windows_pending == 36 for p in seen[37:])
    assert (seen[-1].windows_done, seen[-1].windows_pending) == (36, 0)
    assert (seen[-1].visits, seen[-1].visits_pending, seen[-1].actions_pending) == (
        summary.visits,
        0,
        0,
    )
    assert seen[-1].visits == summary.visits


_SMALL_DAYS = [TODAY - timedelta(days=n) for n in range(18, 0, -1)]
_SMALL_WINDOWS = [(s, d) for s in (1, 2) for d in _SMALL_DAYS]


async def _export_small_windows(tmp_path: Path, **kw: Any) -> tuple[Sandbox, str, Any]:
    """18 closed days of two sites with about 12 visits a day, into DuckDB at concurrency 4."""
    sb = Sandbox(SandboxConfig(seed=5, days=20, visits_per_day=12, today=TODAY))
    target = str(tmp_path / "x.duckdb")
    async with _sandbox_client(sb) as m:
        summary = await export_visits(
            m, sites=[1, 2], start=_SMALL_DAYS[0], end=_SMALL_DAYS[-1], target=target, now=NOW,
            concurrency=4, **kw,
        )  # fmt: skip
    return sb, target, summary


SCRIPT = textwrap.dedent(
    """
    # No `if __name__ == "__main__"` guard: workers must not import this script again.
    import sys
    import anyio, httpx
    from matomo_client import AsyncMatomo, Auth
    from matomo_client.export import encode, export_visits
    from matomo_client.sandbox import Sandbox, SandboxConfig

    print("script ran", flush=True)
    encode.MIN_WORKER_BODY = 0
    sb = Sandbox(SandboxConfig(seed=2, days=4, visits_per_day=8))

    async def main():
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
        async with AsyncMatomo("http://sb.test/", auth=Auth.token("sandbox-token"),
                               http_client=http) as m:
            s = await export_visits(m, sites=[1], start="last3", end="yesterday",
                                    target=sys.argv[1], workers=2)
        print("visits", s.visits, flush=True)

    anyio.run(main)
    """
)


def test_a_script_without_a_main_guard_exports_once(tmp_path: Path) -> None:
    """Unlike multiprocessing's spawn, the workers never re-run the script that started them."""
    script = tmp_path / "export_script.py"
    script.write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "x.jsonl")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("script ran") == 1
    assert "visits " in out.stdout
    assert "visits 0" not in out.stdout


KILLED = textwrap.dedent(
    """
    import time, anyio
    from matomo_client.export._workers import WorkerPool
    from tests_body import args, body

    async def main():
        pool = WorkerPool(2)
        await anyio.to_thread.run_sync(lambda: None)
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(pool.run, args(), body())
        print(" ".join(str(w.process.pid) for w in pool._all), flush=True)
        time.sleep(600)

    anyio.run(main)
    """
)


def test_workers_exit_when_the_exporter_is_killed(tmp_path: Path) -> None:
    """`kill -9` of the exporting process leaves no worker running: their stdin closes."""
    (tmp_path / "tests_body.py").write_text(
        "from datetime import date\n"
        "from matomo_client import Cursor, Limit, Period\n"
        f"def body(): return {_body()!r}\n"
        f"def args(): return (Cursor(1, Period.day(date(2024, 3, 1)), Limit(1000)), {BOUNDS!r}, 'jsonl')\n"
    )
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2
    assert all(_alive(p) for p in pids)
    proc.kill()
    proc.wait()
    _wait_for(lambda: not any(_alive(p) for p in pids), 10)
    assert not any(_alive(p) for p in pids)


def _wait_for(done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)


async def test_the_encoder_carries_on_in_this_process_when_a_worker_dies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker killed between pages costs nothing: that page is encoded here, the next there."""
    from matomo_client.export import encode

    monkeypatch.setattr(encode, "MIN_WORKER_BODY", 0)
    encoder = encode.PageEncoder("jsonl", 1)
    cursor, bounds, _ = _args("jsonl")
    try:
        first = await encoder.encode(_body(), cursor, bounds)
        assert encoder._pool is not None
        (pid,) = _pids(encoder._pool)
        os.kill(pid, signal.SIGKILL)
        _wait_for(lambda: not _alive(pid), 10)
        again = await encoder.encode(_body(), cursor, bounds)
        assert again is not None
        assert first is not None
        assert again.visits.jsonl == first.visits.jsonl
        assert encoder._pool._all == []  # the dead one is gone, none started for that page
        await encoder.encode(_body(), cursor, bounds)
        assert len(_pids(encoder._pool)) == 1
        assert _pids(encoder._pool) != [pid]
    finally:
        await encoder.aclose()


async def test_an_export_without_worker_processes_still_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When no worker can be started (no interpreter to run), pages are encoded here instead."""
    from matomo_client.export import encode

    monkeypatch.setattr(encode, "MIN_WORKER_BODY", 0)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    sb = Sandbox(SandboxConfig(seed=4, days=5, visits_per_day=10, today=TODAY))
    first, last = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
    target = str(tmp_path / "x.jsonl")
    async with _sandbox_client(sb) as m:
        summary = await export_visits(
            m, sites=[1], start=first, end=last, target=target, now=NOW, workers=2
        )
    days = [first + timedelta(days=i) for i in range(3)]
    expected = {v.id_visit for d in days for v in sb.world.day_visits(1, d)}
    got = [int(r["id_visit"]) for r in read_rows(target, "visits")]
    assert sorted(got) == sorted(expected)
    assert summary.visits == len(expected)


async def test_workers_do_not_inherit_the_api_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker never talks to Matomo, so MATOMO_TOKEN is left out of its environment."""
    monkeypatch.setenv("MATOMO_TOKEN", "secret-token-xyz")
    monkeypatch.setenv("MATOMO_URL", "https://stats.example.com/")
    pool = WorkerPool(1)
    try:
        await pool.run(_args("jsonl"), _body())
        (pid,) = _pids(pool)
        environ = _environ(pid)
    finally:
        await pool.aclose()
    assert b"MATOMO_URL=https://stats.example.com/" in environ
    assert b"secret-token-xyz" not in environ
