"""The short crash run of issue 6: 3 trials of kill -9 + re-run into one target, exactly once.

`scripts/crash_trials.py` (20 trials x every target kind by default) is the long
version; `tests/export/test_crash.py` runs DuckDB and gzipped JSONL, so this one takes SQLite.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "crash_trials.py"


@pytest.mark.slow
def test_three_kill_9_trials_on_sqlite() -> None:
    """Three SIGKILLs at random instants, each followed by a re-run: every visit and action exactly once."""
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--trials", "3", "--targets", "x.sqlite", "--days", "6",
         "--seed", "5", "--max-delay", "2.0"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("-> ok") == 3, out.stdout
    killed = re.search(r"(\d+) of 3 trials were killed mid-export", out.stdout)
    assert killed is not None, out.stdout
    assert int(killed.group(1)) >= 1, out.stdout  # at least one trial really crashed
