"""Live paging through both clients against an in-memory Live server: complete, no duplicates."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest
from clients_support import BASE_URL, TOKEN, Harness, LiveServer, Router
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matomo_client import (
    AsyncMatomo,
    Auth,
    Cursor,
    Date,
    DecodeError,
    Limit,
    Matomo,
    MockTransport,
    Period,
    SyncMockTransport,
    Visit,
)

pytestmark = pytest.mark.anyio

DAY = Period.day(dt.date(2026, 11, 28))
T0 = 1_795_000_000


def server_with(keys: list[tuple[int, int]], **kw: Any) -> LiveServer:
    """A Live server holding visits with these (idVisit, lastActionTimestamp)."""
    return LiveServer(visits=dict(keys), **kw)


async def stream_ids(harness: Harness, server: LiveServer, page_size: int) -> list[int]:
    """The idVisit of every visit `live.stream_raw` yields, in order."""
    m = harness.client(server, skip_preflight=True)
    visits = await harness.run(m.live.stream_raw, 1, DAY, page_size)
    return [int(v["idVisit"]) for v in visits]


async def test_stream_yields_models_oldest_first(harness: Harness) -> None:
    """live.stream() yields Visit models, oldest first, and asks for ascending keyset pages."""
    server = server_with([(i, T0 + i) for i in range(1, 8)])
    m = harness.client(server)
    visits = await harness.run(m.live.stream, 1, DAY, 3)
    assert all(isinstance(v, Visit) for v in visits)
    assert [v.id_visit for v in visits] == list(range(1, 8))
    first = server.pages[0]
    assert (first["filter_sort_order"], first["filter_limit"], first["filter_offset"]) == (
        "asc",
        "3",
        "0",
    )
    assert "minTimestamp" not in first
    assert all("minTimestamp" in p for p in server.pages[1:])
    assert (first["period"], first["date"], first["idSite"]) == ("day", "2026-11-28", "1")


async def test_short_page_is_not_the_end(harness: Harness) -> None:
    """After a short page the stream asks again; a page with nothing new on it ends it."""
    server = server_with([(i, T0 + i) for i in range(1, 8)])
    assert await stream_ids(harness, server, 5) == list(range(1, 8))
    answered = [server.rows(p) for p in server.pages]
    assert len(server.pages) == 3
    assert 0 < len(answered[1]) < int(server.pages[1]["filter_limit"])
    assert answered[2]
    assert set(answered[2]) <= set(answered[0] + answered[1])


async def test_a_visit_arriving_in_the_newest_second_after_a_short_page_comes(
    harness: Harness,
) -> None:
    """A visit tracked in the newest second just after a short page was served is not lost."""
    server = server_with([(i, T0 + i) for i in range(1, 8)])

    def arrive(server: LiveServer, n: int) -> None:
        if n == 2:  # after the short second page, whose newest second is T0 + 7
            server.visits[99] = T0 + 7

    server.between_pages = arrive
    assert await stream_ids(harness, server, 5) == [*range(1, 8), 99]


async def test_short_page_followed_by_more_data(harness: Harness) -> None:
    """A short page followed by a non-empty page (a server capping pages) loses nothing."""
    keys = [(i, T0 + i) for i in range(1, 30)]

    class Capped(LiveServer):
        def rows(self, params: Any) -> list[tuple[int, int]]:
            return super().rows(params)[:4]  # never more than 4, whatever is asked

    server = Capped(visits=dict(keys))
    assert await stream_ids(harness, server, 10) == [k for k, _ in keys]


async def test_empty_first_page_ends_at_once(harness: Harness) -> None:
    """A period with no visits takes one request and yields nothing."""
    server = server_with([])
    assert await stream_ids(harness, server, 5) == []
    assert len(server.pages) == 1


async def test_page_of_one_second_grows_and_loses_nothing(harness: Harness) -> None:
    """Twelve visits in one second, pages of 5: the page grows and every visit comes once."""
    server = server_with([(i, T0) for i in range(1, 13)])
    assert await stream_ids(harness, server, 5) == list(range(1, 13))
    assert [p["filter_limit"] for p in server.pages] == ["5", "10", "15", "17"]


async def test_visits_arriving_between_pages(harness: Harness) -> None:
    """New visits arriving between pages neither hide nor repeat the visits already there."""
    start = [(i, T0 + i // 3) for i in range(1, 40)]

    def arrive(srv: LiveServer, n: int) -> None:
        if n <= 5:
            newest = max(srv.visits.values())
            for j in range(3):
                srv.add(1000 + 10 * n + j, newest + j % 2)

    server = server_with(start, between_pages=arrive)
    ids = await stream_ids(harness, server, 7)
    assert len(ids) == len(set(ids))
    assert set(ids) >= {k for k, _ in start}


async def test_visits_growing_between_pages(harness: Harness) -> None:
    """Visits moving to a later second between pages are yielded once each, none lost."""
    start = [(i, T0 + i // 2) for i in range(1, 31)]

    def grow(srv: LiveServer, n: int) -> None:
        if n in (1, 2):
            newest = max(srv.visits.values())
            for vid in (1, 2, 3, 20, 25):  # some already yielded, some not yet
                srv.add(vid, newest + 1)

    server = server_with(start, between_pages=grow)
    ids = await stream_ids(harness, server, 6)
    assert sorted(ids) == [k for k, _ in start]


async def test_next_page_and_resume_from_json(harness: Harness) -> None:
    """Saving the cursor mid-export and resuming from its JSON gives the uninterrupted set."""
    keys = [(i, T0 + (i * 7) % 11) for i in range(1, 60)]
    whole = await stream_ids(harness, server_with(keys), 8)

    server = server_with(keys)
    m = harness.client(server)
    cursor: Cursor | None = Cursor(1, DAY, Limit(8))
    got: list[int] = []
    for _ in range(3):
        assert cursor is not None
        visits, cursor = await harness.run(m.live.next_page, cursor)
        assert all(isinstance(v, Visit) for v in visits)
        got += [v.id_visit for v in visits]
    assert cursor is not None
    saved = cursor.to_json()

    m2 = harness.client(server)  # a new process, say
    cursor = Cursor.from_json(saved)
    while cursor is not None:
        raw, cursor = await harness.run(m2.live.next_page_raw, cursor)
        assert all(isinstance(v, dict) for v in raw)
        got += [int(v["idVisit"]) for v in raw]
    assert sorted(got) == sorted(whole) == sorted(k for k, _ in keys)


async def test_a_cursor_for_yesterday_pages_the_site_s_yesterday_when_resumed(
    harness: Harness,
) -> None:
    """Date.YESTERDAY is pinned on the first page to the site's yesterday (its timezone), so a
    saved cursor resumed after midnight pages the same day; the site is asked once."""
    zone = "Pacific/Kiritimati"  # UTC+14: its yesterday is rarely the machine's
    server = server_with([(i, T0 + i) for i in range(1, 12)], timezone=zone)
    m = harness.client(server, skip_preflight=True)
    before = dt.datetime.now(ZoneInfo(zone)).date() - dt.timedelta(days=1)
    cursor: Cursor | None = Cursor(1, Period.day(Date.YESTERDAY), Limit(4))
    visits, cursor = await harness.run(m.live.next_page, cursor)
    after = dt.datetime.now(ZoneInfo(zone)).date() - dt.timedelta(days=1)
    assert cursor is not None
    day = cursor.period.date
    assert day in (before, after)
    assert json.loads(cursor.to_json())["period"] == {"unit": "day", "date": day.isoformat()}
    resumed: Cursor | None = Cursor.from_json(cursor.to_json())
    while resumed is not None:
        more, resumed = await harness.run(m.live.next_page, resumed)
        visits += more
    assert [v.id_visit for v in visits] == list(range(1, 12))
    assert {p["date"] for p in server.pages} == {day.isoformat()}
    assert server.sites_asked == 1


async def test_a_cursor_of_calendar_dates_asks_no_site(harness: Harness) -> None:
    """Pinning costs nothing when the period has no relative date."""
    server = server_with([(1, T0)])
    await stream_ids(harness, server, 5)
    assert server.sites_asked == 0


@pytest.mark.parametrize("unit", ["day", "week"])
async def test_a_period_holding_today_starts_at_its_own_first_midnight(
    harness: Harness, unit: str
) -> None:
    """Matomo reads today's date from yesterday's midnight (matomo#22543), here a server that
    ignores the dates: today's day or week, by keyword or by date, is paged from the period's
    own first midnight in the site's timezone, and yields nothing from before it."""
    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: its today is rarely the machine's
    today = dt.datetime.now(zone).date()
    first = today - dt.timedelta(days=today.weekday()) if unit == "week" else today
    midnight = int(dt.datetime.combine(first, dt.time(), zone).timestamp())
    keys = [(1, midnight - 3600), (2, midnight - 1), (3, midnight), (4, midnight + 60)]
    for date in (Date.TODAY, today):
        server = server_with(keys, timezone="Pacific/Kiritimati")
        m = harness.client(server, skip_preflight=True)
        visits = await harness.run(m.live.stream, 1, Period(unit, date), 3)
        assert [v.id_visit for v in visits] == [3, 4]
        assert server.pages[0]["minTimestamp"] == str(midnight - 1)
        assert server.sites_asked == 1


async def test_next_page_returns_none_after_the_empty_page(harness: Harness) -> None:
    """next_page() returns ([], None) once the data has run out."""
    m = harness.client(server_with([(1, T0)]))
    visits, cursor = await harness.run(m.live.next_page, Cursor(1, DAY, Limit(5)))
    assert [v.id_visit for v in visits] == [1]
    assert cursor is not None
    assert await harness.run(m.live.next_page, cursor) == ([], None)


async def test_server_ignoring_min_timestamp_is_an_error(harness: Harness) -> None:
    """A server that ignores minTimestamp makes stream raise DecodeError instead of looping."""
    server = server_with([(i, T0 + i // 4) for i in range(1, 50)], honour_min_timestamp=False)
    with pytest.raises(DecodeError, match="minTimestamp"):
        await stream_ids(harness, server, 10)
    assert len(server.pages) == 2


@pytest.mark.parametrize(
    "visit", [{"idSite": 1, "idVisit": 7}, {"idSite": 1, "idVisit": "x", "lastActionTimestamp": 9}]
)
async def test_visit_without_a_paging_key_is_a_decode_error(
    harness: Harness, visit: dict[str, Any]
) -> None:
    """A page whose visit lacks a usable lastActionTimestamp or idVisit raises DecodeError (a
    MatomoError) from next_page and stream, not a bare ValueError."""
    m = harness.client(Router({"Live.getLastVisitsDetails": [visit]}))
    with pytest.raises(DecodeError, match="lastActionTimestamp"):
        await harness.run(m.live.next_page, Cursor(1, DAY, Limit(5)))
    with pytest.raises(DecodeError, match="lastActionTimestamp"):
        await harness.run(m.live.stream, 1, DAY, 5)


async def test_stream_consumed_from_another_task() -> None:
    """The async stream can be created in one task and consumed in another."""
    server = server_with([(i, T0 + i) for i in range(1, 20)])
    m = AsyncMatomo(BASE_URL, auth=Auth.token(TOKEN), transport=MockTransport(server))
    stream = m.live.stream(1, DAY, 4)
    got: list[int] = []

    async def consume() -> None:
        async for visit in stream:
            got.append(visit.id_visit)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
    assert got == list(range(1, 20))


# --- property: every visit present at the start, exactly once ---------------------------------

_events = st.lists(
    st.tuples(st.sampled_from(["arrive", "grow"]), st.integers(0, 2), st.integers(0, 10_000)),
    max_size=12,
)


@st.composite
def _worlds(draw: st.DrawFn) -> tuple[list[tuple[int, int]], int, list[list[Any]]]:
    n = draw(st.integers(0, 60))
    seconds = draw(st.integers(1, 8))  # few seconds: many visits share one
    ids = draw(st.lists(st.integers(1, 500), min_size=n, max_size=n, unique=True))
    keys = [(vid, T0 + draw(st.integers(0, seconds))) for vid in ids]
    page_size = draw(st.integers(1, 9))
    between = draw(st.lists(_events, max_size=8))
    return keys, page_size, between


def _changing_server(keys: list[tuple[int, int]], between: list[list[Any]]) -> LiveServer:
    """A server where, after page n, the n-th batch of visits arrives or grows."""
    next_id = iter(range(10_000, 20_000))

    def change(srv: LiveServer, n: int) -> None:
        assert n < 500, "the pager does not stop"
        if n > len(between):
            return
        newest = max(srv.visits.values(), default=T0)
        for kind, ahead, pick in between[n - 1]:
            if kind == "arrive" or not srv.visits:
                srv.add(next(next_id), newest + ahead)
            else:
                vid = sorted(srv.visits)[pick % len(srv.visits)]
                srv.add(vid, max(srv.visits[vid], newest + ahead))

    return LiveServer(visits=dict(keys), between_pages=change, bare=True)


def _check(ids: list[int], keys: list[tuple[int, int]]) -> None:
    assert len(ids) == len(set(ids)), "a visit was yielded twice"
    missing = {k for k, _ in keys} - set(ids)
    assert not missing, f"visits lost: {sorted(missing)}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_worlds())
def test_stream_is_complete_and_duplicate_free(
    world: tuple[list[tuple[int, int]], int, list[list[Any]]],
) -> None:
    """Random visits sharing seconds, arriving and growing between pages: each yielded once."""
    keys, page_size, between = world

    sync = Matomo(BASE_URL, transport=SyncMockTransport(_changing_server(keys, between)))
    _check([int(v["idVisit"]) for v in sync.live.stream_raw(1, DAY, page_size)], keys)

    async def run() -> list[int]:
        transport = MockTransport(_changing_server(keys, between))
        m = AsyncMatomo(BASE_URL, transport=transport, skip_preflight=True)
        return [int(v["idVisit"]) async for v in m.live.stream_raw(1, DAY, page_size)]

    backend = random.Random(len(keys)).choice(["asyncio", "trio"])
    _check(anyio.run(run, backend=backend), keys)
