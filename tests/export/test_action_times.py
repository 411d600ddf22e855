"""Action times are stored as UTC instants, though Matomo shifts them by the site's UTC offset.

Recording 059 (site 2, Europe/Berlin): the visit's first action is at 1795890963 (18:36:03 UTC),
its one action's `timestamp` is 1795894563 (19:36:03, the wall-clock time in Berlin read as UTC).
"""

from __future__ import annotations

import calendar
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client

from matomo_client.export import export_visits
from matomo_client.export.localtime import utc_action_times
from matomo_client.export.rows import build_visit_batches
from matomo_client.sandbox import Sandbox, SandboxConfig

RECORDED = Path(__file__).parents[1] / "recorded"
BERLIN = ZoneInfo("Europe/Berlin")


def _utc(text: str) -> int:
    return calendar.timegm(datetime.fromisoformat(text).timetuple())


def _shifted(instants: list[int], tz: Any) -> list[int]:
    """What Matomo writes for these instants: their wall-clock time in `tz`, read as UTC."""
    return [
        calendar.timegm(datetime.fromtimestamp(u, timezone.utc).astimezone(tz).timetuple())
        for u in instants
    ]


def test_the_recorded_berlin_action_is_stored_at_its_utc_instant() -> None:
    path = RECORDED / "059_Live.getLastVisitsDetails_site2_blog.response.json"
    visits = json.loads(path.read_text())
    _, actions = build_visit_batches(visits, tz=BERLIN)
    first = visits[0]["firstActionTimestamp"]
    assert visits[0]["actionDetails"][0]["timestamp"] == first + 3600  # Matomo's shift
    assert actions.columns["timestamp"][0] == first
    _, unshifted = build_visit_batches(visits)  # a UTC site: the times are kept as they come
    assert unshifted.columns["timestamp"][0] == first + 3600


def test_the_hour_repeated_in_autumn_follows_the_visits_order() -> None:
    """Berlin's clocks go back at 01:00 UTC on 2026-10-25: 02:30 happens at 00:30 and 01:30."""
    instants = [_utc(f"2026-10-25 {t}") for t in ("00:30:00", "00:50:00", "01:10:00", "01:30:00")]
    local = _shifted(instants, BERLIN)
    assert local[0] == local[3]  # the same wall-clock time twice
    got = utc_action_times(local, BERLIN, [4], [instants[0]], [instants[-1]])
    assert list(got) == instants
    # two visits, each with one action at 02:30 local: each inside its own visit's times
    got = utc_action_times([local[0], local[3]], BERLIN, [1, 1], instants[::3], instants[::3])
    assert list(got) == [instants[0], instants[3]]


def test_spring_forward_fixed_offsets_and_odd_values() -> None:
    instants = [_utc("2026-03-29 00:30:00"), _utc("2026-03-29 01:30:00")]  # 01:30 CET, 03:30 CEST
    assert (
        list(
            utc_action_times(_shifted(instants, BERLIN), BERLIN, [2], [instants[0]], [instants[1]])
        )
        == instants
    )
    india = timezone(timedelta(hours=5, minutes=30))  # Matomo's "UTC+5.5"
    assert list(utc_action_times([1_000_000 + 19_800, None, "x"], india, [3], [1_000_000], [1_000_000])) == [
        1_000_000,
        None,
        "x",
    ]  # fmt: skip
    odd = ["x", None, "²"]
    assert utc_action_times(odd, BERLIN, [3], [0], [0]) is odd  # no time: nothing to shift
    stamp = _utc("2026-11-28 18:36:03")  # a time sent as a string of digits is shifted too
    assert list(utc_action_times([str(stamp + 3600)], BERLIN, [1], [stamp], [stamp])) == [stamp]


def _epoch(value: Any) -> int:
    """A stored timestamp, whatever the target's reader gives, as UTC unix seconds."""
    if isinstance(value, datetime):
        return calendar.timegm(value.timetuple())
    text = str(value).removesuffix("Z").replace("T", " ")
    return _utc(text)


@pytest.mark.parametrize(
    ("suffix", "workers", "page_size"),
    [
        ("duckdb", 1, 1000),  # pages decoded into structs in a worker process, Arrow rows
        ("duckdb", 0, 20),  # small pages decoded with orjson in this process
        ("jsonl", 1, 1000),  # JSON lines built in a worker
        ("sqlite", 0, 1000),  # Python columns
    ],
)
def test_every_target_stores_action_times_inside_their_visit(
    tmp_path: Path, suffix: str, workers: int, page_size: int
) -> None:
    """Site 2 is in Europe/Berlin; the days span the autumn change (2026-10-25)."""
    sb = Sandbox(SandboxConfig(days=4, visits_per_day=300, today=date(2026, 10, 27)))
    target = str(tmp_path / f"x.{suffix}")

    async def main() -> None:
        async with sandbox_client(sb) as m:
            await export_visits(
                m,
                sites=[2],
                start="2026-10-24",
                end="2026-10-26",
                target=target,
                now=datetime(2026, 10, 27, 12, tzinfo=timezone.utc),
                workers=workers,
                page_size=page_size,
            )

    anyio.run(main)
    visits = {v["id_visit"]: v for v in read_rows(target, "visits")}
    actions = sorted(
        (int(a["id_visit"]), int(a["position"]), _epoch(a["timestamp"]))
        for a in read_rows(target, "actions")
        if a["timestamp"] not in (None, "")
    )
    assert len(actions) > 1000
    repeated = 0
    previous: dict[int, int] = {}
    for id_visit, _, ts in actions:
        visit = visits.get(id_visit) or visits[str(id_visit)]
        first = _epoch(visit["first_action_timestamp"])
        last = _epoch(visit["last_action_timestamp"])
        assert first <= ts <= last, (id_visit, first, ts, last)
        assert ts >= previous.get(id_visit, first)
        previous[id_visit] = ts
        repeated += _utc("2026-10-25 00:00:00") <= ts < _utc("2026-10-25 02:00:00")
    assert repeated  # actions in the hour Berlin's clocks show twice were checked too


def test_a_target_from_before_utc_action_times_warns_until_restarted(tmp_path: Path) -> None:
    """A target whose job has no record of how action times were stored (written before they
    were UTC instants) holds site-local ones: resuming it warns for the sites not in UTC, on
    every run, until a restart; a new target never warns."""
    import duckdb

    sb = Sandbox(SandboxConfig(days=6, visits_per_day=20, today=date(2026, 11, 30)))
    target = str(tmp_path / "x.duckdb")
    now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)

    async def export(start: str, restart: bool = False) -> list[str]:
        async with sandbox_client(sb) as m:
            summary = await export_visits(
                m, sites=[1, 2], start=start, end="yesterday", target=target, now=now,
                workers=0, restart=restart,
            )  # fmt: skip
        return summary.warnings

    assert anyio.run(export, "last3") == []
    with duckdb.connect(target) as db:  # as an earlier version recorded the job
        (params,) = db.execute("SELECT params FROM _matomo_export WHERE status = 'job'").fetchone()
        old = {k: v for k, v in json.loads(params).items() if k != "action_times"}
        db.execute("UPDATE _matomo_export SET params = ? WHERE status = 'job'", [json.dumps(old)])
    warned = anyio.run(export, "last4")
    assert len(warned) == 1
    assert warned[0].startswith("site 2: actions exported by an earlier version hold Matomo's")
    assert anyio.run(export, "last4") == warned  # still mixed
    assert anyio.run(export, "last4", True) == []
    assert anyio.run(export, "last4") == []
