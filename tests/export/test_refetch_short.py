"""`refetch_short`: done days Matomo now counts more visits for are fetched again (late tracking)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from export_fakeworld import FakeMatomo
from export_readers import read_rows

from matomo_client._core.http import Request, Response
from matomo_client.export import export_visits
from matomo_client.export.progress import ExportSummary
from matomo_client.transports import MockTransport, json_response, request_params

TODAY = date(2024, 3, 20)
NOW = datetime(2024, 3, 20, 12, 0, tzinfo=timezone.utc)
DAY = date(2024, 3, 17)  # a closed day of the range below
START = TODAY - timedelta(days=4)

TARGETS = ["x.duckdb", "x.sqlite", "x.jsonl", "x.csv", "x.parquet", "parts/"]


def _late_visit(world: FakeMatomo, id_site: int, day: date) -> None:
    """A visit of `day` that Matomo gets after the day was exported (queued tracking)."""
    template = world.owned(id_site, day)[3]
    ts = template["lastActionTimestamp"] + 7
    visit = {
        **template,
        "idVisit": max(v["idVisit"] for v in world.visits) + 1,
        "firstActionTimestamp": ts,
        "lastActionTimestamp": ts,
        "serverTimestamp": ts,
    }
    world.visits.append(visit)


def _ids(target: str) -> list[tuple[int, int]]:
    return sorted((int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits"))


async def _export(world: FakeMatomo, target: str, **kwargs: Any) -> ExportSummary:
    async with world.client(MockTransport(world.handle)) as m:
        return await export_visits(
            m, sites=[1, 2], start=START, end="yesterday", target=target, now=NOW, **kwargs
        )


@pytest.mark.anyio
@pytest.mark.parametrize("name", TARGETS)
async def test_a_done_day_with_late_visits_is_fetched_again_and_replaced(
    tmp_path: Path, name: str
) -> None:
    """Every target: the late visit arrives exactly once, the other days are not fetched."""
    world = FakeMatomo(TODAY, days=6)
    target = str(tmp_path / name)
    await _export(world, target)
    _late_visit(world, 1, DAY)

    plain = await _export(world, target)  # without the option: reported, not fetched
    assert [(m.id_site, m.day, m.exported, m.expected) for m in plain.mismatches] == [
        (1, DAY, 7, 8)
    ]
    assert "--refetch-short" in plain.mismatches[0].cause

    world.requests.clear()
    summary = await _export(world, target, refetch_short=True)
    live_days = {
        r["date"] for r in world.requests if r.get("method") == "Live.getLastVisitsDetails"
    }
    assert live_days == {DAY.isoformat()}
    assert summary.windows_refetched == 1
    assert summary.windows_exported == 1
    assert summary.windows_skipped == summary.windows_total - 1
    assert summary.mismatches == []
    assert summary.ok
    ids = _ids(target)
    assert len(ids) == len(set(ids))  # exactly once
    assert set(ids) == _owned_ids(world)


def _owned_ids(world: FakeMatomo) -> set[tuple[int, int]]:
    """The ids of every visit of the exported closed days."""
    days = [START + timedelta(days=i) for i in range((TODAY - START).days)]
    return {(v["idSite"], v["idVisit"]) for s in (1, 2) for d in days for v in world.owned(s, d)}


@pytest.mark.anyio
async def test_a_short_day_whose_log_gives_no_more_visits_keeps_its_rows(tmp_path: Path) -> None:
    """Raw data deleted after archiving: Matomo counts more than its log holds. Fetching the
    day again must not replace its rows by fewer, and the cause says it was tried."""
    world = FakeMatomo(TODAY, days=6)
    target = str(tmp_path / "x.duckdb")
    await _export(world, target)
    before = _ids(target)
    lost = world.owned(1, DAY)[:3]
    world.visits = [v for v in world.visits if v not in lost]  # the log lost three visits
    world.summary_offset[(1, DAY)] = 5  # and the archive counts more than it had

    summary = await _export(world, target, refetch_short=True)
    assert _ids(target) == before  # nothing lost
    assert summary.windows_refetched == 0
    assert summary.windows_kept == [(1, DAY)]
    assert summary.windows_skipped == summary.windows_total
    [mm] = summary.mismatches
    assert (mm.day, mm.exported, mm.expected) == (DAY, 7, 9)
    assert "fetched again by this run" in mm.cause
    assert "kept" in mm.cause


@pytest.mark.anyio
async def test_a_day_with_more_visits_exported_than_counted_is_not_fetched_again(
    tmp_path: Path,
) -> None:
    """An outdated archive (fewer than exported) is not a reason to fetch: nothing to gain."""
    world = FakeMatomo(TODAY, days=6)
    target = str(tmp_path / "x.jsonl")
    await _export(world, target)
    world.summary_offset[(2, DAY)] = -2
    world.requests.clear()
    summary = await _export(world, target, refetch_short=True)
    assert not [r for r in world.requests if r.get("method") == "Live.getLastVisitsDetails"]
    assert summary.windows_refetched == 0
    assert summary.windows_kept == []
    assert [(m.id_site, m.day) for m in summary.mismatches] == [(2, DAY)]


@pytest.mark.anyio
async def test_counts_that_fail_before_the_export_leave_a_warning_not_a_failure(
    tmp_path: Path,
) -> None:
    """The check needs VisitsSummary; when it fails the export goes on without it."""
    world = FakeMatomo(TODAY, days=6)
    target = str(tmp_path / "x.jsonl")
    await _export(world, target)
    _late_visit(world, 1, DAY)

    def handle(request: Request) -> Response:
        if request_params(request).get("method") == "VisitsSummary.get":
            return json_response({"result": "error", "message": "You can't access this resource"})
        return world.handle(request)

    async with world.client(MockTransport(handle)) as m:
        summary = await export_visits(
            m,
            sites=[1, 2],
            start=START,
            end="yesterday",
            target=target,
            now=NOW,
            refetch_short=True,
        )
    assert summary.windows_refetched == 0
    assert any("done days not checked" in w for w in summary.warnings)


def test_the_command_takes_refetch_short_and_reports_it_in_json(tmp_path: Path) -> None:
    """`matomo export visits --refetch-short --json` against the sandbox: no short day there,
    so nothing is fetched again, and the JSON says how many were."""
    from matomo_client.cli import cli

    out = str(tmp_path / "s.duckdb")
    today = datetime.now(timezone.utc).date()  # site 1's; two days back is closed at any hour
    args = ["export", "visits", "--sandbox", "--site", "1", "--from"]
    args += [
        (today - timedelta(days=4)).isoformat(),
        "--to",
        (today - timedelta(days=2)).isoformat(),
    ]
    args += ["--out", out, "--json"]
    runner = CliRunner()
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    again = runner.invoke(cli, [*args, "--refetch-short"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["windows_refetched"] == 0
    assert data["windows_exported"] == 0


@pytest.mark.anyio
@pytest.mark.parametrize("sites", [[1], "all"])
async def test_a_short_day_whose_visits_log_is_now_off_keeps_its_rows(
    tmp_path: Path, sites: list[int] | str
) -> None:
    """The site's visits log was turned off since: the done day cannot be fetched again. The
    export goes on as it would without `refetch_short` (it failed, or with `all` left the site
    out as if never exported), keeping the rows, with a warning."""
    world = FakeMatomo(TODAY, days=6)
    target = str(tmp_path / "x.jsonl")
    async with world.client(MockTransport(world.handle)) as m:
        await export_visits(m, sites=sites, start=START, end="yesterday", target=target, now=NOW)
    before = _ids(target)
    _late_visit(world, 1, DAY)
    world.disabled_sites.add(1)
    async with world.client(MockTransport(world.handle)) as m:
        summary = await export_visits(
            m, sites=sites, start=START, end="yesterday", target=target, now=NOW,
            refetch_short=True,
        )  # fmt: skip
    assert _ids(target) == before
    assert summary.windows_refetched == 0
    assert summary.windows_kept == []
    assert summary.windows_skipped == summary.windows_total
    assert not [w for w in summary.warnings if "left out" in w]
    assert [w for w in summary.warnings if "not fetched again" in w]
    [mm] = summary.mismatches
    assert (mm.id_site, mm.day) == (1, DAY)
    assert "fetched again by this run" not in mm.cause
