"""The same export command run every day: open windows are completed, the journal stays small."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client as _client

from matomo_client.export import export_reports, export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

FIRST = date(2023, 12, 1)
DAY0 = date(2024, 1, 27)  # a Saturday


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here."""
    return "asyncio"


def _sandbox(today: date) -> Sandbox:
    """Today's visits still arriving (the clock near noon), the days before it complete."""
    return Sandbox(
        SandboxConfig(
            seed=3,
            days=(today - FIRST).days + 1,
            visits_per_day=30,
            today=today,
            live_traffic=True,
            live_step_s=1,
        )
    )


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("target", ["x.duckdb", "x.jsonl", "out"])
async def test_a_day_left_open_is_completed_after_the_range_moved_past_it(
    tmp_path: Path, target: str
) -> None:
    """`--from today --to today` every day (or `last7` after a week off): the day left open
    by the last run is fetched again, not left with the visits it had at noon."""
    out = str(tmp_path / target)
    for today in (DAY0, DAY0 + timedelta(days=1)):
        sb = _sandbox(today)
        async with _client(sb) as m:
            await export_visits(
                m, sites=[1], start="today", end="today", target=out, now=_noon(today), workers=0
            )
    got = {int(r["id_visit"]) for r in read_rows(out, "visits")}
    full = {v.id_visit for v in sb.world.day_visits(1, DAY0)}
    assert full <= got


async def test_a_week_left_open_is_completed_after_the_range_moved_past_it(
    tmp_path: Path,
) -> None:
    """`--period week --from today --to today`, run on Sunday then Monday: last week's
    report is fetched again once closed, not left with Sunday noon's counts."""
    out = str(tmp_path / "r.duckdb")
    for today in (DAY0 + timedelta(days=1), DAY0 + timedelta(days=2)):  # Sunday, Monday
        sb = _sandbox(today)
        async with _client(sb) as m:
            await export_reports(
                m,
                sites=[1],
                start="today",
                end="today",
                period="week",
                reports=["VisitsSummary.get"],
                target=out,
                now=_noon(today),
            )
    week = date(2024, 1, 22)
    rows = {r["date"]: r["nb_visits"] for r in read_rows(out, "reports")}
    assert rows[week] == sum(
        len(sb.world.day_visits(1, week + timedelta(days=i))) for i in range(7)
    )


async def test_the_journal_does_not_grow_with_the_days_already_done(tmp_path: Path) -> None:
    """`--from 2024-01-01 --to yesterday` every day: a run records the day it adds, not every
    day again (the journal grew with the square of the days)."""
    out = tmp_path / "x.jsonl"
    journal = tmp_path / "x.jsonl._matomo_export.jsonl"
    lines = []
    for today in (DAY0, DAY0 + timedelta(days=1), DAY0 + timedelta(days=2)):
        sb = _sandbox(today)
        async with _client(sb) as m:
            await export_visits(
                m,
                sites="all",
                start="2024-01-01",
                end="yesterday",
                target=str(out),
                now=_noon(today),
                workers=0,
            )
        lines.append(len(journal.read_text().splitlines()))
    # a job line and, for each of the 3 sites' new day, its window and its count
    assert lines[2] - lines[1] <= 1 + 3 * 2
