"""QA round 14 on the session's own changes: action times as UTC instants, ranges that change
from run to run, the warning of days no run covered."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from export_fakeworld import FakeMatomo
from export_readers import read_rows
from export_sandbox import sandbox_client

from matomo_client.export import export_visits
from matomo_client.export.rows import build_visit_batches
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

RECORDED = Path(__file__).parents[1] / "recorded"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough: the engine tests cover both."""
    return "asyncio"


def _recorded_visit() -> dict[str, Any]:
    path = RECORDED / "059_Live.getLastVisitsDetails_site2_blog.response.json"
    visit: dict[str, Any] = json.loads(path.read_text())[0]
    return visit


def test_an_action_time_no_datetime_holds_is_kept_on_a_site_not_in_utc() -> None:
    """A Berlin action whose time lies beyond the years 1 to 9999 is kept in `extra`, as on a
    UTC site; its offset was asked for and the page failed with a ValueError."""
    visit = _recorded_visit()
    first = visit["firstActionTimestamp"]
    action = visit["actionDetails"][0]
    odd = {**action, "timestamp": -(10**13)}
    raw = [{**visit, "actionDetails": [action, odd]}]
    _, actions = build_visit_batches(raw, tz=BERLIN)
    assert actions.columns["timestamp"] == [first, None]
    assert actions.columns["extra"][1] == {"timestamp": -(10**13)}


def test_an_action_time_sent_as_a_float_or_padded_text_is_shifted_as_an_integer_is() -> None:
    """What the export stores as a time is taken back to UTC whatever its JSON type: a float or
    a padded string was stored an hour late on a Berlin site."""
    visit = _recorded_visit()
    first = visit["firstActionTimestamp"]
    action = visit["actionDetails"][0]
    local = action["timestamp"]
    raw = [
        {**visit, "actionDetails": [{**action, "timestamp": v}]}
        for v in (float(local), f" {local} ", f"{local}.0")
    ]
    _, actions = build_visit_batches(raw, tz=BERLIN)
    assert actions.columns["timestamp"] == [first, first, first]


async def test_an_odd_action_time_does_not_fail_the_export(tmp_path: Path) -> None:
    """The whole export of a Berlin site with an action time out of range finishes, the value
    kept in the action's `extra` (it stopped with a traceback)."""
    world = FakeMatomo(today=date(2026, 11, 27))
    visit = next(v for v in world.visits if v["idSite"] == 2)
    visit["actionDetails"][0]["timestamp"] = 10**14
    target = str(tmp_path / "x.duckdb")
    async with world.client() as m:
        summary = await export_visits(
            m, sites=[2], start="2026-11-23", end="2026-11-26", target=target, workers=0,
            now=datetime(2026, 11, 27, 12, tzinfo=timezone.utc),
        )  # fmt: skip
    assert summary.ok
    kept = [a for a in read_rows(target, "actions") if a["id_visit"] == visit["idVisit"]]
    assert json.loads(kept[0]["extra"]) == {"dimension2": "cat", "timestamp": 10**14}
    assert kept[0]["timestamp"] is None


async def test_days_a_daily_cron_missed_are_named_though_it_leaves_today_open(
    tmp_path: Path,
) -> None:
    """The README's cron (`--from yesterday --to today`) leaves today open; a run days later
    fetches that open day again, and the days between were not named as never exported."""
    config = SandboxConfig(days=20, visits_per_day=5, today=date(2026, 11, 27))
    target = str(tmp_path / "v.duckdb")
    async with sandbox_client(Sandbox(config)) as m:
        for day in (20, 26):
            summary = await export_visits(
                m, sites=[1], start="yesterday", end="today", target=target, workers=0,
                now=datetime(2026, 11, day, 12, tzinfo=timezone.utc),
            )  # fmt: skip
    assert summary.windows_exported == 3  # the 20th (open before), the 25th and the 26th
    assert summary.warnings == [
        "site 1: 2026-11-21 to 2026-11-24 never exported into this target (no run's range "
        "covered them); an export from 2026-11-21 to 2026-11-24 fills the gap"
    ]


async def test_days_before_the_site_was_created_are_not_named_as_never_exported(
    tmp_path: Path,
) -> None:
    """A mistyped range wholly before the site's creation, then the right one: the days never
    exported are named from the creation day, not from the mistyped range (an export of six
    years of empty days was proposed)."""
    config = SandboxConfig(seed=3, days=30, visits_per_day=5, today=date(2026, 11, 29))
    now = datetime(2026, 11, 29, 12, tzinfo=timezone.utc)
    target = str(tmp_path / "v.duckdb")
    async with sandbox_client(Sandbox(config)) as m:
        wrong = await export_visits(
            m, sites=[1], start="2020-01-01", end="2020-01-02", target=target, workers=0,
            now=now,
        )  # fmt: skip
        right = await export_visits(
            m, sites=[1], start="2026-11-20", end="2026-11-22", target=target, workers=0,
            now=now,
        )  # fmt: skip
    assert "before the site was created (2026-10-24)" in wrong.warnings[0]
    assert right.warnings == [
        "site 1: 2026-10-23 to 2026-11-19 never exported into this target (no run's range "
        "covered them); an export from 2026-10-23 to 2026-11-19 fills the gap"
    ]


async def test_a_range_before_the_site_was_created_is_named_beside_an_open_day(
    tmp_path: Path,
) -> None:
    """A cron left today open; a mistyped backfill wholly before the site's creation fetched
    that open day again too, and its warning was lost (the open day lies after creation)."""
    config = SandboxConfig(seed=3, days=30, visits_per_day=5, today=date(2026, 11, 29))
    target = str(tmp_path / "v.duckdb")
    async with sandbox_client(Sandbox(config)) as m:
        await export_visits(
            m, sites=[1], start="yesterday", end="today", target=target, workers=0,
            now=datetime(2026, 11, 20, 12, tzinfo=timezone.utc),
        )  # fmt: skip
        wrong = await export_visits(
            m, sites=[1], start="2020-01-01", end="2020-01-02", target=target, workers=0,
            now=datetime(2026, 11, 20, 13, tzinfo=timezone.utc),
        )  # fmt: skip
    assert wrong.windows_exported == 3  # the open day fetched again
    assert (
        "site 1: nothing from 2020-01-01 to 2020-01-02, which lies before the site was created "
        "(2026-10-24)"
    ) in wrong.warnings
