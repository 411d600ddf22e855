"""A migration's wrong-but-plausible ranges (QA round 13): a range that lies wholly before a
site was created exported nothing and said nothing, as if the site had no traffic."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from export_sandbox import sandbox_client

from matomo_client.export import export_reports, export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)
# 30 days of visits from 2026-10-31; every site was created a week before (2026-10-24)
CONFIG = SandboxConfig(seed=3, days=30, visits_per_day=5, today=TODAY)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough: the engine tests cover both."""
    return "asyncio"


async def test_visits_wholly_before_the_site_was_created_are_named(tmp_path: Path) -> None:
    """`--from 2025-10-01 --to 2025-10-10` for `--from 2026-...`: a warning per site, naming
    the creation day; a range that reaches past it gets none."""
    async with sandbox_client(Sandbox(CONFIG)) as m:
        early = await export_visits(
            m, sites=[1, 2], start="2025-10-01", end="2025-10-10", now=NOW,
            target=str(tmp_path / "v.duckdb"), workers=0,
        )  # fmt: skip
        later = await export_visits(
            m, sites=[1], start="2026-10-20", end="2026-11-02", now=NOW,
            target=str(tmp_path / "w.duckdb"), workers=0,
        )  # fmt: skip
    assert early.visits == 0
    assert early.warnings == [
        f"site {i}: nothing from 2025-10-01 to 2025-10-10, which lies before the site was "
        "created (2026-10-24)"
        for i in (1, 2)
    ]
    assert later.visits > 0
    assert later.warnings == []


async def test_reports_wholly_before_the_site_was_created_are_named(tmp_path: Path) -> None:
    """Reports asked nothing there and recorded the periods done: now with a warning."""
    async with sandbox_client(Sandbox(CONFIG)) as m:
        early = await export_reports(
            m, sites=[1], start="2025-10-01", end="2025-10-31", period="month", now=NOW,
            reports=["VisitsSummary.get"], target=str(tmp_path / "r.duckdb"),
        )  # fmt: skip
        later = await export_reports(
            m, sites=[1], start="2026-10-01", end="2026-11-28", period="month", now=NOW,
            reports=["VisitsSummary.get"], target=str(tmp_path / "s.duckdb"),
        )  # fmt: skip
    assert early.report_rows == 0
    assert early.warnings == [
        "site 1: nothing from 2025-10-01 to 2025-10-31, which lies before the site was "
        "created (2026-10-24)"
    ]
    assert later.report_rows > 0
    assert later.warnings == []


async def test_days_no_run_covered_between_runs_are_named(tmp_path: Path) -> None:
    """A daily cron that missed two runs: the next run's range leaves those days out, and the
    summary says which days of which site were never exported, and how to fill them."""
    target = str(tmp_path / "v.duckdb")
    async with sandbox_client(Sandbox(CONFIG)) as m:
        await export_visits(
            m, sites=[1, 2], start="2026-11-20", end="2026-11-22", now=NOW, target=target,
            workers=0,
        )  # fmt: skip
        missed = await export_visits(
            m, sites=[1, 2], start="2026-11-25", end="2026-11-26", now=NOW, target=target,
            workers=0,
        )  # fmt: skip
        backfill = await export_visits(
            m, sites=[1], start="2026-11-10", end="2026-11-18", now=NOW, target=target,
            workers=0,
        )  # fmt: skip
        filled = await export_visits(
            m, sites=[1, 2], start="2026-11-10", end="2026-11-26", now=NOW, target=target,
            workers=0,
        )  # fmt: skip
    assert missed.warnings == [  # the sites missing the same days share one line
        "sites 1, 2: 2026-11-23 to 2026-11-24 never exported into this target (no run's range "
        "covered them); an export from 2026-11-23 to 2026-11-24 fills the gap"
    ]
    assert backfill.warnings == [
        "site 1: 2026-11-19 never exported into this target (no run's range covered it); an "
        "export from 2026-11-19 to 2026-11-19 fills the gap"
    ]
    assert filled.warnings == []
    assert filled.windows_exported == 3 + 12  # site 1's three missing days, site 2's twelve
