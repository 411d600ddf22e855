"""Crash safety: an export killed with SIGKILL at random instants, then re-run, is exactly once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "crash_trials.py"


@pytest.mark.slow
@pytest.mark.parametrize(("targets", "trials"), [("x.duckdb", 2), ("x.jsonl.gz", 1)])
def test_kill_9_then_rerun_is_exactly_once(targets: str, trials: int) -> None:
    """kill -9 during an export, re-run: every visit and action once (scripts/crash_trials.py)."""
    out = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--trials",
            str(trials),
            "--targets",
            targets,
            "--days",
            "6",
            "--seed",
            "3",
            "--max-delay",
            "2.5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("-> ok") == trials
