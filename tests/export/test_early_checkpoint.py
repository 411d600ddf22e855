"""The DuckDB target is checkpointed once beside the last pages' fetching (`_Run.plan_checkpoint`),
so that closing it has little left to compress; the export's rows are the same."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from export_readers import read_rows

from matomo_client import AsyncMatomo, Auth
from matomo_client.export import ExportApiError, export_visits
from matomo_client.export import run as run_module
from matomo_client.export.sinks.duckdb import DuckDBSink
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 20)
DAYS = [date(2024, 5, d) for d in range(1, 17)]
LIVE = b"Live.getLastVisitsDetails"


class CountingTransport(httpx.AsyncBaseTransport):
    """The sandbox in-process, counting the Live requests sent and answered. Site 2's run
    that ends on the last day waits for `gate` (at most 10 s, once): the other windows are
    then committed while its first page is still in flight."""

    def __init__(self, sb: Sandbox, *, hold: bool = True) -> None:
        self.inner = httpx.ASGITransport(app=sb.app)
        self.lock = threading.Lock()
        self.sent = self.answered = 0
        self.gate = anyio.Event()
        if not hold:
            self.gate.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params) | dict(httpx.QueryParams(request.content.decode()))
        live = params.get("method") == "Live.getLastVisitsDetails"
        if live:
            with self.lock:
                self.sent += 1
            if params.get("idSite") == "2" and params["date"].endswith(str(DAYS[-1])):
                with anyio.move_on_after(10):
                    await self.gate.wait()
                self.gate.set()  # waited once, at most
        try:
            return await self.inner.handle_async_request(request)
        finally:
            if live:
                with self.lock:
                    self.answered += 1

    def snapshot(self) -> tuple[int, int]:
        with self.lock:
            return self.sent, self.answered


def _sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=30, today=TODAY))


def _client(sb: Sandbox, transport: httpx.AsyncBaseTransport) -> AsyncMatomo:
    http = httpx.AsyncClient(transport=transport)
    return AsyncMatomo("http://sandbox.test/", auth=Auth.token(sb.config.token), http_client=http)


def _ids(target: str) -> list[tuple[int, int]]:
    return sorted((int(v["id_site"]), int(v["id_visit"])) for v in read_rows(target, "visits"))


async def _export(sb: Sandbox, transport: httpx.AsyncBaseTransport, target: str) -> Any:
    async with _client(sb, transport) as m:
        return await export_visits(
            m,
            sites=[1, 2],
            start=DAYS[0],
            end=DAYS[-1],
            target=target,
            page_size=10,
            concurrency=4,
            workers=0,
        )


@pytest.fixture(autouse=True)
def _small_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transaction every few windows, as at `FLUSH_VISITS` in a bigger export."""
    monkeypatch.setattr(run_module, "FLUSH_VISITS", 40)


def _record(
    monkeypatch: pytest.MonkeyPatch, transport: CountingTransport, first: Any = None
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Each DuckDB checkpoint's (sent, answered) Live requests when it started and ended;
    `first(sink)` runs in place of the first one's own work before it."""
    seen: list[tuple[tuple[int, int], tuple[int, int]]] = []
    original = DuckDBSink.checkpoint

    def checkpoint(self: DuckDBSink) -> None:
        before = transport.snapshot()
        anyio.from_thread.run_sync(transport.gate.set)  # the held run goes on
        try:
            if first is not None and not seen:
                first(self)
            original(self)
        finally:
            seen.append((before, transport.snapshot()))

    monkeypatch.setattr(DuckDBSink, "checkpoint", checkpoint)
    return seen


def _expected(sb: Sandbox) -> list[tuple[int, int]]:
    return sorted((s, v.id_visit) for s in (1, 2) for d in DAYS for v in sb.world.day_visits(s, d))


async def test_the_target_is_checkpointed_while_the_last_pages_are_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two checkpoints: one while Live pages are still to come, the last on closing; every
    visit lands once, and the counts agree with Matomo's."""
    sb = _sandbox()
    transport = CountingTransport(sb)
    seen = _record(monkeypatch, transport)
    target = str(tmp_path / "x.duckdb")
    summary = await _export(sb, transport, target)
    total = transport.answered
    assert len(seen) == 2
    (early, _), (last, _) = seen
    assert early[1] < total  # pages were still to come when it started
    assert last[1] == total
    assert summary.reconciled
    assert summary.mismatches == []
    assert summary.windows_exported == len(DAYS) * 2
    assert _ids(target) == _expected(sb)


async def test_pages_are_fetched_while_the_early_checkpoint_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export does not wait for the early checkpoint: pages keep coming meanwhile (here
    it waits for two of them), and the windows fetched then are written after it."""
    sb = _sandbox()
    transport = CountingTransport(sb)

    def wait_for_pages(sink: DuckDBSink) -> None:
        before = transport.snapshot()[1]
        deadline = time.monotonic() + 10
        while transport.snapshot()[1] < before + 2 and time.monotonic() < deadline:
            time.sleep(0.005)

    seen = _record(monkeypatch, transport, first=wait_for_pages)
    target = str(tmp_path / "x.duckdb")
    summary = await _export(sb, transport, target)
    assert len(seen) == 2
    (started, ended), _ = seen
    assert ended[1] >= started[1] + 2  # answers arrived during the checkpoint
    assert summary.windows_exported == len(DAYS) * 2
    assert summary.reconciled
    assert _ids(target) == _expected(sb)


async def test_no_early_checkpoint_when_every_page_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows committed only once every page has come (one transaction at the end): the
    checkpoint on closing is the only one."""
    monkeypatch.setattr(run_module, "FLUSH_VISITS", 10**9)
    sb = _sandbox()
    transport = CountingTransport(sb, hold=False)
    seen = _record(monkeypatch, transport)
    summary = await _export(sb, transport, str(tmp_path / "x.duckdb"))
    assert len(seen) == 1
    assert summary.windows_exported == len(DAYS) * 2
    assert summary.reconciled


async def test_a_failing_early_checkpoint_fails_the_export_and_keeps_its_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error in the early checkpoint (not DuckDB's, which it ignores) stops the export as
    itself; the windows committed stay, and the next run fetches only the others."""

    def broke(sink: DuckDBSink) -> None:
        raise RuntimeError("checkpoint broke")

    sb = _sandbox()
    transport = CountingTransport(sb)
    _record(monkeypatch, transport, first=broke)
    target = str(tmp_path / "x.duckdb")
    with pytest.raises(RuntimeError, match="checkpoint broke"):
        await _export(sb, transport, target)
    kept = len(_ids(target))
    assert kept > 0
    again = await _export(sb, transport, target)
    assert 0 < again.windows_exported < len(DAYS) * 2
    assert again.windows_skipped == len(DAYS) * 2 - again.windows_exported
    assert again.reconciled
    assert again.mismatches == []
    assert _ids(target) == _expected(sb)


class RefusingTransport(CountingTransport):
    """A CountingTransport that answers the held run's requests with Matomo's error: the
    first once the gate opens (the checkpoint has started)."""

    def __init__(self, sb: Sandbox) -> None:
        super().__init__(sb)
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        params = dict(request.url.params) | dict(httpx.QueryParams(request.content.decode()))
        held = params.get("idSite") == "2" and params.get("date", "").endswith(str(DAYS[-1]))
        if held and params.get("method") == "Live.getLastVisitsDetails":
            with self.lock:
                self.refused += 1
            return httpx.Response(200, json={"result": "error", "message": "archiving is broken"})
        return response


def _runs(monkeypatch: pytest.MonkeyPatch) -> list[run_module._Run]:
    """The export's `_Run`, once it plans its checkpoint."""
    runs: list[run_module._Run] = []
    original = run_module._Run.plan_checkpoint

    def plan(self: run_module._Run, windows: int, in_flight: anyio.CapacityLimiter) -> None:
        runs.append(self)
        original(self, windows, in_flight)

    monkeypatch.setattr(run_module._Run, "plan_checkpoint", plan)
    return runs


def _committed(sink: DuckDBSink) -> int:
    """The visits windows recorded in the target (in the writer's thread)."""
    con = sink._con
    assert con is not None
    row = con.execute("SELECT count(*) FROM _matomo_export WHERE id_site IS NOT NULL").fetchone()
    return int(row[0]) if row else 0


def _until(ok: Any) -> None:
    """Wait (in the writer's thread, at most 10 s) until `ok()`."""
    deadline = time.monotonic() + 10
    while not ok() and time.monotonic() < deadline:
        time.sleep(0.005)


async def _finish_again(sb: Sandbox, target: str) -> None:
    """The next run exports the windows left, each visit once, and reconciles."""
    again = await _export(sb, CountingTransport(sb, hold=False), target)
    assert again.windows_exported + again.windows_skipped == len(DAYS) * 2
    assert again.reconciled
    assert again.mismatches == []
    assert _ids(target) == _expected(sb)


async def test_a_live_error_during_the_early_checkpoint_stops_the_export_as_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Matomo refusing a page while the checkpoint runs stops the export with that error (not
    an exception group) once the checkpoint is over; no fetched window is left unwritten, and
    the next run fetches only the others."""
    sb = _sandbox()
    transport = RefusingTransport(sb)
    runs = _runs(monkeypatch)

    def refused(sink: DuckDBSink) -> None:
        _until(lambda: transport.refused > 0)
        time.sleep(0.05)

    seen = _record(monkeypatch, transport, first=refused)
    target = str(tmp_path / "x.duckdb")
    with pytest.raises(ExportApiError, match="archiving is broken"):
        await _export(sb, transport, target)
    assert transport.refused == 1
    assert len(seen) == 1  # the early one: the export stopped before saving
    assert runs[0]._handed == 0
    await _finish_again(sb, target)


@pytest.mark.parametrize(
    ("how", "anyio_backend"),
    [("scope", "asyncio"), ("scope", "trio"), ("task", "asyncio")],  # Task.cancel: asyncio's
)
async def test_an_export_cancelled_during_the_early_checkpoint_keeps_its_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Cancelled while the checkpoint runs (a cancel scope; asyncio's own `Task.cancel`, as
    Ctrl-C sends), the export waits for it, writes the windows fetched meanwhile and stops;
    the next run finishes it, each visit once."""
    sb = _sandbox()
    transport = CountingTransport(sb)
    runs = _runs(monkeypatch)
    scope = anyio.CancelScope()
    tasks: list[Any] = []
    at_start: list[int] = []

    def cancel(sink: DuckDBSink) -> None:
        at_start.append(_committed(sink))
        _until(lambda: runs[0]._handed > 0)
        anyio.from_thread.run_sync(scope.cancel if how == "scope" else tasks[0].cancel)
        time.sleep(0.05)

    _record(monkeypatch, transport, first=cancel)
    target = str(tmp_path / "x.duckdb")
    if how == "scope":
        with scope:
            await _export(sb, transport, target)
        assert scope.cancelled_caught
    else:
        import asyncio

        tasks.append(asyncio.ensure_future(_export(sb, transport, target)))
        with pytest.raises(asyncio.CancelledError):
            await tasks[0]
    assert runs[0]._handed == 0
    assert len(read_rows(target, "_matomo_export")) - 1 > at_start[0]
    await _finish_again(sb, target)


@pytest.mark.parametrize("name", ["x.sqlite", "x.parquet", "x.jsonl", "postgresql"])
async def test_other_targets_export_the_same(
    tmp_path: Path, request: pytest.FixtureRequest, name: str
) -> None:
    """SQLite and PostgreSQL (whose checkpoint does nothing) and file targets (no shared
    transactions) export every window once, as before."""
    sb = _sandbox()
    target = request.getfixturevalue("pg_url") if name == "postgresql" else str(tmp_path / name)
    summary = await _export(sb, CountingTransport(sb, hold=False), target)
    assert summary.windows_exported == len(DAYS) * 2
    assert summary.reconciled
    assert summary.mismatches == []
    assert _ids(target) == _expected(sb)
