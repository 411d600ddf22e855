"""Crash safety for the targets `test_crash.py` leaves out: one `kill -9` mid-export, then a re-run.

Each test runs one trial of `scripts/crash_trials.py`: an export of 4 days x 3 sites (12 windows)
into a fresh target, SIGKILLed at a point the script draws from the seed ("after k of the 12
windows", plus a random part of one window's time), then the same export again to completion.
The script reads the target back (tests/export/export_readers.py) and compares it with its
in-memory Matomo: every visit and action exactly once. The test also checks the script's own
account of the kill: the child died of SIGKILL after opening its target and before finishing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "crash_trials.py"
TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
LINE = re.compile(r"^(?P<target>\S+)\s+trial  1: (?P<how>.*) -> (?P<result>.*)$", re.M)


def _one_trial(target: str, seed: int, *extra: str) -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--trials", "1", "--targets", target, "--days", "4",
         "--seed", str(seed), *extra],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    line = LINE.search(out.stdout)
    assert line is not None, report
    assert line["target"] == target, report
    assert line["how"].startswith("killed at "), report  # a SIGKILL, not a finished child
    assert "mid-export" in line["how"], report  # after the target opened, before the end
    assert line["result"] == "ok", report
    assert "1 of 1 trials were killed mid-export" in out.stdout, report


# Seeds whose first draw puts the kill inside the export (after the target opened, before its end).
@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "seed"),
    [("x.csv", 3), ("x.csv.gz", 5), ("x.jsonl.zst", 7), ("out/", 9)],
)
def test_kill_9_mid_export_then_rerun_is_exactly_once(target: str, seed: int) -> None:
    """A file target killed mid-export and re-run holds every visit and action exactly once."""
    _one_trial(target, seed)


@pytest.mark.slow
def test_kill_9_mid_export_then_rerun_is_exactly_once_postgresql(pg_server: Any) -> None:
    """A PostgreSQL database killed mid-export and re-run holds every visit and action once."""
    _one_trial("postgresql", 10, "--pg-uri", str(pg_server.get_uri()))


class _Died(BaseException):
    """Stands for the process dying at the patched instant (nothing after it runs)."""


@pytest.mark.parametrize("name", ["x.jsonl", "out/"])
def test_restart_killed_before_its_journal_is_rewritten_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A restart that dies before its journal is rewritten leaves no window recorded without data."""
    import anyio
    from export_fakeworld import FakeMatomo
    from export_readers import read_rows

    from matomo_client.export import export_visits
    from matomo_client.export.sinks import files

    world = FakeMatomo(TODAY, days=3, per_day=5)
    target = str(tmp_path / name)

    async def export(restart: bool) -> None:
        async with world.client() as m:
            await export_visits(
                m, sites="all", start=TODAY - timedelta(days=2), end="today", target=target,
                page_size=3, now=NOW, restart=restart,
            )  # fmt: skip

    anyio.run(export, False)
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("_matomo_export.jsonl"):
            raise _Died  # the journal rewrite of the restart never happens
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    with pytest.raises(_Died):
        anyio.run(export, True)
    monkeypatch.setattr(files.os, "replace", real_replace)
    anyio.run(export, False)  # resume: same options, no restart
    ids = [(int(v["id_site"]), int(v["id_visit"])) for v in read_rows(target, "visits")]
    assert sorted(ids) == sorted(world.all_ids())
