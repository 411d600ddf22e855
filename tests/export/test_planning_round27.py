"""Runs of closed days over DST changes, odd offsets and a skipped day: each window gets exactly
the visits whose last action falls in it, whatever the page size (round 27's checks, kept)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from export_fakeworld import FakeMatomo

from matomo_client.export.encode import PageEncoder
from matomo_client.export.pages import fetch_run
from matomo_client.export.schema import Batch
from matomo_client.export.windows import group_runs, plan_days

pytestmark = pytest.mark.anyio

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
# (timezone, first day of a week around one of its changes)
CASES = [
    ("Pacific/Apia", date(2011, 12, 27)),  # 2011-12-30 never happened there
    ("Australia/Lord_Howe", date(2024, 4, 4)),  # 30-minute DST
    ("Australia/Lord_Howe", date(2024, 10, 3)),
    ("Europe/Berlin", date(2024, 3, 28)),
    ("Europe/Berlin", date(2024, 10, 24)),
    ("America/Santiago", date(2024, 4, 4)),  # DST ends at midnight
    ("America/Havana", date(2024, 3, 7)),  # DST starts at midnight
    ("Asia/Kathmandu", date(2024, 1, 1)),
    ("Etc/GMT-14", date(2024, 1, 1)),
    ("Etc/GMT+12", date(2024, 1, 1)),
]


class _World(FakeMatomo):
    """FakeMatomo with site 1 in another timezone and visits placed by the test."""

    zone = "UTC"

    def _tz(self, id_site: int) -> Any:
        return ZoneInfo(self.zone)


def _ids(batch: Batch) -> list[int]:
    if batch.jsonl is not None:
        return [int(orjson.loads(line)["id_visit"]) for line in batch.jsonl.splitlines()]
    return [int(v) for v in batch.column("id_visit")]


def test_the_skipped_day_of_apia_is_an_empty_window_inside_its_run() -> None:
    """Apia went from 2011-12-29 to 2011-12-31: the 30th is planned empty, and the days
    around it still make one run (their bounds touch)."""
    ws = plan_days(1, date(2011, 12, 29), date(2011, 12, 31), ZoneInfo("Pacific/Apia"), NOW)
    assert [w.end_ts - w.start_ts for w in ws] == [86400, 0, 86400]
    assert [len(r) for r in group_runs(ws, 7)] == [3]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("seed", range(0, 120, 8))
async def test_runs_over_timezone_changes_give_each_day_its_own_visits(seed: int) -> None:
    """Visits on, just before and just after each midnight and the run's end, same-second
    clusters across page ends, page sizes down to 1: every window gets exactly its visits."""
    for case in range(seed, seed + 8):
        rnd = random.Random(case)
        zone, first = rnd.choice(CASES)
        world = _World(today=date(2030, 1, 1), days=0)
        world.zone = zone
        windows = plan_days(
            1, first, first + timedelta(days=rnd.randint(2, 7) - 1), world._tz(1), NOW
        )
        lo, hi = windows[0].start_ts, windows[-1].end_ts
        edges = [w.start_ts for w in windows] + [hi]
        stamps: list[int] = []
        for _ in range(rnd.randint(0, 60)):
            r = rnd.random()
            if r < 0.3:
                stamps.append(rnd.choice(edges) + rnd.choice([-1, 0, 0, 1]))
            elif r < 0.5 and stamps:
                stamps.append(rnd.choice(stamps))
            else:
                stamps.append(rnd.randrange(lo - 3600, hi + 3600))
        world.visits = [world._visit(1, "Shop", i + 1, ts, rnd) for i, ts in enumerate(stamps)]
        encoder = PageEncoder(rnd.choice(["batch", "arrow", "jsonl"]), 0)
        page_size = rnd.choice([1, 2, 3, 5, 10, 1000])
        got: dict[date, list[int]] = {}
        async with world.client() as m:
            async for window, visits, _ in fetch_run(m, windows, page_size, None, encoder):
                assert window.day not in got
                got[window.day] = _ids(visits)
        for w in windows:
            owned = [
                v["idVisit"]
                for v in world.visits
                if w.start_ts <= v["lastActionTimestamp"] < w.end_ts
            ]
            assert sorted(got[w.day]) == sorted(owned), (case, zone, w.day, page_size)


class _StringStamps(FakeMatomo):
    """Matomo's loose JSON: `lastActionTimestamp` as a numeric string (SPEC: numbers arrive as
    strings), which the pager reads as the number it is."""

    def _live(self, p: dict[str, str]) -> Any:
        out = super()._live(p)
        if not isinstance(out, list):
            return out
        return [dict(v, lastActionTimestamp=str(v["lastActionTimestamp"])) for v in out]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("concurrency", [1, 4])  # runs of 3 days, and one day a window
async def test_string_timestamps_still_give_each_visit_one_day(
    tmp_path: Any, concurrency: int
) -> None:
    """A visit at midnight belongs to the later day only, and one at the midnight after the
    range to no day of it, when Matomo sends the timestamps as strings too."""
    from export_readers import read_rows

    from matomo_client.export import export_visits

    world = _StringStamps(today=date(2024, 3, 10), days=4, per_day=5)
    target = str(tmp_path / "x.jsonl")
    async with world.client() as m:
        summary = await export_visits(
            m,
            sites=[1, 2],
            start="2024-03-07",
            end="2024-03-09",
            target=target,
            now=datetime(2024, 3, 12, tzinfo=timezone.utc),
            concurrency=concurrency,
            page_size=3,
            workers=0,
        )
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]
    owned = {
        (s, v["idVisit"])
        for s in (1, 2)
        for d in (date(2024, 3, 7), date(2024, 3, 8), date(2024, 3, 9))
        for v in world.owned(s, d)
    }
    assert sorted(got) == sorted(owned)
    assert summary.mismatches == []


class _CreatedThatEvening(FakeMatomo):
    """Sites created on 2024-03-11 02:00 UTC: 22:00 on the 10th in New York (site 1)."""

    def _answer(self, method: str, p: dict[str, str]) -> Any:
        out = super()._answer(method, p)
        if method == "SitesManager.getSitesWithAtLeastViewAccess":
            for site in out:
                site["ts_created"] = "2024-03-11 02:00:00"
        return out


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_no_before_creation_warning_for_a_day_that_had_visits(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local day before the site's creation day in UTC (west of UTC) can hold visits: when
    it did, the export does not warn that there was nothing before the site was created."""
    import export_fakeworld

    from matomo_client.export import export_visits

    zones = [(1, "Shop", "America/New_York"), *export_fakeworld.SITES[1:]]
    monkeypatch.setattr(export_fakeworld, "SITES", zones)
    world = _CreatedThatEvening(today=date(2024, 3, 10), days=1, per_day=3)
    async with world.client() as m:
        summary = await export_visits(
            m,
            sites=[1],
            start="2024-03-10",
            end="2024-03-10",
            target=str(tmp_path / "x.duckdb"),
            now=datetime(2024, 3, 12, tzinfo=timezone.utc),
        )
    assert summary.visits == 3
    assert not [w for w in summary.warnings if "before the site was created" in w]
