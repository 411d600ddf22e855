"""Target failures: the disk fills or a write fails mid-export.

Two ways, since tests run as root (chmod does not stop root, and mounting a tiny tmpfs needs
privileges a CI container lacks):

* in-process, a sink call raises `OSError(ENOSPC)` on its N-th write (monkeypatch), at each place
  a write can fail: a window's rows, a file target's part, its journal line (half written, as a
  full disk leaves it), a database commit;
* in a subprocess, `RLIMIT_FSIZE` caps the size of every file the `matomo` CLI writes (SIGXFSZ
  ignored, so writes fail with EFBIG like on a full disk).

Each time: one clear error, the target opens and holds only whole windows, and the same export
run again after the fix completes with every visit exactly once.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pyarrow.parquet as pq
import pytest
from export_readers import read_rows

from matomo_client import AsyncMatomo, Auth
from matomo_client.export import TargetError, export_visits
from matomo_client.export import run as export_run
from matomo_client.export.sinks import FileSink, open_target
from matomo_client.export.sinks.sql import SqlSink
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
FIRST = TODAY - timedelta(days=8)
LAST = TODAY - timedelta(days=1)
REPO = Path(__file__).resolve().parents[2]


def _no_space(*_: Any, **__: Any) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def _fail_on_call(
    monkeypatch: pytest.MonkeyPatch, cls: type, name: str, n: int, fail: Callable[..., Any]
) -> None:
    """Make `cls.name` run normally n-1 times, then call `fail` instead (every time after)."""
    real = getattr(cls, name)
    calls = {"n": 0}

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] >= n:
            return fail(self, *args, **kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, wrapper)


def _half_journal_line(self: FileSink, entries: Any) -> None:
    """What a full disk does to an append: part of the bytes land, then ENOSPC."""
    payload = b"".join(json.dumps(e).encode() + b"\n" for e in entries)
    with open(self.journal_path, "ab") as f:
        f.write(payload[: len(payload) // 2])
    _no_space()


def _local_day(sb: Sandbox, id_site: int, ts: Any) -> date:
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00").replace(" ", "T"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(ZoneInfo(sb.world.sites[id_site].timezone)).date()


def _rows_after_failure(target: str) -> list[dict[str, Any]]:
    """The visits a target holds after a failed run, read as its next run will see them."""
    sink = open_target(target)
    sink.open()  # file targets drop parts that no journal line records
    sink.close()
    if not isinstance(sink, FileSink):
        return read_rows(target, "visits")
    rows: list[dict[str, Any]] = []
    for part in sorted((sink.parts_root / "visits").rglob("*")):
        if not part.is_file():
            continue
        if sink.fmt == "parquet":
            rows.extend(pq.ParquetFile(part).read().to_pylist())
        else:
            data = part.read_bytes()
            text = (gzip.decompress(data) if part.name.endswith(".gz") else data).decode()
            rows.extend(json.loads(line) for line in text.splitlines())
    return rows


def _check_whole_windows(sb: Sandbox, target: str) -> set[tuple[int, date]]:
    """Assert the target opens and holds only whole, recorded windows; return those windows."""
    sink = open_target(target)
    sink.open()
    state = sink.load_state("visits")
    sink.close()
    done = {key for key, rec in state.windows.items() if rec.status == "done"}
    by_window: dict[tuple[int, date], list[int]] = defaultdict(list)
    for r in _rows_after_failure(target):
        s = int(r["id_site"])
        by_window[(s, _local_day(sb, s, r["last_action_timestamp"]))].append(int(r["id_visit"]))
    assert set(by_window) <= done, "rows of a window that is not recorded as done"
    for (s, d), ids in by_window.items():
        assert sorted(ids) == sorted(v.id_visit for v in sb.world.day_visits(s, d)), (s, d)
    for s, d in done:  # a recorded window with no rows must really be empty
        assert (s, d) in by_window or not sb.world.day_visits(s, d)
    return done


def _expected(sb: Sandbox) -> set[tuple[int, int]]:
    days = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    return {(s, v.id_visit) for s in (1, 2) for d in days for v in sb.world.day_visits(s, d)}


def _client(sb: Sandbox) -> AsyncMatomo:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    return AsyncMatomo("http://sandbox.test/", auth=Auth.token("sandbox-token"), http_client=http)


async def _export(sb: Sandbox, target: str) -> Any:
    async with _client(sb) as m:
        return await export_visits(
            m, sites=[1, 2], start=FIRST, end=LAST, target=target, page_size=20, now=NOW,
            concurrency=3,
        )  # fmt: skip


def _db_commit_fails(self: SqlSink) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


# (target, class, method, n-th call that fails, how it fails)
CASES = [
    ("x.duckdb", "DuckDBSink", "_insert", 5, _no_space),
    ("x.duckdb", "DuckDBSink", "_commit", 4, _db_commit_fails),
    ("x.sqlite", "SQLiteSink", "_insert", 5, _no_space),
    ("x.jsonl.gz", "FileSink", "_write_part", 6, _no_space),
    ("x.jsonl", "FileSink", "_append", 4, _half_journal_line),
    ("x.parquet", "FileSink", "_write_part", 6, _no_space),
    ("hive/", "FileSink", "_append", 3, _half_journal_line),
]


@pytest.mark.parametrize(
    ("name", "cls_name", "method", "n", "fail"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
async def test_disk_full_mid_export(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    cls_name: str,
    method: str,
    n: int,
    fail: Callable[..., Any],
) -> None:
    """A write failing with ENOSPC mid-export: TargetError naming the target, only whole windows kept, a re-run completes exactly once."""
    from matomo_client.export import sinks

    cls = getattr(sinks, cls_name)
    sb = Sandbox(SandboxConfig(seed=21, days=10, visits_per_day=12, today=TODAY))
    target = str(tmp_path / name)
    with monkeypatch.context() as patch:
        # One transaction per window (SQL sinks batch ~2,000 visits by default, more than this
        # whole export), so that the failure lands after some windows were committed.
        patch.setattr(export_run, "FLUSH_VISITS", 1)
        _fail_on_call(patch, cls, method, n, fail)
        with pytest.raises(TargetError) as info:
            await _export(sb, target)
    message = str(info.value)
    assert "\n" not in message
    assert target.rstrip("/") in message
    assert "No space left on device" in message
    done = _check_whole_windows(sb, target)
    assert done, "the windows written before the failure are kept"
    assert len(done) < 16
    summary = await _export(sb, target)
    assert summary.windows_skipped == len(done)
    rows = read_rows(target, "visits")
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in rows]
    assert len(got) == len(set(got))
    assert set(got) == _expected(sb)


CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    from matomo_client.cli import connection, main
    from matomo_client.export import run
    connection.sandbox_overrides = {"days": 20, "visits_per_day": 30, "seed": 4}
    run.FLUSH_VISITS = 1  # a transaction per window: the limit bites after some commits
    main(sys.argv[2:])
    """
)


def _cli(args: list[str], limit: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATOMO_")}
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(limit), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


# SQLite and DuckDB files outgrow the limit mid-export; a JSONL target's parts stay small, so
# there the limit bites when the final file is built from them (all windows already done).
@pytest.mark.parametrize(
    ("name", "limit"), [("x.sqlite", 600_000), ("x.duckdb", 600_000), ("x.jsonl", 400_000)]
)
def test_file_size_limit_cli(tmp_path: Path, name: str, limit: int) -> None:
    """Under RLIMIT_FSIZE the CLI stops with one Error line (exit 2); the target keeps whole windows; without the limit the same command completes."""
    today = datetime.now(timezone.utc).date()
    start, end = today - timedelta(days=12), today - timedelta(days=2)
    args = ["export", "visits", "--sandbox", "--site", "1,2", "--from", start.isoformat(),
            "--to", end.isoformat(), "--out", name, "--quiet", "--concurrency", "2"]  # fmt: skip
    first = _cli(args, limit, tmp_path)
    lines = [line for line in first.stderr.splitlines() if line.strip()]
    assert first.returncode == 2, first.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ")
    assert name in lines[0]
    # The OS's words (EFBIG) or the database's own ("disk I/O error"), after what failed.
    assert "cannot write" in lines[0]
    assert any(w in lines[0] for w in ("File too large", "disk I/O error", "full")), lines[0]
    sb = Sandbox(SandboxConfig(days=20, visits_per_day=30, seed=4))
    target = str(tmp_path / name)
    done = _check_whole_windows(sb, target)
    assert 0 < len(done) <= 22
    second = _cli(args, 2**40, tmp_path)
    assert second.returncode == 0, second.stderr
    rows = read_rows(target, "visits")
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in rows]
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    assert len(got) == len(set(got))
    assert set(got) == {
        (s, v.id_visit) for s in (1, 2) for d in days for v in sb.world.day_visits(s, d)
    }
