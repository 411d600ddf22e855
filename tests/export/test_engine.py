"""The export engine against an in-memory Matomo (real client, mock transport)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest
from export_fakeworld import FakeMatomo
from export_readers import read_rows

from matomo_client._core.http import Request, Response
from matomo_client.export import (
    ExportApiError,
    ExportProgress,
    ExportUsageError,
    StateMismatchError,
    export_reports,
    export_visits,
    open_target,
)
from matomo_client.transports import MockTransport, json_response, request_params

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)  # Europe/Berlin switches to summer time on this day
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
START = TODAY - timedelta(days=4)


def _ids(target: str) -> list[tuple[int, int]]:
    return sorted((int(v["id_site"]), int(v["id_visit"])) for v in read_rows(target, "visits"))


def _owned_ids(world: FakeMatomo, sites: tuple[int, ...]) -> list[tuple[int, int]]:
    """The (site, visit) ids the four days from START own on `sites`, sorted."""
    return sorted(
        (s, v["idVisit"])
        for s in sites
        for d in range(4)
        for v in world.owned(s, START + timedelta(days=d))
    )


@pytest.mark.parametrize("name", ["x.duckdb", "x.jsonl"])
async def test_every_visit_exactly_once_and_reconciled(tmp_path: Path, name: str) -> None:
    """All visits of all sites land once (midnight visits included), actions too; counts match."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / name)
    seen: list[ExportProgress] = []
    async with world.client() as m:
        summary = await export_visits(
            m,
            sites="all",
            start=START,
            end="today",
            target=target,
            page_size=3,
            concurrency=3,
            now=NOW,
            progress=seen.append,
        )
    assert _ids(target) == sorted(world.all_ids())
    n_actions = sum(len(v["actionDetails"]) for v in world.visits)
    assert len(read_rows(target, "actions")) == n_actions
    assert summary.windows_total == 15  # 3 sites x 5 days
    assert summary.windows_open == 3  # today, on each site
    assert summary.visits == len(world.visits)
    assert summary.mismatches == []
    assert summary.reconciled
    assert seen[-1].phase == "done"
    assert seen[-1].windows_done == 15
    summaries = [p for p in world.requests if p.get("method") == "VisitsSummary.get"]
    assert len(summaries) == 3  # one multi-period request per site, not one per day
    with open_target(target) as sink:
        state = sink.load_state("visits")
    rec = state.windows[(2, TODAY - timedelta(days=1))]
    assert rec.nb_visits == rec.visits == len(world.owned(2, TODAY - timedelta(days=1)))


async def test_rerun_skips_done_windows_and_refetches_open_ones(tmp_path: Path) -> None:
    """A second run fetches only the open (today) windows and still has each visit once."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / "x.sqlite")
    async with world.client() as m:
        await export_visits(m, sites=[1, 2], start=START, end="today", target=target, now=NOW)
        later = NOW + timedelta(hours=1)
        second = await export_visits(
            m, sites=[1, 2], start=START, end="today", target=target, now=later
        )
    assert second.windows_skipped == 8
    assert second.windows_exported == 2
    assert _ids(target) == sorted(world.all_ids())


async def test_changed_command_is_refused_unless_restart(tmp_path: Path) -> None:
    """Another segment against the same target raises StateMismatchError; restart starts over."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / "x.duckdb")
    async with world.client() as m:
        await export_visits(m, sites=[1], start=START, end=START, target=target, now=NOW)
        with pytest.raises(StateMismatchError, match="segment"):
            await export_visits(
                m,
                sites=[1],
                start=START,
                end=START,
                target=target,
                now=NOW,
                segment="browserCode==FF",
            )
        summary = await export_visits(
            m, sites=[2], start=START, end=START, target=target, now=NOW, restart=True
        )
    assert summary.windows_exported == 1
    assert {s for s, _ in _ids(target)} == {2}


async def test_visits_log_disabled_stops_with_one_clear_error(tmp_path: Path) -> None:
    """A site with Live disabled stops the export with Matomo's message; a later run resumes."""
    world = FakeMatomo(TODAY, disabled_sites={2})
    target = str(tmp_path / "x.duckdb")
    async with world.client() as m:
        with pytest.raises(ExportApiError, match=r"site 2, .*Visits log is deactivated"):
            await export_visits(
                m,
                sites=[1, 2],
                start=START,
                end="yesterday",
                target=target,
                now=NOW,
                concurrency=1,
            )
        world.disabled_sites.clear()
        summary = await export_visits(
            m, sites=[1, 2], start=START, end="yesterday", target=target, now=NOW
        )
    assert summary.windows_skipped >= 1
    assert _ids(target) == _owned_ids(world, (1, 2))


async def test_mismatch_names_the_day_and_a_cause(tmp_path: Path) -> None:
    """When VisitsSummary disagrees, the summary names the day and the likely cause."""
    day = START + timedelta(days=1)
    world = FakeMatomo(TODAY, summary_offset={(1, day): 2})
    async with world.client() as m:
        summary = await export_visits(
            m, sites=[1], start=START, end="yesterday", target=str(tmp_path / "x.duckdb"), now=NOW
        )
    assert [(x.id_site, x.day) for x in summary.mismatches] == [(1, day)]
    assert "visits log no longer holds" in summary.mismatches[0].cause
    assert any(str(day) in line for line in summary.lines())


class _SummariesTogether:
    """Holds each VisitsSummary answer until every site's request has arrived."""

    def __init__(self, world: FakeMatomo, sites: int) -> None:
        self.world, self.sites, self.waiting = world, sites, 0
        self.all_in = anyio.Event()
        self.alone = False  # an answer gave up waiting: the requests came one at a time

    async def send(self, request: Request) -> Response:
        if request_params(request).get("method") == "VisitsSummary.get":
            self.waiting += 1
            if self.waiting == self.sites:
                self.all_in.set()
            with anyio.move_on_after(2) as waited:  # one site at a time never gets all in
                await self.all_in.wait()
            self.alone = self.alone or waited.cancelled_caught
        return self.world.handle(request)


async def test_sites_are_reconciled_side_by_side(tmp_path: Path) -> None:
    """Each site's reconciliation request is in flight at the same time as the others', and
    the mismatches still come in site order."""
    day = START + timedelta(days=1)
    world = FakeMatomo(TODAY, summary_offset={(1, day): 1, (3, day): 2})
    transport = _SummariesTogether(world, sites=3)
    client = world.client(transport)
    async with client as m:
        summary = await export_visits(
            m, sites="all", start=START, end="yesterday", target=str(tmp_path / "x.duckdb"), now=NOW
        )
    assert not transport.alone
    assert summary.reconciled
    assert [(x.id_site, x.day) for x in summary.mismatches] == [(1, day), (3, day)]


async def test_matomo_counts_are_asked_for_while_the_target_is_checkpointed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reconciliation request goes out while the last windows are written and DuckDB
    checkpoints, not after: the checkpoint here waits for it (and notes if it never came)."""
    import threading

    from matomo_client.export.sinks.duckdb import DuckDBSink

    asked = threading.Event()
    waited_alone: list[bool] = []
    checkpoint = DuckDBSink.checkpoint

    def slow_checkpoint(self: DuckDBSink) -> None:
        waited_alone.append(not asked.wait(2))
        checkpoint(self)

    monkeypatch.setattr(DuckDBSink, "checkpoint", slow_checkpoint)
    world = FakeMatomo(TODAY)

    def handle(request: Request) -> Response:
        if request_params(request).get("method") == "VisitsSummary.get":
            asked.set()
        return world.handle(request)

    client = world.client(MockTransport(handle))
    target = str(tmp_path / "x.duckdb")
    async with client as m:
        summary = await export_visits(
            m, sites=[1, 2], start=START, end="yesterday", target=target, now=NOW
        )
    assert waited_alone == [False]
    assert summary.reconciled
    assert summary.mismatches == []
    assert _ids(target) == _owned_ids(world, (1, 2))


async def test_an_unexpected_error_while_counting_is_raised_as_it_is(tmp_path: Path) -> None:
    """A failure in the count request that is no Matomo error is not hidden in an exception
    group by the work it ran beside: it comes out as itself, and the windows stay written."""
    world = FakeMatomo(TODAY)

    def handle(request: Request) -> Response:
        if request_params(request).get("method") == "VisitsSummary.get":
            raise RuntimeError("counting broke")
        return world.handle(request)

    client = world.client(MockTransport(handle))
    target = str(tmp_path / "x.duckdb")
    async with client as m:
        with pytest.raises(RuntimeError, match="counting broke"):
            await export_visits(m, sites=[1], start=START, end="yesterday", target=target, now=NOW)
    assert _ids(target) == _owned_ids(world, (1,))


async def test_a_site_matomo_cannot_count_is_named_and_the_others_reconciled(
    tmp_path: Path,
) -> None:
    """When Matomo answers one site's count request with an error, the export still succeeds:
    that site is named in a warning, the other sites are reconciled."""
    world = FakeMatomo(TODAY)

    def handle(request: Request) -> Response:
        p = request_params(request)
        if p.get("method") == "VisitsSummary.get" and p.get("idSite") == "2":
            return json_response({"result": "error", "message": "archiving is broken"})
        return world.handle(request)

    client = world.client(MockTransport(handle))
    async with client as m:
        summary = await export_visits(
            m,
            sites=[1, 2],
            start=START,
            end="yesterday",
            target=str(tmp_path / "x.duckdb"),
            now=NOW,
        )
    assert summary.warnings == ["site 2: not reconciled (archiving is broken)"]
    assert summary.mismatches == []
    with open_target(str(tmp_path / "x.duckdb")) as sink:
        state = sink.load_state("visits")
    day = START + timedelta(days=1)
    assert state.windows[(1, day)].nb_visits == len(world.owned(1, day))
    assert state.windows[(2, day)].nb_visits is None


async def test_bad_input_is_a_usage_error(tmp_path: Path) -> None:
    """Unknown sites, a start after the end, and invalid dates are ExportUsageError."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / "x.duckdb")
    async with world.client() as m:
        with pytest.raises(ExportUsageError, match=r"site 9 .*visible sites: 1, 2, 3"):
            await export_visits(m, sites=[9], start=START, end=START, target=target, now=NOW)
        with pytest.raises(ExportUsageError, match="after"):
            await export_visits(m, sites=[1], start="today", end="yesterday", target=target)
        with pytest.raises(ExportUsageError, match="invalid date"):
            await export_visits(m, sites=[1], start="2024-13-01", end="today", target=target)
        with pytest.raises(ExportUsageError, match="'last100000000': N is too large"):
            await export_visits(m, sites=[1], start="last100000000", end="today", target=target)
        with pytest.raises(ExportUsageError, match="before 1991-08-06"):
            await export_visits(m, sites=[1], start="1991-08-05", end="today", target=target)
        with pytest.raises(ExportUsageError, match="before 1991-08-06"):
            await export_reports(m, sites=[1], start="last20000", end="today", target=target)
        with pytest.raises(ExportUsageError, match=r"invalid report 'Actions\.get Page'"):
            await export_reports(
                m, sites=[1], start=START, end=START, target=target, reports=["Actions.get Page"]
            )
        with pytest.raises(ExportUsageError, match="workers must be from 0 to 64, not 65"):
            await export_visits(m, sites=[1], start=START, end=START, target=target, workers=65)
        for bad, why in [
            ("VisitsSummary.get?idSite=2", "idSite is set by the export"),
            ("VisitsSummary.get?period=week", "period is set by the export"),
            ("VisitsSummary.get?date=2024-01-01", "date is set by the export"),
            ("Goals.get?idGoal", "name=value"),
        ]:
            with pytest.raises(ExportUsageError, match=why):
                await export_reports(
                    m, sites=[1], start=START, end=START, target=target, reports=[bad]
                )
        with pytest.raises(ExportUsageError, match="page size must be at most 1,000,000"):
            await export_visits(
                m, sites=[1], start=START, end=START, target=target, page_size=1_000_001
            )
    assert not await anyio.Path(target).exists()


async def test_reports_export_skips_cross_site_reports(tmp_path: Path) -> None:
    """Reports come from metadata in bulk requests, one row per period; MultiSites is skipped."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / "r.duckdb")
    async with world.client() as m:
        summary = await export_reports(
            m, sites=[1], start=START, end="yesterday", target=target, now=NOW
        )
    rows = read_rows(target, "reports")
    assert sorted(r["date"] for r in rows) == [START + timedelta(days=i) for i in range(4)]
    for r in rows:
        assert r["nb_visits"] == len(world.owned(1, r["date"]))
    bulk = [p for p in world.requests if p.get("method") == "API.getBulkRequest"]
    assert len(bulk) == 1
    assert summary.windows_exported == 4


class _Gauge:
    """Answers from the fake world after a pause, keeping the most Live requests in flight."""

    def __init__(self, world: FakeMatomo) -> None:
        self.world = world
        self.now = self.most = 0

    async def send(self, request: Request) -> Response:
        live = request_params(request).get("method") == "Live.getLastVisitsDetails"
        self.now += live
        self.most = max(self.most, self.now)
        try:
            await anyio.sleep(0.005)
            return self.world.handle(request)
        finally:
            self.now -= live


async def test_concurrency_bounds_requests_while_more_windows_are_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`concurrency` bounds the Live requests in flight, even on a client that allows more;
    while windows turn their pages into rows, others' requests go out (at least twice as many
    runs of windows in progress as requests in flight, at most 5 times as many), and every
    visit still lands once."""
    from matomo_client.export.encode import PageEncoder

    encode = PageEncoder.encode
    busy = most_busy = 0

    async def encode_slowly(self: PageEncoder, *args: object) -> object:
        nonlocal busy, most_busy
        busy += 1
        most_busy = max(most_busy, busy)
        try:
            await anyio.sleep(0.02)
            return await encode(self, *args)  # type: ignore[arg-type]
        finally:
            busy -= 1

    monkeypatch.setattr(PageEncoder, "encode", encode_slowly)
    world = FakeMatomo(TODAY)
    gauge = _Gauge(world)
    target = str(tmp_path / "x.duckdb")
    async with world.client(gauge) as m:
        assert m.max_concurrency > 2
        summary = await export_visits(
            m,
            sites="all",
            start=START,
            end="yesterday",
            target=target,
            page_size=3,
            concurrency=2,
            now=NOW,
            workers=0,
        )
    assert gauge.most == 2
    assert 4 <= most_busy <= 10
    assert summary.visits == len(_ids(target))
    assert _ids(target) == _owned_ids(world, (1, 2, 3))


async def test_days_all_in_the_future_say_there_is_nothing_to_export(tmp_path: Path) -> None:
    """A range after today exports nothing, and the summary says why instead of a bare 0 of 0."""
    world = FakeMatomo(TODAY)
    later = TODAY + timedelta(days=30)
    async with world.client() as m:
        visits = await export_visits(
            m, sites=[1], start=later, end=later, target=str(tmp_path / "v.duckdb"), now=NOW
        )
        reports = await export_reports(
            m, sites=[1], start=later, end=later, target=str(tmp_path / "r.duckdb"), now=NOW
        )
    for summary in (visits, reports):
        assert summary.windows_total == 0
        assert summary.warnings == [
            f"nothing to export: {later} to {later} lies after today in the sites' timezones"
        ]


async def test_a_start_that_is_today_somewhere_is_not_after_today(tmp_path: Path) -> None:
    """`--from <today in UTC+14> --to today` is refused nowhere: a site there has that day."""
    from matomo_client.export.arguments import _check_common

    ahead = (datetime.now(timezone.utc) + timedelta(hours=14)).date().isoformat()
    _check_common(1000, 4, ahead, "today")
    behind = (datetime.now(timezone.utc) - timedelta(hours=12)).date().isoformat()
    _check_common(1000, 4, "today", behind)
    with pytest.raises(ExportUsageError, match="after"):
        _check_common(1000, 4, "today", "yesterday")


@pytest.mark.parametrize(
    ("message", "fetched_again"),
    [
        ("Mysql error: Deadlock found when trying to get lock; try restarting transaction", True),
        ("The method 'get' does not exist or is not available in the module 'x'.", False),
    ],
)
async def test_a_report_skipped_for_a_passing_failure_is_fetched_again(
    tmp_path: Path, message: str, fetched_again: bool
) -> None:
    """A report of the metadata that fails inside the bulk answer once (a deadlock) leaves its
    days open, so the same export run again fetches them; a refusal that would come back every
    time (no such method) stays skipped, its days done."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / "r.duckdb")
    failures = [message]

    def flaky(request: Request) -> Response:
        response = world.handle(request)
        if request_params(request).get("method") == "API.getBulkRequest" and failures:
            return json_response([{"result": "error", "message": failures.pop()}])
        return response

    async with world.client(MockTransport(flaky)) as m:
        first = await export_reports(
            m, sites=[1], start=START, end="yesterday", target=target, now=NOW
        )
        assert read_rows(target, "reports") == []
        assert len(first.warnings) == 1
        assert "VisitsSummary.get skipped" in first.warnings[0]
        second = await export_reports(
            m, sites=[1], start=START, end="yesterday", target=target, now=NOW
        )
    rows = read_rows(target, "reports")
    if fetched_again:
        assert "the next run fetches its periods again" in first.warnings[0]
        assert second.windows_skipped == 0
        assert second.windows_exported == 4
        assert sorted(r["date"] for r in rows) == [START + timedelta(days=i) for i in range(4)]
    else:
        assert second.windows_skipped == 4
        assert rows == []


async def test_a_site_without_reports_warns_and_is_asked_again(tmp_path: Path) -> None:
    """A site whose API.getReportMetadata is `[]` is a warning, and its periods stay open: once
    Matomo lists reports, the next run exports them (before: no warning, and the periods were
    recorded done, so that run exported nothing)."""
    world = FakeMatomo(TODAY)
    target = str(tmp_path / "r.duckdb")
    listed = [False]

    def no_reports_at_first(request: Request) -> Response:
        if request_params(request).get("method") == "API.getReportMetadata" and not listed[0]:
            return json_response([])
        return world.handle(request)

    async with world.client(MockTransport(no_reports_at_first)) as m:
        first = await export_reports(
            m, sites=[1], start=START, end="yesterday", target=target, now=NOW
        )
        assert first.report_rows == 0
        assert first.windows_open == 4
        assert first.warnings == [
            "site 1: API.getReportMetadata lists no report to export; nothing written, "
            "the next run asks again"
        ]
        listed[0] = True
        second = await export_reports(
            m, sites=[1], start=START, end="yesterday", target=target, now=NOW
        )
    assert second.windows_skipped == 0
    assert second.warnings == []
    rows = read_rows(target, "reports")
    assert sorted(r["date"] for r in rows) == [START + timedelta(days=i) for i in range(4)]
