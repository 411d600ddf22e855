"""How an export starts: the preflight and the sites in one round trip, the target loaded
meanwhile, and the target's or the preflight's error first; the phases it reports."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest
from export_fakeworld import FakeMatomo

from matomo_client import AsyncMatomo, Auth
from matomo_client._core.http import Request, Response
from matomo_client.export import ExportApiError, ExportProgress, ExportUsageError, export_visits
from matomo_client.transports import json_response, request_params

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
VERSION = "API.getMatomoVersion"
SITES = "SitesManager.getSitesWithAtLeastViewAccess"


class HeldTransport:
    """Answers from a `FakeMatomo`, with the version answer held until `release` is set."""

    def __init__(self, world: FakeMatomo, version: Any = "5.1.0", sites: Any = None) -> None:
        self.world = world
        self.version = version
        self.sites = sites
        self.release = anyio.Event()
        self.started: list[str] = []

    async def send(self, request: Request) -> Response:
        method = request_params(request).get("method", "")
        self.started.append(method)
        if method == SITES:
            self.release.set()  # the sites request is out while the preflight still waits
            if self.sites is not None:
                return json_response(self.sites)
        if method == VERSION:
            await self.release.wait()
            return json_response({"value": self.version})
        return self.world.handle(request)

    async def aclose(self) -> None:
        pass


def _client(transport: Any) -> AsyncMatomo:
    return AsyncMatomo("https://matomo.test/", auth=Auth.token("t-123"), transport=transport)


async def _export(m: AsyncMatomo, target: str, **kw: Any) -> Any:
    return await export_visits(
        m,
        sites=[1],
        start=TODAY - timedelta(days=2),
        end=TODAY - timedelta(days=1),
        target=target,
        now=NOW,
        **kw,
    )


@pytest.mark.parametrize("name", ["x.duckdb", "x.jsonl"])
async def test_the_sites_are_asked_for_while_the_preflight_is_in_flight(
    tmp_path: Path, name: str
) -> None:
    """The preflight's answer waits for the sites request: only one round trip before the
    export (sequential requests would never get the version answer)."""
    world = FakeMatomo(TODAY)
    transport = HeldTransport(world)
    with anyio.fail_after(20):
        async with _client(transport) as m:
            summary = await _export(m, str(tmp_path / name))
    assert sorted(transport.started[:2]) == [VERSION, SITES]
    assert summary.visits == len(world.owned(1, TODAY - timedelta(days=2))) + len(
        world.owned(1, TODAY - timedelta(days=1))
    )


async def test_the_preflights_error_comes_first_and_no_target_is_created(tmp_path: Path) -> None:
    """A server too old for the client fails the preflight; the sites' own error (here a bad
    answer) is not the one shown, and nothing is written."""
    transport = HeldTransport(FakeMatomo(TODAY), version="3.14.1", sites={"result": "oops"})
    target = tmp_path / "x.duckdb"
    with anyio.fail_after(20), pytest.raises(ExportApiError, match=r"4\.0 or newer"):
        async with _client(transport) as m:
            await _export(m, str(target))
    assert not target.exists()


async def test_a_failed_preflight_says_the_export_could_not_start(tmp_path: Path) -> None:
    """The preflight's error names what failed, the export's start, not the sites (before:
    'cannot list sites: Matomo 3.14.1 is too old'); the sites' own errors keep their words."""
    old = HeldTransport(FakeMatomo(TODAY), version="3.14.1")
    with anyio.fail_after(20), pytest.raises(ExportApiError) as failed:
        async with _client(old) as m:
            await _export(m, str(tmp_path / "x.duckdb"))
    assert str(failed.value).startswith("cannot start the export: Matomo 3.14.1 ")
    bad_sites = HeldTransport(FakeMatomo(TODAY), sites={"result": "oops"})
    with anyio.fail_after(20), pytest.raises(ExportApiError, match=r"^cannot list sites: "):
        async with _client(bad_sites) as m:
            await _export(m, str(tmp_path / "y.duckdb"))


async def test_a_bad_target_does_not_wait_for_the_server(tmp_path: Path) -> None:
    """The target is checked while the sites are asked for: a server that never answers does
    not hold back the target's error."""

    class Silent:
        async def send(self, request: Request) -> Response:
            await anyio.Event().wait()
            raise AssertionError("unreachable")

        async def aclose(self) -> None:
            pass

    with anyio.fail_after(20), pytest.raises(ExportUsageError, match="cannot tell the target"):
        async with _client(Silent()) as m:
            await _export(m, str(tmp_path / "x.xlsx"))


async def test_a_missing_site_fails_after_the_target_loaded_and_creates_nothing(
    tmp_path: Path,
) -> None:
    """The sites' error stays the export's error when the target is fine."""
    transport = HeldTransport(FakeMatomo(TODAY))
    target = tmp_path / "x.duckdb"
    with anyio.fail_after(20), pytest.raises(ExportUsageError, match="site 99 does not exist"):
        async with _client(transport) as m:
            await export_visits(m, sites=[99], start="yesterday", end="yesterday", target=target)
    assert not target.exists()


async def test_saving_is_reported_between_the_windows_and_the_reconciliation(
    tmp_path: Path,
) -> None:
    """Phases in order: exporting (once per window), saving, reconciling, finishing, done."""
    seen: list[ExportProgress] = []
    async with FakeMatomo(TODAY).client() as m:
        await _export(m, str(tmp_path / "x.duckdb"), progress=seen.append)
    phases = [p.phase for i, p in enumerate(seen) if i == 0 or seen[i - 1].phase != p.phase]
    assert phases == ["exporting", "saving", "reconciling", "finishing", "done"]
    saving = next(p for p in seen if p.phase == "saving")
    assert saving.windows_done == saving.windows_total == 2


class SitesAfterTarget(HeldTransport):
    """Answers the sites request only once the target file exists (or after 5 s), with
    `sites` (an error answer by default)."""

    def __init__(self, world: FakeMatomo, target: Path, sites: Any = None) -> None:
        super().__init__(world, sites={"result": "oops"} if sites is None else sites)
        self.target = target
        self.seen_file = False

    async def send(self, request: Request) -> Response:
        if request_params(request).get("method") == SITES:
            with anyio.move_on_after(5):
                while not self.target.exists():  # noqa: ASYNC110 - a file, not an event
                    await anyio.sleep(0.005)
            self.seen_file = self.target.exists()
        return await super().send(request)


async def test_duckdb_starts_while_the_sites_are_asked_for_and_a_failed_start_leaves_no_file(
    tmp_path: Path,
) -> None:
    """DuckDB's start (about 20 ms) overlaps the sites' round trip; when the start then
    fails, the database file it created is removed with its log."""
    target = tmp_path / "x.duckdb"
    transport = SitesAfterTarget(FakeMatomo(TODAY), target)
    with anyio.fail_after(20), pytest.raises(ExportApiError, match=r"^cannot list sites: "):
        async with _client(transport) as m:
            await _export(m, str(target))
    assert transport.seen_file
    assert [p.name async for p in anyio.Path(tmp_path).iterdir()] == []


async def test_a_failed_start_leaves_an_existing_target_as_it_was(tmp_path: Path) -> None:
    """A target that existed before keeps its rows and its file when the next start fails."""
    import duckdb

    target = tmp_path / "x.duckdb"
    world = FakeMatomo(TODAY)
    async with _client(HeldTransport(world)) as m:
        first = await _export(m, str(target))
    assert first.visits > 0
    transport = SitesAfterTarget(world, target)
    with anyio.fail_after(20), pytest.raises(ExportApiError, match=r"^cannot list sites: "):
        async with _client(transport) as m:
            await _export(m, str(target))
    with duckdb.connect(str(target), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM visits").fetchone() == (first.visits,)


async def test_a_failed_start_creates_no_folder(tmp_path: Path) -> None:
    """A target in a folder that does not exist yet is created only once the start succeeded."""
    folder = tmp_path / "new" / "deeper"
    with anyio.fail_after(20), pytest.raises(ExportUsageError, match="site 99 does not exist"):
        async with _client(HeldTransport(FakeMatomo(TODAY))) as m:
            await export_visits(
                m, sites=[99], start="yesterday", end="yesterday", target=folder / "x.duckdb"
            )
    assert not (tmp_path / "new").exists()


async def test_the_page_workers_stop_while_the_target_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every page is in once the target is saved: the page workers are stopped meanwhile,
    not after the final checkpoint."""
    import threading

    from matomo_client.export.encode import PageEncoder
    from matomo_client.export.sinks.duckdb import DuckDBSink

    stopped = threading.Event()
    seen: list[bool] = []
    aclose, checkpoint = PageEncoder.aclose, DuckDBSink.checkpoint

    async def recorded_aclose(self: PageEncoder) -> None:
        await aclose(self)
        stopped.set()

    def waiting_checkpoint(self: DuckDBSink) -> None:
        seen.append(stopped.wait(5))  # in the writer's thread
        checkpoint(self)

    monkeypatch.setattr(PageEncoder, "aclose", recorded_aclose)
    monkeypatch.setattr(DuckDBSink, "checkpoint", waiting_checkpoint)
    world = FakeMatomo(TODAY)
    with anyio.fail_after(20):
        async with _client(HeldTransport(world)) as m:
            summary = await _export(m, str(tmp_path / "x.duckdb"), workers=1)
    assert seen == [True]
    assert summary.visits > 0
