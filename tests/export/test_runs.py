"""Runs: consecutive closed days of one site paged as one `period=range` stream of pages.

Each window of a run must get exactly the rows a day-by-day fetch gives it (the visit at
midnight on the later day only, same-second visits across page ends, days without visits),
in every form the rows take, while the run needs fewer requests than its days.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from export_fakeworld import FakeMatomo
from live_requests import days_asked

from matomo_client.export import engine, export_visits
from matomo_client.export import run as export_run
from matomo_client.export.encode import PageEncoder
from matomo_client.export.errors import ExportApiError
from matomo_client.export.pages import fetch_run, fetch_window
from matomo_client.export.schema import Batch
from matomo_client.export.windows import (
    MAX_RUN_DAYS,
    Window,
    group_runs,
    lanes_for,
    plan_days,
    run_days,
)

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
FORMS = [("batch", 0), ("arrow", 0), ("jsonl", 0), ("arrow", 2)]


def _windows(id_site: int, first: date, last: date) -> list[Window]:
    from zoneinfo import ZoneInfo

    tz: Any = timezone.utc if id_site == 1 else ZoneInfo("Europe/Berlin")
    return plan_days(id_site, first, last, tz, NOW)


def _ids(batch: Batch) -> list[int]:
    if batch.jsonl is not None:
        return [int(orjson.loads(line)["id_visit"]) for line in batch.jsonl.splitlines()]
    return [int(v) for v in batch.column("id_visit")]


def _live_requests(world: FakeMatomo) -> list[dict[str, str]]:
    return [p for p in world.requests if p.get("method") == "Live.getLastVisitsDetails"]


# --- planning --------------------------------------------------------------------------------


def test_runs_join_consecutive_closed_days_of_one_site() -> None:
    """Runs hold at most `days` consecutive closed days of one site, shared out evenly (4 days
    in runs of up to 3: 2 and 2); a new site, a gap or an open day starts another run, and an
    open day stays alone."""
    site1 = _windows(1, date(2024, 3, 20), date(2024, 3, 31))  # the 31st is today: open
    site2 = _windows(2, date(2024, 3, 25), date(2024, 3, 27))
    todo = [w for w in site1 if w.day != date(2024, 3, 24)] + site2  # the 24th is done already
    runs = group_runs(todo, 3)
    days = [[w.day.day for w in run] for run in runs]
    assert days == [[20, 21], [22, 23], [25, 26, 27], [28, 29, 30], [31], [25, 26, 27]]
    assert [run[0].id_site for run in runs] == [1, 1, 1, 1, 1, 2]
    assert not runs[4][0].closed
    assert all(a.end_ts == b.start_ts for run in runs for a, b in itertools.pairwise(run))
    assert group_runs(todo, 1) == [[w] for w in todo]


def test_a_run_crosses_a_change_of_summer_time() -> None:
    """A Berlin run over the 25-hour day that ends summer time keeps each day's own bounds."""
    from zoneinfo import ZoneInfo

    later = datetime(2023, 11, 5, tzinfo=timezone.utc)
    days = plan_days(2, date(2023, 10, 28), date(2023, 10, 30), ZoneInfo("Europe/Berlin"), later)
    assert [w.end_ts - w.start_ts for w in days] == [86_400, 90_000, 86_400]
    assert group_runs(days, 7) == [days]


@pytest.mark.parametrize(
    ("windows", "concurrency", "days"),
    [(1, 4, 1), (23, 4, 1), (24, 4, 2), (120, 8, 5), (120, 4, MAX_RUN_DAYS), (3650, 8, 7)],
)
def test_run_days_leave_about_three_runs_a_request_slot(
    windows: int, concurrency: int, days: int
) -> None:
    """A run spans as many days as leave about three runs for each request slot, at most a
    week."""
    assert run_days(windows, concurrency) == days


@pytest.mark.parametrize("length", range(1, 30))
def test_the_days_of_a_site_are_shared_out_evenly(length: int) -> None:
    """Consecutive closed days that take several runs make runs whose lengths differ by one
    day at most, none longer than allowed, every day once and in order."""
    block = _windows(1, date(2024, 2, 1), date(2024, 2, length))
    runs = group_runs(block, 7)
    sizes = [len(run) for run in runs]
    assert len(runs) == -(-length // 7)
    assert max(sizes) <= 7
    assert max(sizes) - min(sizes) <= 1
    assert [w for run in runs for w in run] == block


@pytest.mark.parametrize(
    ("runs", "concurrency", "lanes"),
    [(1, 8, 1), (18, 8, 18), (40, 8, 40), (41, 8, 16), (18, 4, 18)],
)
def test_few_runs_go_all_at_once(runs: int, concurrency: int, lanes: int) -> None:
    """Up to 5 runs a request slot go on side by side, so that they end together; more go
    twice as many at a time as requests are in flight."""
    assert lanes_for(runs, concurrency) == lanes


# --- fetching --------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "workers"), FORMS)
@pytest.mark.parametrize("page_size", [2, 7, 50])
@pytest.mark.parametrize("id_site", [1, 2])
async def test_each_window_of_a_run_gets_the_rows_of_a_day_by_day_fetch(
    encoding: str, workers: int, page_size: int, id_site: int
) -> None:
    """Every window of a run gets the visits (ids and actions) that fetching its day alone gets,
    the midnight visit on the later day only; the run takes fewer Live requests than the days."""
    world = FakeMatomo(TODAY, days=8, per_day=9, seed=3)
    windows = _windows(id_site, date(2024, 3, 25), date(2024, 3, 29))
    encoder = PageEncoder(encoding, workers)
    try:
        async with world.client() as m:
            alone = [await fetch_window(m, w, page_size, None, encoder) for w in windows]
            by_day = len(_live_requests(world))
            world.requests.clear()
            got = [item async for item in fetch_run(m, windows, page_size, None, encoder)]
    finally:
        await encoder.aclose()
    assert [w for w, _, _ in got] == windows
    for (_, visits, actions), (v_alone, a_alone), w in zip(got, alone, windows, strict=True):
        assert _ids(visits) == _ids(v_alone)
        assert sorted(_ids(visits)) == sorted(v["idVisit"] for v in world.owned(id_site, w.day))
        assert len(actions) == len(a_alone)
        assert visits.arrow is not None or visits.jsonl is not None or encoding == "batch"
    live = _live_requests(world)
    assert {p["period"] for p in live} == {"range"}
    assert {p["date"] for p in live} == {"2024-03-25,2024-03-29"}
    assert len(live) < by_day


@pytest.mark.parametrize(("encoding", "workers"), FORMS[:3])
async def test_a_day_without_visits_inside_a_run_gets_no_rows(encoding: str, workers: int) -> None:
    """A day with no visit between two that have some is yielded, empty, in its turn."""
    world = FakeMatomo(TODAY, days=8, per_day=9, seed=3)
    gap = world.owned(1, date(2024, 3, 27))
    world.visits = [v for v in world.visits if v not in gap]
    windows = _windows(1, date(2024, 3, 26), date(2024, 3, 28))
    encoder = PageEncoder(encoding, workers)
    async with world.client() as m:
        got = [item async for item in fetch_run(m, windows, 4, None, encoder)]
    assert [w.day for w, _, _ in got] == [w.day for w in windows]
    assert [len(v) for _, v, _ in got] == [9, 0, 9]
    assert [len(a) for _, _, a in got][1] == 0
    assert type(got[1][1].arrow) is type(got[0][1].arrow)  # the same form as the others


@pytest.mark.parametrize("page_size", [1, 2, 3])
async def test_a_day_is_not_whole_while_its_last_second_may_go_on(page_size: int) -> None:
    """Several visits in a day's last second, split over pages, all stay on that day; a visit
    at the next midnight goes to the next day, once."""
    world = FakeMatomo(TODAY, days=8, per_day=3, seed=3)
    windows = _windows(1, date(2024, 3, 26), date(2024, 3, 27))
    end = windows[0].end_ts
    world.visits = [v for v in world.visits if v["idSite"] != 1]
    stamps = [windows[0].start_ts + 100, end - 1, end - 1, end - 1, end, end + 50]
    for n, ts in enumerate(stamps):
        world.visits.append(FakeMatomo._visit(1, "Shop", 1001 + n, ts, random.Random(n)))
    encoder = PageEncoder("batch", 0)
    async with world.client() as m:
        got = [item async for item in fetch_run(m, windows, page_size, None, encoder)]
    assert [_ids(v) for _, v, _ in got] == [[1001, 1002, 1003, 1004], [1005, 1006]]


async def test_windows_are_yielded_as_soon_as_the_stream_has_passed_them() -> None:
    """A window comes out once a page reached past its end, before the run's last page."""
    world = FakeMatomo(TODAY, days=8, per_day=9, seed=3)
    windows = _windows(1, date(2024, 3, 25), date(2024, 3, 27))
    encoder = PageEncoder("batch", 0)
    seen_requests: list[int] = []
    async with world.client() as m:
        async for _ in fetch_run(m, windows, 4, None, encoder):
            seen_requests.append(len(_live_requests(world)))
    total = len(_live_requests(world))
    assert seen_requests[0] < total  # the first day was written while later pages were due
    assert seen_requests == sorted(seen_requests)


# --- the export ------------------------------------------------------------------------------


async def test_an_export_in_runs_writes_what_a_day_by_day_export_writes(tmp_path: Any) -> None:
    """With runs, the export writes the same visits and actions as day by day, each visit once,
    reconciled without a mismatch, in fewer requests."""
    from export_readers import read_rows

    results = []
    for days in (1, MAX_RUN_DAYS):
        world = FakeMatomo(TODAY, days=24, per_day=6, seed=9)
        target = str(tmp_path / f"x{days}.duckdb")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("matomo_client.export.windows.MAX_RUN_DAYS", days)
            async with world.client() as m:
                s = await export_visits(
                    m, sites=[1, 2], start="last20", end="today", target=target, now=NOW,
                    page_size=5, concurrency=1,
                )  # fmt: skip
        visits = sorted(
            (int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")
        )
        actions = len(read_rows(target, "actions"))
        results.append((visits, actions, s, len(_live_requests(world))))
    (v1, a1, s1, r1), (v7, a7, s7, r7) = results
    assert v1 == v7
    assert len(v7) == len(set(v7)) == s7.visits
    assert a1 == a7
    assert s7.mismatches == [] == s1.mismatches
    assert s7.windows_exported == s1.windows_exported == 40
    assert r7 < r1


async def test_a_failure_inside_a_run_names_its_days_and_keeps_its_finished_windows(
    tmp_path: Any,
) -> None:
    """A request failing mid-run stops the export with the run's site and days named; the
    windows finished before it are recorded, and the re-run completes the export once."""
    from export_readers import read_rows

    world = FakeMatomo(TODAY, days=24, per_day=6, seed=9)
    handle = world.handle
    calls = {"live": 0}

    def failing(request: Any) -> Any:
        if "method=Live.getLastVisitsDetails" in request.path:
            calls["live"] += 1
            if calls["live"] == 12:
                from matomo_client.transports.mock import json_response

                return json_response({"result": "error", "message": "Mysql error: gone away"})
        return handle(request)

    world.handle = failing  # type: ignore[method-assign]
    target = str(tmp_path / "x.duckdb")
    monkey = pytest.MonkeyPatch()
    monkey.setattr(export_run, "FLUSH_VISITS", 1)
    try:
        async with world.client() as m:
            with pytest.raises(ExportApiError, match=r"cannot export visits of site \d, ") as e:
                await export_visits(
                    m, sites=[1], start="last20", end="yesterday", target=target, now=NOW,
                    page_size=5, concurrency=1,
                )  # fmt: skip
        assert " to 2024-03-" in str(e.value)  # the run's days, first to last
        kept = read_rows(target, "visits")
        assert kept  # the windows finished before the failure
        world.handle = handle  # type: ignore[method-assign]
        async with world.client() as m:
            await export_visits(
                m, sites=[1], start="last20", end="yesterday", target=target, now=NOW,
                page_size=5, concurrency=1,
            )  # fmt: skip
    finally:
        monkey.undo()
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]
    assert len(got) == len(set(got))
    days = [TODAY - timedelta(days=n) for n in range(1, 20)]
    assert set(got) == {(1, v["idVisit"]) for d in days for v in world.owned(1, d)}


class _OutOfOrder:
    """Serves a day-2 page, then a body the raw read refuses; its ordinary read (which a real
    client checks, but this fake does not) then brings a visit of day 1, already written."""

    def __init__(self, day1: int, day2: int) -> None:
        visit = {"idSite": 1, "lastActionTimestamp": day2, "actions": 0, "actionDetails": []}
        self.bodies = [orjson.dumps([{**visit, "idVisit": 1}, {**visit, "idVisit": 2}]), b"?"]
        self.late = [{**visit, "idVisit": 3, "lastActionTimestamp": day1}]
        self.live = self

    async def execute(self, endpoint: Any) -> bytes:
        return self.bodies.pop(0)

    async def next_page_raw(self, cursor: Any) -> tuple[list[dict[str, Any]], Any]:
        return self.late, None


async def test_a_visit_of_a_day_already_written_is_an_error_not_a_loss() -> None:
    """Should a page ever bring a visit of a day the run has already yielded, the run stops
    with a DecodeError rather than drop the visit."""
    from matomo_client.errors import DecodeError

    windows = _windows(1, date(2024, 3, 26), date(2024, 3, 27))
    client = _OutOfOrder(windows[0].start_ts + 5, windows[1].start_ts + 5)
    got: list[tuple[date, int]] = []

    async def read() -> None:
        async for window, visits, _ in fetch_run(client, windows, 2, None, PageEncoder("batch", 0)):
            got.append((window.day, len(visits)))

    with pytest.raises(DecodeError, match="2024-03-26 after a later day"):
        await read()
    assert got == [(date(2024, 3, 26), 0)]


async def test_a_page_out_of_order_still_gives_each_visit_to_its_day() -> None:
    """Rows of a page not in ascending order (only the ordinary read of a fake could bring
    one) still go to the days that own them, each once."""
    windows = _windows(1, date(2024, 3, 26), date(2024, 3, 27))
    day1, day2 = windows[0].start_ts + 5, windows[1].start_ts + 5
    client = _OutOfOrder(day1, day2)
    visit = {"idSite": 1, "actions": 1, "actionDetails": [{"type": "action", "url": "/x"}]}
    client.bodies = [b"?"]
    client.late = [
        {**visit, "idVisit": 7, "lastActionTimestamp": day2},
        {**visit, "idVisit": 8, "lastActionTimestamp": day1},
    ]
    got = [
        (w.day, _ids(v), len(a))
        async for w, v, a in fetch_run(client, windows, 5, None, PageEncoder("batch", 0))
    ]
    assert got == [(date(2024, 3, 26), [8], 1), (date(2024, 3, 27), [7], 1)]


async def test_a_run_lets_go_of_a_written_day_before_its_next_pages(tmp_path: Any) -> None:
    """Once a day of a run is written, its rows are freed before the run asks for more pages
    (holding them meanwhile cost a run a second day's rows: figure 3's memory)."""
    import weakref

    from matomo_client.export.sinks.files import FileSink

    world = FakeMatomo(TODAY, days=12, per_day=6, seed=4)
    written: list[tuple[int, date, weakref.ref[Any]]] = []
    held: list[tuple[int, date]] = []
    real_write, handle = FileSink.write_window, world.handle

    def write_window(self: FileSink, kind: str, records: Any, batches: Any) -> None:
        real_write(self, kind, records, batches)
        written.extend((r.id_site, r.day, weakref.ref(b)) for r in records for b in batches)

    def serve(request: Any) -> Any:
        p = request.path
        if "method=Live.getLastVisitsDetails" in p:
            params = dict(x.split("=", 1) for x in request.body.decode().split("&"))
            days = set(days_asked({"date": params["date"].replace("%2C", ",")}))
            site = int(params["idSite"])
            held.extend(
                (s, d)
                for s, d, ref in written
                if ref() is not None and s == site and d.isoformat() in days
            )
        return handle(request)

    world.handle = serve  # type: ignore[method-assign]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(FileSink, "write_window", write_window)
        mp.setattr(engine, "run_days", lambda windows, lanes: 4)
        async with world.client() as m:
            await export_visits(
                m, sites=[1, 2], start="last10", end="yesterday", target=str(tmp_path / "x.jsonl"),
                now=NOW, page_size=2, concurrency=1, workers=0,
            )  # fmt: skip
    assert len(written) == 2 * 9 * 2  # every day (last10 ends today) written: visits, actions
    assert held == []
