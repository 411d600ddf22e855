"""Round 13 crash campaign: deterministic versions of what `kill -9` at random moments found.

The campaign itself (the real `matomo` command against served sandboxes, SIGKILLed at random
times and at random hooks, then re-run and compared with a clean export) is kept outside the
suite; each test here stands for one kill point it showed to be wrong.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest
from export_fakeworld import FakeMatomo
from export_readers import read_rows

from matomo_client.export import export_visits
from matomo_client.export.progress import ExportSummary
from matomo_client.export.sinks import files
from matomo_client.transports import MockTransport

TODAY = date(2024, 3, 20)
NOW = datetime(2024, 3, 20, 12, 0, tzinfo=timezone.utc)
DAY = date(2024, 3, 17)  # a closed day of the range below
START = TODAY - timedelta(days=4)


class _Died(BaseException):
    """Stands for the process dying at the patched instant (nothing after it runs)."""


def _late_visit(world: FakeMatomo, id_site: int, day: date) -> int:
    """A visit of `day` (with its actions) that Matomo gets after the day was exported."""
    template = world.owned(id_site, day)[3]
    ts = template["lastActionTimestamp"] + 7
    id_visit = max(v["idVisit"] for v in world.visits) + 1
    world.visits.append(
        {
            **template,
            "idVisit": id_visit,
            "firstActionTimestamp": ts,
            "lastActionTimestamp": ts,
            "serverTimestamp": ts,
        }
    )
    return id_visit


async def _export(world: FakeMatomo, target: str, **kwargs: Any) -> ExportSummary:
    async with world.client(MockTransport(world.handle)) as m:
        return await export_visits(
            m, sites=[1, 2], start=START, end="yesterday", target=target, now=NOW, **kwargs
        )


async def _dies(run: Awaitable[Any]) -> None:
    """Await `run`, which must "die" (raise `_Died`, perhaps inside a task group's group)."""
    try:
        await run
    except BaseException as e:  # _Died, or an exception group holding it
        if not _holds_died(e):
            raise
    else:
        pytest.fail("the export did not die")


def _holds_died(e: BaseException) -> bool:
    return isinstance(e, _Died) or any(_holds_died(x) for x in getattr(e, "exceptions", ()))


def _die_at_part_replace(monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    """Make the process "die" at the `nth` rename of a part into place: that rename and every
    later file rename or journal append of the sink raise `_Died`."""
    real_replace, real_append = os.replace, files.FileSink._append
    calls = [0]
    dead = [False]

    def replace(src: Any, dst: Any) -> None:
        if ".parts" in str(dst) or "/parts/" in str(dst):
            calls[0] += 1
            dead[0] = dead[0] or calls[0] >= nth
        if dead[0]:
            raise _Died
        real_replace(src, dst)

    def append(self: files.FileSink, entries: Any) -> None:
        if dead[0]:
            raise _Died
        real_append(self, entries)

    monkeypatch.setattr(files.os, "replace", replace)
    monkeypatch.setattr(files.FileSink, "_append", append)


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["x.jsonl", "x.csv.gz", "x.parquet", "parts/"])
async def test_a_crash_between_a_refetched_days_visits_and_actions_parts_heals_on_any_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Killed after a refetched day's new visits part is in place and before its actions part
    is: the next run, even without refetch_short, holds the day's new visits with their
    actions (it used to keep new visits beside old actions, the journal's old counts too)."""
    world = FakeMatomo(TODAY, days=6)
    target = str(tmp_path / name)
    await _export(world, target)
    late = _late_visit(world, 1, DAY)

    _die_at_part_replace(monkeypatch, 2)  # the refetched day's visits part, then its actions
    await _dies(_export(world, target, refetch_short=True))
    monkeypatch.undo()

    summary = await _export(world, target)  # the same command, without the option
    assert summary.ok, summary.mismatches
    visits = {(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")}
    acted = {(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "actions")}
    assert (1, late) in visits
    assert (1, late) in acted  # its actions came with it
    assert acted <= visits  # no action of a visit the target does not hold
    n_actions = len(read_rows(target, "actions"))
    assert n_actions == sum(
        len(v.get("actionDetails") or [])
        for v in world.visits
        if (v["idSite"], v["idVisit"]) in visits
    )


@pytest.mark.anyio
async def test_a_crash_while_a_replacement_is_finished_is_finished_by_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed again while `open` finishes a cut replacement: the run after that finishes it."""
    world = FakeMatomo(TODAY, days=6)
    target = str(tmp_path / "x.jsonl")
    await _export(world, target)
    late = _late_visit(world, 1, DAY)
    _die_at_part_replace(monkeypatch, 2)
    await _dies(_export(world, target, refetch_short=True))
    monkeypatch.undo()
    _die_at_part_replace(monkeypatch, 1)  # the first rename `open` makes
    await _dies(_export(world, target))
    monkeypatch.undo()
    summary = await _export(world, target)
    assert summary.ok
    journal = await anyio.Path(target + "._matomo_export.jsonl").read_text()
    assert journal.count('"type":"replace"') == 1
    acted = {int(r["id_visit"]) for r in read_rows(target, "actions") if int(r["id_site"]) == 1}
    assert late in acted


_SPILL_AND_DIE = """
import os, signal, sys
from matomo_client.export.spill import SpillDir, write_parts
d = SpillDir(sys.argv[1])
write_parts(d.new_file(), [([1], [2])])
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_exports_spill_directory_is_removed_by_the_next_export_that_spills(
    tmp_path: Path,
) -> None:
    """`kill -9` leaves the spilled rows' directory in TMPDIR (it can hold gigabytes): the next
    export that spills there removes it, and leaves a live export's directory alone."""
    import signal
    import subprocess
    import sys

    from matomo_client.export.spill import SpillDir, write_parts

    killed = subprocess.run([sys.executable, "-c", _SPILL_AND_DIE, str(tmp_path)], check=False)
    assert killed.returncode == -signal.SIGKILL
    (orphan,) = (p for p in tmp_path.iterdir() if p.is_dir())
    live = SpillDir(tmp_path)
    write_parts(live.new_file(), [([1], [2])])
    assert live.path is not None
    assert not orphan.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.path.name, live.path.name + ".lock"]
    )  # the orphan's lock file went with it
    other = SpillDir(tmp_path)
    other.new_file()
    assert live.path.exists()  # alive: kept
    other.close()
    live.close()
    assert list(tmp_path.iterdir()) == []
