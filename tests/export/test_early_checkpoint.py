"""The target is checkpointed once part-way, in the background, while the last pages come."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest
from export_fakeworld import FakeMatomo
from export_readers import read_rows

from matomo_client._core.http import Request, Response
from matomo_client.export import export_visits
from matomo_client.export import run as export_run
from matomo_client.export.schema import Batch
from matomo_client.export.sinks.duckdb import DuckDBSink
from matomo_client.export.state import WindowRecord
from matomo_client.transports import MockTransport

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 31)
NOW = datetime(2024, 5, 31, 12, 0, tzinfo=timezone.utc)
DAYS = 16  # closed days of one site: 16 windows, the first checkpoint after 12


class CountingSink(DuckDBSink):
    """A DuckDB target that notes how many windows were written at each checkpoint."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.windows = 0
        self.at_checkpoint: list[int] = []

    def write_window(
        self, kind: str, records: Sequence[WindowRecord], batches: Sequence[Batch]
    ) -> None:
        super().write_window(kind, records, batches)
        self.windows += len(records)

    def checkpoint(self) -> None:
        self.at_checkpoint.append(self.windows)
        super().checkpoint()


class SlowTransport(MockTransport):
    """The fake's answers after 20 ms, as over a network: writing outpaces fetching."""

    async def send(self, request: Request) -> Response:
        await anyio.sleep(0.02)
        return await super().send(request)


async def _export(world: FakeMatomo, target: str | DuckDBSink, concurrency: int = 2) -> None:
    async with world.client(SlowTransport(world.handle)) as m:
        await export_visits(
            m,
            sites=[1],
            start=TODAY - timedelta(days=DAYS),
            end=TODAY - timedelta(days=1),
            target=target,
            page_size=2,
            concurrency=concurrency,
            now=NOW,
            workers=0,
        )


def _ids(path: Path) -> list[int]:
    return sorted(int(v["id_visit"]) for v in read_rows(str(path), "visits"))


async def test_checkpoints_once_three_quarters_in_then_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 16 windows written one a transaction, the first checkpoint comes once 12 are
    written and before the last; the second once all are."""
    monkeypatch.setattr(export_run, "FLUSH_VISITS", 1)
    world = FakeMatomo(TODAY, days=DAYS + 1)
    sink = CountingSink(str(tmp_path / "x.duckdb"))
    await _export(world, sink)
    assert len(sink.at_checkpoint) == 2
    first, last = sink.at_checkpoint
    assert 12 <= first < DAYS
    assert last == DAYS
    expected = sorted(
        v["idVisit"] for d in range(DAYS) for v in world.owned(1, TODAY - timedelta(days=d + 1))
    )
    assert _ids(tmp_path / "x.duckdb") == expected


async def test_a_short_export_checkpoints_only_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under eight windows there is no early checkpoint."""
    monkeypatch.setattr(export_run, "FLUSH_VISITS", 1)
    world = FakeMatomo(TODAY, days=DAYS + 1)
    sink = CountingSink(str(tmp_path / "x.duckdb"))
    async with world.client() as m:
        await export_visits(
            m,
            sites=[1],
            start=TODAY - timedelta(days=7),
            end=TODAY - timedelta(days=1),
            target=sink,
            page_size=2,
            now=NOW,
            workers=0,
        )
    assert sink.at_checkpoint == [7]


class SlowCheckpointSink(CountingSink):
    """Its first checkpoint waits until every Live page of the export has been asked for."""

    def __init__(self, path: str, world: FakeMatomo, pages: int) -> None:
        super().__init__(path)
        self.world = world
        self.pages = pages
        self.asked: int | None = None

    def _live_requests(self) -> int:
        return sum(p.get("method") == "Live.getLastVisitsDetails" for p in self.world.requests)

    def checkpoint(self) -> None:
        if not self.at_checkpoint:
            deadline = time.monotonic() + 10
            while self._live_requests() < self.pages and time.monotonic() < deadline:
                time.sleep(0.005)
            self.asked = self._live_requests()
        super().checkpoint()


async def test_the_runs_go_on_fetching_while_the_first_checkpoint_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No run waits for the writer while the early checkpoint holds it: every remaining page
    is asked for before it ends, and the windows fetched meanwhile are written after it.

    One request in flight makes runs of four days, so the windows that end while the
    checkpoint runs are not the last of their runs: a run that waited to write one would
    not ask for its next day's pages."""
    monkeypatch.setattr(export_run, "FLUSH_VISITS", 1)
    reference = FakeMatomo(TODAY, days=DAYS + 1)
    await _export(reference, str(tmp_path / "ref.duckdb"), concurrency=1)
    pages = sum(p.get("method") == "Live.getLastVisitsDetails" for p in reference.requests)

    world = FakeMatomo(TODAY, days=DAYS + 1)
    sink = SlowCheckpointSink(str(tmp_path / "x.duckdb"), world, pages)
    await _export(world, sink, concurrency=1)
    assert sink.asked == pages
    assert len(sink.at_checkpoint) == 2
    assert sink.at_checkpoint[1] == DAYS
    assert _ids(tmp_path / "x.duckdb") == _ids(tmp_path / "ref.duckdb")


class FailingCheckpointSink(CountingSink):
    """Its first checkpoint raises, as a bug in a target would."""

    def checkpoint(self) -> None:
        if not self.at_checkpoint:
            self.at_checkpoint.append(self.windows)
            raise RuntimeError("the early checkpoint broke")
        super().checkpoint()


async def test_a_failing_early_checkpoint_fails_the_export_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpoint's error is the export's; the windows written stay, and a re-run ends
    the export without fetching them again."""
    monkeypatch.setattr(export_run, "FLUSH_VISITS", 1)
    world = FakeMatomo(TODAY, days=DAYS + 1)
    path = tmp_path / "x.duckdb"
    sink = FailingCheckpointSink(str(path))
    with pytest.raises(RuntimeError, match="the early checkpoint broke"):
        await _export(world, sink)
    written = sink.at_checkpoint[0]
    assert written >= 12
    async with world.client() as m:
        summary = await export_visits(
            m,
            sites=[1],
            start=TODAY - timedelta(days=DAYS),
            end=TODAY - timedelta(days=1),
            target=str(path),
            page_size=2,
            concurrency=2,
            now=NOW,
            workers=0,
        )
    assert summary.windows_skipped >= written
    expected = sorted(
        v["idVisit"] for d in range(DAYS) for v in world.owned(1, TODAY - timedelta(days=d + 1))
    )
    assert _ids(path) == expected
