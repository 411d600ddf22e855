"""File targets: the parts kept for resuming (`<target>.parts`) against the journal, and files
with the target's names that are not from an export to it."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from export_fakeworld import FakeMatomo
from export_readers import read_rows

from matomo_client.export import ExportSummary, TargetError, export_visits, open_target
from matomo_client.export.rows import build_report_rows
from matomo_client.export.sinks import FileSink
from matomo_client.export.state import DONE, OPEN, JobInfo, WindowRecord, fingerprint

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
START = TODAY - timedelta(days=3)
DAYS = [START + timedelta(days=i) for i in range(3)]  # START to yesterday, all closed
RECORDED = Path(__file__).parent.parent / "recorded"


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


async def _export(
    world: FakeMatomo,
    target: str,
    start: date | str = START,
    now: datetime = NOW,
    restart: bool = False,
) -> ExportSummary:
    async with world.client() as m:
        return await export_visits(
            m, sites="all", start=start, end="yesterday", target=target, page_size=4,
            now=now, restart=restart, workers=0,
        )  # fmt: skip


def _sink(target: str) -> FileSink:
    sink = open_target(target)
    assert isinstance(sink, FileSink)
    return sink


def _visits(target: str) -> list[tuple[int, int]]:
    return sorted((int(v["id_site"]), int(v["id_visit"])) for v in read_rows(target, "visits"))


def _actions(target: str) -> list[tuple[int, int, int]]:
    return sorted(
        (int(a["id_site"]), int(a["id_visit"]), int(a["position"]))
        for a in read_rows(target, "actions")
    )


def _owned(world: FakeMatomo, days: list[date]) -> list[tuple[int, int]]:
    return sorted((s, v["idVisit"]) for s in (1, 2) for d in days for v in world.owned(s, d))


def _listing(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def _delete_parts(target: str) -> None:
    """What a user does to win back disk space: remove the parts (a directory target's parts
    are its output: remove the visits and actions folders)."""
    sink = _sink(target)
    if sink.partitioned:
        for table in ("visits", "actions"):
            shutil.rmtree(sink.parts_root / table)
    else:
        shutil.rmtree(sink.parts_root)


@pytest.mark.parametrize("name", ["x.jsonl", "x.csv.gz", "x.parquet", "hive/"])
async def test_deleted_parts_are_fetched_again_exactly_once(tmp_path: Path, name: str) -> None:
    """After `<target>.parts` is deleted, a re-run fetches the windows that had rows again and
    the files hold every visit and action exactly once (before: empty files, and success)."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / name)
    await _export(world, target)
    visits, actions = _visits(target), _actions(target)
    assert visits == _owned(world, DAYS)
    _delete_parts(target)

    again = await _export(world, target)

    assert again.windows_exported == 6  # sites 1 and 2, 3 days each
    assert again.windows_skipped == 3  # site 3 has no visits: no parts, nothing lost
    assert again.visits == len(visits)
    assert _visits(target) == visits
    assert _actions(target) == actions
    third = await _export(world, target)  # the journal's own files are rebuilt, not refused
    assert third.windows_exported == 0
    assert _visits(target) == visits
    assert _actions(target) == actions


@pytest.mark.parametrize("name", ["x.jsonl", "hive/"])
async def test_one_lost_part_fetches_its_window_again(tmp_path: Path, name: str) -> None:
    """A window whose actions part is gone (its visits part kept) is fetched again, alone."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / name)
    await _export(world, target)
    visits, actions = _visits(target), _actions(target)
    sink = _sink(target)
    (part,) = (sink.parts_root / "actions" / "site=2").rglob(f"*{DAYS[1]}*")
    if part.is_dir():
        shutil.rmtree(part)
    else:
        part.unlink()

    again = await _export(world, target)

    assert again.windows_exported == 1
    assert _visits(target) == visits
    assert _actions(target) == actions


@pytest.mark.parametrize("name", ["x.jsonl.zst", "x.parquet"])
async def test_parts_lost_outside_the_run_are_fetched_again(tmp_path: Path, name: str) -> None:
    """A window the run no longer covers (`last4` a day later) whose parts are gone is open
    again, and a window left open is fetched again by the next run of the same command even
    outside its range: the files hold every row once (before: the run stopped, naming it)."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / name)
    await _export(world, target, start="last4")
    _delete_parts(target)

    tomorrow = NOW + timedelta(days=1)
    await _export(world, target, start="last4", now=tomorrow)
    assert _visits(target) == _owned(world, [*DAYS, TODAY])  # DAYS[0] is outside last4 now


@pytest.mark.parametrize("name", ["x.csv", "hive/"])
async def test_a_part_written_but_not_journalled_is_not_counted_twice(
    tmp_path: Path, name: str
) -> None:
    """A crash between a window's part and its journal line: the re-run fetches the window
    again and its visits are in the files once."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / name)
    await _export(world, target)
    journal = _sink(target).journal_path
    lines = journal.read_bytes().splitlines(keepends=True)
    dropped = [
        line
        for line in lines
        if (e := orjson.loads(line)).get("type") != "window"
        or (e["id_site"], e["day"]) != (1, DAYS[0].isoformat())
    ]
    assert len(dropped) < len(lines)
    journal.write_bytes(b"".join(dropped))

    again = await _export(world, target)

    assert again.windows_exported == 1
    assert _visits(target) == _owned(world, DAYS)


@pytest.mark.parametrize(
    ("name", "theirs"),
    [
        ("t.parquet", "t.visits.parquet"),
        ("c.csv", "c.visits.csv"),
        ("j.jsonl", "j.visits.jsonl"),
        ("j.jsonl.gz", "j.reports.jsonl.gz"),  # a visits export writes (an empty) reports too
        ("hive/", "hive/actions/site=1/date=2024-03-28/part.parquet"),
    ],
)
async def test_a_new_target_refuses_files_that_have_its_names(
    tmp_path: Path, name: str, theirs: str
) -> None:
    """A target with no journal of ours does not overwrite (or delete) a file the user has
    under one of its output names: the error names the file, and nothing is written."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / name)
    existing = tmp_path / theirs
    existing.parent.mkdir(parents=True, exist_ok=True)
    existing.write_bytes(b"hello\n")
    before = _listing(tmp_path)

    with pytest.raises(TargetError, match=rf"{existing.name} already exists"):
        await _export(world, target)

    assert existing.read_bytes() == b"hello\n"
    assert _listing(tmp_path) == before
    assert not any(p.get("method") == "Live.getLastVisitsDetails" for p in world.requests)


@pytest.mark.parametrize("name", ["x.jsonl", "hive/"])
def test_report_windows_with_rows_and_lost_parts_are_open_again(tmp_path: Path, name: str) -> None:
    """Reports: a period recorded with rows whose part is gone is open (fetched again); one
    recorded with no rows has no part to lose and stays done."""
    rows = json.loads((RECORDED / "067_Actions.getPageUrls_flat.response.json").read_text())
    kind = "reports:day"
    full, empty = date(2026, 11, 28), date(2026, 11, 29)
    target = str(tmp_path / name)
    with open_target(target) as sink:
        sink.start_job(JobInfo(kind, {"kind": kind}, fingerprint({"kind": kind})), restart=False)
        batch = build_report_rows(1, "day", full, "Actions.getPageUrls", "", rows)
        recs = [
            WindowRecord(kind, 1, full, DONE, rows=len(batch)),
            WindowRecord(kind, 1, empty, DONE, rows=0),
        ]
        sink.write_window(kind, recs, [batch])
    shutil.rmtree(_sink(target).parts_root / "reports")
    with open_target(target) as sink:
        state = sink.load_state(kind)
    assert state.windows[(1, full)].status == OPEN
    assert state.windows[(1, full)].rows == len(rows)
    assert state.windows[(1, empty)].status == DONE
