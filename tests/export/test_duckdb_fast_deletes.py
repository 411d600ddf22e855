"""SQL targets skip the visit deletes for fresh windows, and every visit still lands exactly once.

A window is fresh (no deletes) only when it is closed, had no manifest record at job start, no
window of its site was recorded open on or before its day, and no record of its site is within
two days of it. Each test here builds a case where skipping one more delete would leave a visit
twice (or, for the fast path itself, checks that the deletes really are skipped).
"""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from export_fakeworld import FakeMatomo
from export_readers import read_rows

from matomo_client.export import export_visits, open_target
from matomo_client.export.rows import build_visit_batches
from matomo_client.export.schema import Batch
from matomo_client.export.sinks.arrow import to_arrow
from matomo_client.export.sinks.sql import SqlSink
from matomo_client.export.state import DONE, OPEN, JobInfo, WindowRecord, fingerprint

RECORDED = Path(__file__).parent.parent / "recorded"
PAGE = json.loads(
    (RECORDED / "049_Live.getLastVisitsDetails_limit5_offset0.response.json").read_text()
)
DAY = date(2026, 11, 20)
SQL_TARGETS = ["x.duckdb", "x.sqlite"]


def _midnight(d: date, hours: int = 0) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()) - hours * 3600


def _visits_on(d: date, ids: list[int], minute: int = 30) -> list[dict[str, Any]]:
    """Copies of the recorded visits, renumbered and moved to `d` (last action at 12:`minute`)."""
    out = []
    for i, id_visit in enumerate(ids):
        v = copy.deepcopy(PAGE[i % len(PAGE)])
        v["idVisit"] = id_visit
        v["lastActionTimestamp"] = _midnight(d) + 12 * 3600 + 60 * minute + i
        out.append(v)
    return out


def _job(params: dict[str, Any] | None = None) -> JobInfo:
    p = params or {"kind": "visits", "sites": [1]}
    return JobInfo("visits", p, fingerprint(p))


def _write(
    sink: Any,
    d: date,
    visits: list[dict[str, Any]],
    status: str = DONE,
    bounds: tuple[int, int] | None = None,
    arrow: bool = False,
) -> None:
    vb, ab = build_visit_batches(visits)
    if arrow:  # the form the export hands DuckDB (see encode.py)
        vb, ab = (Batch(b.table, arrow=to_arrow(b)) for b in (vb, ab))
    bounds = bounds or (_midnight(d), _midnight(d + timedelta(days=1)))
    rec = WindowRecord("visits", 1, d, status, len(vb), len(ab), bounds=bounds)
    sink.write_window("visits", [rec], [vb, ab])


def _count_deletes(sink: SqlSink, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every visit delete the sink issues (by id or by window bounds)."""
    calls: list[str] = []
    by_id, by_bounds = sink._delete_visits, sink._delete_visits_in_window

    def spy_id(*a: Any) -> None:
        calls.append("id")
        by_id(*a)

    def spy_bounds(*a: Any) -> None:
        calls.append("bounds")
        by_bounds(*a)

    monkeypatch.setattr(sink, "_delete_visits", spy_id)
    monkeypatch.setattr(sink, "_delete_visits_in_window", spy_bounds)
    return calls


def _once(target: str) -> dict[int, datetime]:
    """id_visit -> last action time; fails if a visit or an action is stored twice."""
    rows = read_rows(target, "visits")
    ids = [int(r["id_visit"]) for r in rows]
    assert len(ids) == len(set(ids)), "a visit is in the target twice"
    actions = [(int(a["id_visit"]), int(a["position"])) for a in read_rows(target, "actions")]
    assert len(actions) == len(set(actions)), "an action is in the target twice"
    return {int(r["id_visit"]): r["last_action_timestamp"] for r in rows}


@pytest.fixture(params=SQL_TARGETS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh DuckDB or SQLite file."""
    return str(tmp_path / request.param)


def test_fresh_closed_windows_issue_no_deletes(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first export of closed windows writes without a single visit delete, each visit once."""
    with open_target(target) as sink:
        assert isinstance(sink, SqlSink)
        calls = _count_deletes(sink, monkeypatch)
        sink.start_job(_job(), restart=False)
        for i in range(4):
            d = DAY + timedelta(days=i)
            _write(sink, d, _visits_on(d, [100 * i + 1, 100 * i + 2]))
    assert calls == []
    assert sorted(_once(target)) == [1, 2, 101, 102, 201, 202, 301, 302]


def test_restart_makes_every_window_fresh(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a restart the earlier rows are gone and the new windows skip the deletes."""
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, DAY, _visits_on(DAY, [1, 2]), OPEN)
    with open_target(target) as sink:
        assert isinstance(sink, SqlSink)
        calls = _count_deletes(sink, monkeypatch)
        sink.start_job(_job(), restart=True)
        _write(sink, DAY, _visits_on(DAY, [2, 3]))
    assert calls == []
    assert sorted(_once(target)) == [2, 3]


def test_same_window_twice_in_one_job_replaces(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window written a second time in the same job deletes what its first write stored."""
    with open_target(target) as sink:
        assert isinstance(sink, SqlSink)
        calls = _count_deletes(sink, monkeypatch)
        sink.start_job(_job(), restart=False)
        _write(sink, DAY, _visits_on(DAY, [1, 2]))
        assert calls == []
        _write(sink, DAY, _visits_on(DAY, [1, 2, 3], minute=40))
    assert calls
    assert sorted(_once(target)) == [1, 2, 3]


def test_without_a_job_every_window_deletes(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sink that was not told what its manifest holds never skips the deletes."""
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, DAY, _visits_on(DAY, [1, 2]))
    with open_target(target) as sink:
        assert isinstance(sink, SqlSink)
        calls = _count_deletes(sink, monkeypatch)
        later = DAY + timedelta(days=30)
        _write(sink, later, _visits_on(later, [2, 3]))  # visit 2 again, far from DAY
    assert calls
    assert sorted(_once(target)) == [1, 2, 3]


@pytest.mark.parametrize("grown_days", [1, 5])
def test_visit_of_an_open_window_that_grew_into_a_later_day(target: str, grown_days: int) -> None:
    """A visit stored by an open window and later moved days ahead is stored once after the later day's window."""
    later = DAY + timedelta(days=grown_days)
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, DAY, _visits_on(DAY, [1, 2]), OPEN)
    grown = _visits_on(later, [2, 3])  # visit 2 had more actions, the last one on `later`
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)  # the job's range moved on: DAY is not rewritten
        _write(sink, later, grown)
    stored = _once(target)
    assert sorted(stored) == [1, 2, 3]
    assert stored[2] == datetime(later.year, later.month, later.day, 12, 30, 0)


def test_open_windows_written_out_of_order_in_one_job(target: str) -> None:
    """Today's open window written before yesterday's (which still saw the visit there) stores it once."""
    nxt = DAY + timedelta(days=1)
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        # Fetched concurrently: yesterday's copy of visit 2 came first, but today's was written first.
        _write(sink, nxt, _visits_on(nxt, [2, 3]), OPEN)
        _write(sink, DAY, _visits_on(DAY, [1, 2]), OPEN)
    assert sorted(_once(target)) == [1, 2, 3]


def test_changed_site_timezone_moves_a_visit_into_the_next_day(target: str) -> None:
    """A visit stored under the old day bounds and fetched again for the next (shifted) day is stored once."""
    late = _visits_on(DAY, [1, 2])
    late[1]["lastActionTimestamp"] = _midnight(DAY + timedelta(days=1)) - 1800  # 23:30 UTC
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, DAY, late)
    nxt = DAY + timedelta(days=1)
    # The site moved to UTC+1: its next day starts at 23:00 UTC and now owns visit 2.
    shifted = (_midnight(nxt, hours=1), _midnight(nxt + timedelta(days=1), hours=1))
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, nxt, [late[1], *_visits_on(nxt, [3])], bounds=shifted)
    assert sorted(_once(target)) == [1, 2, 3]


def test_visits_without_a_last_action_time_are_deleted_by_id(target: str) -> None:
    """A visit with no last-action time, fetched for two far-apart fresh days, is stored once."""
    ghost = _visits_on(DAY, [7])[0]
    ghost["lastActionTimestamp"] = None
    far = DAY + timedelta(days=20)
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, DAY, [ghost, *_visits_on(DAY, [1])])
        _write(sink, far, [ghost, *_visits_on(far, [2])])
    assert sorted(_once(target)) == [1, 2, 7]


def test_untimed_visits_in_arrow_batches_are_deleted_by_id(tmp_path: Path) -> None:
    """The same with the Arrow batches an export hands DuckDB."""
    target = str(tmp_path / "x.duckdb")
    ghost = _visits_on(DAY, [7])[0]
    ghost["lastActionTimestamp"] = None
    far = DAY + timedelta(days=20)
    with open_target(target) as sink:
        sink.start_job(_job(), restart=False)
        _write(sink, DAY, [ghost, *_visits_on(DAY, [1])], arrow=True)
        _write(sink, far, [ghost, *_visits_on(far, [2])], arrow=True)
    assert sorted(_once(target)) == [1, 2, 7]


@pytest.mark.anyio
@pytest.mark.parametrize("name", SQL_TARGETS)
@pytest.mark.parametrize("grown_days", [1, 3])
async def test_export_of_yesterday_after_an_open_run(
    tmp_path: Path, name: str, grown_days: int
) -> None:
    """`--from yesterday` run just after midnight (open window), the visit then grows for days, a later run of the same command: still exactly once."""
    d = date(2024, 3, 20)
    world = FakeMatomo(d + timedelta(days=grown_days), days=grown_days + 1, per_day=4)
    v = next(x for x in world.visits if x["idSite"] == 1 and x["idVisit"] == 3)
    v["lastActionTimestamp"] = _midnight(d + timedelta(days=1)) - 600  # 23:50 on d
    target = str(tmp_path / name)
    options: dict[str, Any] = {"sites": [1], "start": "yesterday", "end": "yesterday"}
    options["target"] = target
    async with world.client() as m:
        first = await export_visits(
            m, now=datetime.fromtimestamp(_midnight(d + timedelta(days=1)) + 600, timezone.utc),
            **options,
        )  # fmt: skip
        assert first.windows_open == 1
        assert 3 in _once(target)
        # The visit goes on: its last action is now `grown_days` after d, just past midnight.
        grown_to = d + timedelta(days=grown_days)
        v["lastActionTimestamp"] = _midnight(grown_to) + 600
        v["actionDetails"].append({**v["actionDetails"][-1], "timestamp": v["lastActionTimestamp"]})
        second_now = datetime.fromtimestamp(
            _midnight(grown_to + timedelta(days=1)) + 7200, timezone.utc
        )
        second = await export_visits(m, now=second_now, **options)
    assert second.windows_open == 0
    stored = _once(target)
    assert stored[3] == datetime.fromtimestamp(v["lastActionTimestamp"], timezone.utc).replace(
        tzinfo=None
    )
    want = {x["idVisit"] for x in world.owned(1, d)} | {
        x["idVisit"] for x in world.owned(1, grown_to)
    }
    assert set(stored) == want


def test_an_open_window_in_a_call_gives_the_fresh_windows_no_range_deletes(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows written together (one transaction) where only the last is open: the fresh closed
    ones are not deleted by time range, one statement each (which took ~1 s each in a big
    PostgreSQL table), and every visit is still stored once when the open one is written again."""
    days = [DAY + timedelta(days=i) for i in range(6)]
    visits = [v for i, d in enumerate(days) for v in _visits_on(d, [100 * i + 1, 100 * i + 2])]
    vb, ab = build_visit_batches(visits)
    records = [
        WindowRecord(
            "visits",
            1,
            d,
            OPEN if d == days[-1] else DONE,
            2,
            len(ab) // len(days),
            bounds=(_midnight(d), _midnight(d + timedelta(days=1))),
        )
        for d in days
    ]
    with open_target(target) as sink:
        assert isinstance(sink, SqlSink)
        calls = _count_deletes(sink, monkeypatch)
        sink.start_job(_job(), restart=False)
        sink.write_window("visits", records, [vb, ab])
        assert calls.count("bounds") == 1  # the open window's only
        _write(sink, days[-1], _visits_on(days[-1], [502, 503]))  # the open day, again
    assert sorted(_once(target)) == [1, 2, 101, 102, 201, 202, 301, 302, 401, 402, 502, 503]
