"""End to end: the real client against the in-process sandbox, into every target."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client as _client

from matomo_client.export import StateMismatchError, export_reports, export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
FIRST = TODAY - timedelta(days=3)
LAST = TODAY - timedelta(days=1)
TARGETS = ["x.duckdb", "x.sqlite", "x.jsonl.zst", "x.csv", "x.parquet", "hive/", "postgresql"]


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each target kind, in a fresh place."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / request.param)


def _days() -> list[date]:
    return [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]


async def test_visits_into_every_target(target: str) -> None:
    """Each target holds exactly the sandbox's visits and actions; reconciliation is clean."""
    sb = Sandbox(SandboxConfig(seed=3, days=6, visits_per_day=15, today=TODAY))
    async with _client(sb) as m:
        summary = await export_visits(
            m, sites="all", start=FIRST, end="yesterday", target=target, page_size=7, now=NOW
        )
        # Another site list over the same days: welcome, and every window of it is done.
        again = await export_visits(
            m, sites=[1], start=FIRST, end="yesterday", target=target, now=NOW
        )
        assert again.visits == 0
        assert again.windows_skipped == len(_days())
    expected = {
        (s, v.id_visit) for s in sb.world.sites for d in _days() for v in sb.world.day_visits(s, d)
    }
    rows = read_rows(target, "visits")
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in rows]
    assert len(got) == len(set(got))
    assert set(got) == expected
    n_actions = sum(  # as the sandbox renders them in Live (pages, goals, orders...)
        len(v["actionDetails"])
        for s in sb.world.sites
        for d in _days()
        for v in sb.world.visits(s, d)
    )
    assert len(read_rows(target, "actions")) == n_actions
    assert summary.mismatches == []
    assert summary.reconciled


async def test_reports_equal_sandbox_aggregates(tmp_path: Path) -> None:
    """VisitsSummary rows equal the sandbox's visit counts; page URL rows equal a direct call."""
    sb = Sandbox(SandboxConfig(seed=3, days=6, visits_per_day=15, today=TODAY))
    target = str(tmp_path / "r.duckdb")
    async with _client(sb) as m:
        summary = await export_reports(
            m,
            sites=[1, 2],
            start=FIRST,
            end="yesterday",
            target=target,
            now=NOW,
            reports=["VisitsSummary.get", "Actions.getPageUrls"],
        )
        direct = await m.call(
            "Actions.getPageUrls",
            __import__("matomo_client")
            .Params()
            .id_site(1)
            .set("period", "day")
            .set("date", LAST.isoformat())
            .set("flat", 1)
            .set("filter_limit", -1),
        )
    rows = read_rows(target, "reports")
    for s in (1, 2):
        for d in _days():
            vs = [
                r
                for r in rows
                if r["id_site"] == s and r["date"] == d and r["report"] == "VisitsSummary.get"
            ]
            assert len(vs) == 1
            assert vs[0]["nb_visits"] == len(sb.world.day_visits(s, d))
    pages = {
        r["label"]: r["nb_hits"]
        for r in rows
        if r["id_site"] == 1 and r["date"] == LAST and r["report"] == "Actions.getPageUrls"
    }
    assert pages == {r["label"]: float(r["nb_hits"]) for r in direct}
    assert summary.warnings == []
    bulk = [r for r in sb.requests if r.method == "API.getBulkRequest"]
    assert len(bulk) == 2  # one per site for all days and both reports


async def test_live_traffic_closed_days_complete_and_today_upserted(tmp_path: Path) -> None:
    """With visits arriving and growing during the export, closed days are exact, no duplicates."""
    cfg = SandboxConfig(seed=5, days=4, visits_per_day=20, today=TODAY, live_traffic=True)
    sb = Sandbox(cfg)
    target = str(tmp_path / "live.duckdb")
    async with _client(sb) as m:
        first = await export_visits(
            m, sites=[1, 2], start=FIRST, end="today", target=target, page_size=5, now=NOW
        )
        later = NOW + timedelta(seconds=sb.request_count * cfg.live_step_s)
        await export_visits(
            m, sites=[1, 2], start=FIRST, end="today", target=target, page_size=5, now=later
        )
    assert first.windows_open >= 2  # today on each site
    rows = read_rows(target, "visits")
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in rows]
    assert len(got) == len(set(got))
    closed = [d for d in _days() if d < LAST]  # over for more than the settle hour at NOW
    for s in (1, 2):
        tz = ZoneInfo(sb.world.sites[s].timezone)
        for d in closed:
            want = {v.id_visit for v in sb.world.day_visits(s, d)}
            have = {
                int(r["id_visit"])
                for r in rows
                if r["id_site"] == s
                and r["last_action_timestamp"].replace(tzinfo=timezone.utc).astimezone(tz).date()
                == d
            }
            assert have == want


@pytest.mark.parametrize("bad", ["Foo.bar", "API.getMatomoVersion", "Live.getLastVisitsDetails"])
async def test_a_report_matomo_does_not_list_is_refused_before_anything_is_recorded(
    tmp_path: Path, bad: str
) -> None:
    """A misspelt report, or a method that is no report, is a usage error naming it, raised
    before the target records the job: the corrected command then runs without restart."""
    from matomo_client.export import ExportUsageError

    sb = Sandbox(SandboxConfig(seed=3, days=6, visits_per_day=15, today=TODAY))
    target = str(tmp_path / "r.duckdb")
    async with _client(sb) as m:
        with pytest.raises(ExportUsageError, match=rf"unknown report {bad}"):
            await export_reports(
                m,
                sites=[1, 2],
                start=FIRST,
                end="yesterday",
                target=target,
                now=NOW,
                reports=["Actions.getPageUrls", bad],
            )
        assert not [r for r in sb.requests if r.method == "API.getBulkRequest"]
        summary = await export_reports(
            m,
            sites=[1, 2],
            start=FIRST,
            end="yesterday",
            target=target,
            now=NOW,
            reports=["Actions.getPageUrls"],
        )
    assert summary.report_rows == len(read_rows(target, "reports")) > 0
    metadata = [r for r in sb.requests if r.method == "API.getReportMetadata"]
    # The refused run asked both sites (the name was in neither); the next, site 1 only.
    assert [r.params["idSite"] for r in metadata] == ["1", "2", "1"]


async def test_a_job_that_recorded_no_window_is_replaced_by_the_next_command(
    tmp_path: Path,
) -> None:
    """A first run that failed before writing (here: Matomo refusing its segment) does not
    lock the target to its options; a run that wrote windows still does."""
    from matomo_client.export import ExportApiError

    sb = Sandbox(SandboxConfig(seed=3, days=6, visits_per_day=15, today=TODAY))
    target = str(tmp_path / "v.duckdb")
    async with _client(sb) as m:

        async def export(segment: str | None = None) -> object:
            return await export_visits(
                m, sites=[1], start=FIRST, end="yesterday", target=target, now=NOW, segment=segment
            )

        with pytest.raises(ExportApiError):
            await export("noSuchDimension==1")
        await export()
        with pytest.raises(StateMismatchError):
            await export("browserCode==FF")


async def test_a_directory_target_reads_as_one_dataset(tmp_path: Path) -> None:
    """pyarrow (and so pandas, Spark's layout rules) reads each table of a directory target as
    one dataset: the report parts' period and date are not repeated as `period=`/`date=` folder
    keys, which clash with their columns. A restart of one period removes only its parts."""
    import pyarrow.parquet as pq

    sb = Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=15, today=TODAY))
    target = str(tmp_path / "out") + "/"
    reports = ["VisitsSummary.get", "Actions.getPageUrls"]
    async with _client(sb) as m:
        for period in ("day", "week"):
            await export_reports(
                m, sites=[1, 2], start=FIRST - timedelta(days=10), end="yesterday",
                target=target, now=NOW, reports=reports, period=period,
            )  # fmt: skip
        await export_visits(m, sites="all", start=FIRST, end="yesterday", target=target, now=NOW)
        read = {t: pq.read_table(tmp_path / "out" / t) for t in ("visits", "actions", "reports")}
        assert read["visits"].num_rows == len(read_rows(target, "visits")) > 0
        assert read["actions"].num_rows == len(read_rows(target, "actions")) > 0
        table = read["reports"]
        assert table.num_rows == len(read_rows(target, "reports"))
        assert str(table.schema.field("date").type) == "date32[day]"
        by_period = table.group_by("period").aggregate([("label", "count")]).to_pylist()
        counts = {r["period"]: r["label_count"] for r in by_period}
        assert set(counts) == {"day", "week"}
        await export_reports(
            m, sites=[1, 2], start=FIRST - timedelta(days=10), end="yesterday",
            target=target, now=NOW, reports=reports, period="week", restart=True,
        )  # fmt: skip
    again = pq.read_table(tmp_path / "out" / "reports")
    by_period = again.group_by("period").aggregate([("label", "count")]).to_pylist()
    assert {r["period"]: r["label_count"] for r in by_period} == counts


async def test_lost_parts_of_the_other_export_name_its_command(tmp_path: Path) -> None:
    """A file target holding visits and reports whose parts were deleted: the visits run
    fetches its own windows again, then names the reports command to run (before: it advised
    --restart, which resets only its own export and gave the same error again)."""
    import shutil

    from matomo_client.export import TargetError

    sb = Sandbox(SandboxConfig(seed=3, days=6, visits_per_day=15, today=TODAY))
    target = str(tmp_path / "x.jsonl")
    visits = {"sites": [1], "start": FIRST, "end": "yesterday", "target": target, "now": NOW}
    reports = {**visits, "reports": ["VisitsSummary.get"]}
    async with _client(sb) as m:
        await export_visits(m, **visits)
        await export_reports(m, **reports)
        n_visits, n_reports = len(read_rows(target, "visits")), len(read_rows(target, "reports"))
        shutil.rmtree(tmp_path / "x.jsonl.parts")
        with pytest.raises(TargetError) as info:
            await export_visits(m, **visits)
        assert "`matomo export reports --period day`" in str(info.value)
        assert "--restart" not in str(info.value)
        await export_reports(m, **reports)
        await export_visits(m, **visits)
    assert len(read_rows(target, "visits")) == n_visits
    assert len(read_rows(target, "reports")) == n_reports
