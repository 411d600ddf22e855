"""Ctrl-C under `asyncio.run`: asyncio's own `Task.cancel()` while a sink call runs in its thread.

`asyncio.run` answers Ctrl-C by cancelling its main task (the `matomo` command sends SIGTERM the
same way). anyio does not cancel a thread's wait, but that cancellation does: the export then
closed its target while the last write was still running in the thread (SQLite crashed the
process, DuckDB raised "connection is busy with another call"). The sink must see one call at
a time, and the window being written must land whole.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from export_fakeworld import FakeMatomo
from export_readers import read_rows

from matomo_client.export import export_visits
from matomo_client.export.sinks import SQLiteSink

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)


class _SlowWrites(SQLiteSink):
    """An SQLite target whose writes take a while and which notes calls that overlap."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.writing = threading.Event()
        self.busy = 0
        self.overlaps: list[str] = []

    def _enter(self, name: str) -> None:
        self.busy += 1
        if self.busy > 1:
            self.overlaps.append(name)

    def write_window(self, kind: str, records: Sequence[Any], batches: Sequence[Any]) -> None:
        self._enter("write_window")
        try:
            self.writing.set()
            time.sleep(0.3)  # the cancellation arrives meanwhile
            super().write_window(kind, records, batches)
        finally:
            self.busy -= 1

    def close(self) -> None:
        self._enter("close")
        try:
            super().close()
        finally:
            self.busy -= 1


def test_cancelled_by_asyncio_the_export_closes_its_target_after_the_write(
    tmp_path: Path,
) -> None:
    """asyncio's Task.cancel() during a write: close waits for it, and a re-run is exactly once."""
    world = FakeMatomo(TODAY)
    sink = _SlowWrites(str(tmp_path / "x.sqlite"))

    async def export(target: Any) -> None:
        async with world.client() as m:
            await export_visits(
                m, sites="all", start="2024-03-27", end="2024-03-30", target=target,
                now=NOW, workers=0,
            )  # fmt: skip

    async def cancelled_mid_write() -> None:
        task = asyncio.current_task()
        assert task is not None

        async def cancel_once_writing() -> None:
            await asyncio.to_thread(sink.writing.wait)
            task.cancel()  # what asyncio.run does on Ctrl-C

        canceller = asyncio.ensure_future(cancel_once_writing())
        try:
            await export(sink)
        finally:
            canceller.cancel()

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled_mid_write())
    assert sink.overlaps == []  # before: ["close"], closed under the running write

    asyncio.run(export(str(tmp_path / "x.sqlite")))
    ids = [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(sink.path, "visits")]
    assert sorted(ids) == sorted(
        (s, v["idVisit"])
        for s in (1, 2)
        for d in range(27, 31)
        for v in world.owned(s, date(2024, 3, d))
    )


def test_a_sink_call_cancelled_before_its_thread_starts_is_skipped_not_awaited() -> None:
    """A call still queued for a thread when asyncio cancels it never runs, and nothing hangs."""
    import anyio

    from matomo_client.export.run import _sink_call

    ran: list[str] = []
    release = threading.Event()

    async def main() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.to_thread.run_sync, release.wait)  # holds the only thread
            await asyncio.sleep(0.05)
            queued = asyncio.ensure_future(_sink_call(ran.append, "ran"))
            await asyncio.sleep(0.05)
            queued.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(queued, 5)
            release.set()

    asyncio.run(main())
    assert ran == []
