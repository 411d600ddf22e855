"""Reconciliation causes in the situations real Matomo servers produce (QA round 9)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from export_fakeworld import FakeMatomo

from matomo_client._core.http import Request, Response
from matomo_client.export import export_visits
from matomo_client.export.reconcile import compare
from matomo_client.export.state import DONE, OPEN, WindowRecord
from matomo_client.transports import MockTransport, json_response, request_params

TODAY = date(2024, 3, 20)
NOW = datetime(2024, 3, 20, 12, 0, tzinfo=timezone.utc)
DAY = date(2024, 3, 15)


def _rec(day: date, visits: int, status: str = DONE) -> WindowRecord:
    return WindowRecord("visits", 1, day, status, visits=visits, actions=visits)


def _causes(
    records: list[WindowRecord], counts: dict[date, int], segment: str | None = None
) -> dict[date, str]:
    return {m.day: m.cause for m in compare(records, counts, segment)[1]}


@pytest.mark.anyio
async def test_a_segment_matomo_has_not_archived_is_named_as_the_cause(tmp_path: Path) -> None:
    """With browser archiving off, Matomo answers `[]` for a pre-processed segment core:archive
    has not processed: the cause names the segment, not archiving that has not run at all."""
    world = FakeMatomo(TODAY)

    def handle(request: Request) -> Response:
        p = request_params(request)
        if p.get("method") == "VisitsSummary.get" and p.get("segment"):
            a, b = (date.fromisoformat(x) for x in p["date"].split(","))
            return json_response(
                {(a + timedelta(days=i)).isoformat(): [] for i in range((b - a).days + 1)}
            )
        return world.handle(request)

    async with world.client(MockTransport(handle)) as m:
        summary = await export_visits(
            m,
            sites=[1],
            start=TODAY - timedelta(days=3),
            end="yesterday",
            segment="visitorType==new",
            target=str(tmp_path / "x.jsonl"),
            now=NOW,
        )
    assert len(summary.mismatches) == 3
    for mm in summary.mismatches:
        assert mm.expected == 0
        assert mm.exported > 0
        assert "no archive of this segment" in mm.cause
        assert "pre-processed" in mm.cause


def test_without_a_segment_a_day_without_archive_still_says_archiving_has_not_run() -> None:
    """The segment's cause is only for segments: all visits keep the core:archive cause."""
    causes = _causes([_rec(DAY, 5)], {})
    assert causes[DAY].startswith("no archive for this day")


def test_neighbouring_days_over_and_under_point_at_a_timezone_change() -> None:
    """Matomo keeps past archives in the timezone they were made in: after a timezone change,
    one day has more visits than Matomo counts and the next fewer. The cause says so, instead
    of "archive outdated" on one day and "raw data deleted" on the next."""
    days = [DAY + timedelta(days=i) for i in range(4)]
    records = [_rec(days[0], 10), _rec(days[1], 20), _rec(days[2], 17), _rec(days[3], 18)]
    counts = {days[0]: 10, days[1]: 10, days[2]: 19, days[3]: 17}
    causes = _causes(records, counts)
    assert sorted(causes) == days[1:]
    for day in days[1:]:
        assert "timezone" in causes[day]


def test_one_sided_differences_keep_their_own_causes() -> None:
    """Days that all differ the same way (an archive lagging behind, raw data deleted), a day
    without an archive next to one with fewer visits, and an open day are not called shifted."""
    days = [DAY + timedelta(days=i) for i in range(4)]
    lagging = _causes([_rec(d, 10) for d in days], dict.fromkeys(days, 8))
    assert all("outdated" in c for c in lagging.values())
    unarchived = _causes([_rec(days[0], 10), _rec(days[1], 5)], {days[0]: 12})
    assert "no longer holds" in unarchived[days[0]]
    assert unarchived[days[1]].startswith("no archive for this day")
    today = _causes([_rec(days[0], 10), _rec(days[1], 5, OPEN)], {days[0]: 12, days[1]: 3})
    assert "no longer holds" in today[days[0]]
    assert "not over" in today[days[1]]


def test_fewer_visits_than_matomo_counts_says_how_to_get_them() -> None:
    """A done day is fetched again only with `refetch_short`: when Matomo counts more visits
    (some tracked late, say), the cause says that and how to fetch the day again."""
    cause = _causes([_rec(DAY, 10)], {DAY: 12})[DAY]
    assert "tracked late" in cause
    assert "--refetch-short" in cause


@pytest.mark.anyio
async def test_a_site_whose_counts_failed_is_not_called_reconciled(tmp_path: Path) -> None:
    """Matomo refusing one site's VisitsSummary request: the summary no longer says every window
    matches (reconciled, ok) beside the warning; it names the site left out."""
    world = FakeMatomo(TODAY)

    def handle(request: Request) -> Response:
        p = request_params(request)
        if p.get("method") == "VisitsSummary.get" and p.get("idSite") == "1":
            return json_response({"result": "error", "message": "Mysql server has gone away"})
        return world.handle(request)

    async with world.client(MockTransport(handle)) as m:
        summary = await export_visits(
            m,
            sites="all",
            start=TODAY - timedelta(days=2),
            end="yesterday",
            target=str(tmp_path / "x.jsonl"),
            now=NOW,
        )
    assert summary.visits > 0
    assert summary.not_reconciled == [1]
    assert not summary.reconciled
    assert not summary.ok
    assert not any("every window matches" in line for line in summary.lines())
    assert any("site 1: not reconciled" in w for w in summary.warnings)
