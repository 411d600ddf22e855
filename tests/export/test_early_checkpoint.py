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
from matomo_client.export import export_visits
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
