"""The `matomo` command, run as a user runs it, against a sandbox served on a free port.

Every target kind ends up holding exactly the sandbox's visits (ids) and actions, and a reports
export holds the sandbox's own aggregates. The expected values come from a second, in-process
Sandbox built from the same seed: the world is deterministic.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from export_readers import read_rows

from matomo_client.sandbox import Sandbox, SandboxConfig

TODAY = date(2024, 5, 15)
FIRST, LAST = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
WORLD = {"seed": 3, "days": 6, "visits_per_day": 12}
TARGETS = ["x.duckdb", "x.sqlite", "x.jsonl.gz", "x.csv", "x.parquet", "hive/", "postgresql"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATOMO_")}
    return {**env, "MATOMO_TOKEN": "sandbox-token"}


@pytest.fixture(scope="module")
def served_url() -> Iterator[str]:
    """`python -m matomo_client.sandbox` on port 0 with a fixed today; its URL."""
    flags = ["--seed", "3", "--days", "6", "--visits-per-day", "12", "--today", TODAY.isoformat()]
    proc = subprocess.Popen(
        [sys.executable, "-m", "matomo_client.sandbox", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    try:
        assert "http://" in first, f"the sandbox did not start: {first!r}"
        yield first[first.index("http://") :]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _matomo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "matomo_client.cli", *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _days() -> list[date]:
    return [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each target kind, in a fresh place."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / request.param)


def test_export_visits_into_every_target(served_url: str, target: str) -> None:
    """`matomo export visits` leaves exactly the sandbox's visits and actions in the target."""
    done = _matomo(
        "export", "visits", "--url", served_url, "--site", "all", "--quiet",
        "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--page-size", "5", "--out", target,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "sandbox-token" not in done.stdout + done.stderr
    world = Sandbox(SandboxConfig(**WORLD, today=TODAY)).world  # type: ignore[arg-type]
    expected = {
        (s, v.id_visit) for s in world.sites for d in _days() for v in world.day_visits(s, d)
    }
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]
    assert len(got) == len(set(got))
    assert set(got) == expected
    actions = sum(
        len(v["actionDetails"]) for s in world.sites for d in _days() for v in world.visits(s, d)
    )
    assert len(read_rows(target, "actions")) == actions


def test_export_reports_equal_the_sandbox_aggregates(served_url: str, tmp_path: Path) -> None:
    """`matomo export reports` stores, per site and day, the visits the sandbox's world holds."""
    target = str(tmp_path / "reports.duckdb")
    done = _matomo(
        "export", "reports", "--url", served_url, "--site", "1", "--site", "2", "--quiet",
        "--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--period", "day",
        "--report", "VisitsSummary.get", "--report", "Actions.getPageUrls", "--out", target,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    world = Sandbox(SandboxConfig(**WORLD, today=TODAY)).world  # type: ignore[arg-type]
    rows = read_rows(target, "reports")
    for s in (1, 2):
        for d in _days():
            summary = [
                r for r in rows
                if r["id_site"] == s and r["date"] == d and r["report"] == "VisitsSummary.get"
            ]  # fmt: skip
            assert len(summary) == 1
            assert summary[0]["nb_visits"] == len(world.day_visits(s, d))
            pageviews = sum(
                1
                for v in world.visits(s, d)
                for a in v["actionDetails"]
                if a.get("type") == "action"
            )
            hits = sum(
                r["nb_hits"] or 0
                for r in rows
                if r["id_site"] == s and r["date"] == d and r["report"] == "Actions.getPageUrls"
            )
            assert hits == pageviews
