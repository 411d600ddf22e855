"""`restart` deletes what the target holds: not before Matomo has taken the run's segment and
Live, so a typo in `--segment --restart` loses nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from export_sandbox import sandbox_client as _client

from matomo_client.export import ExportApiError, export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
FIRST = TODAY - timedelta(days=3)
LAST = TODAY - timedelta(days=1)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough: the probe is one ordinary call."""
    return "asyncio"


def _count(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM visits").fetchone()
    assert row is not None
    return int(row[0])


async def test_a_bad_segment_with_restart_deletes_nothing(tmp_path: Path) -> None:
    """The segment is refused before the target is cleared: every visit stays."""
    sb = Sandbox(SandboxConfig(seed=3, days=6, visits_per_day=20, today=TODAY))
    target = tmp_path / "x.duckdb"
    async with _client(sb) as m:
        done = await export_visits(m, sites=[1], start=FIRST, end=LAST, target=str(target), now=NOW)
    assert done.visits > 0
    assert _count(target) == done.visits
    async with _client(sb) as m:
        with pytest.raises(ExportApiError, match="segment") as caught:
            await export_visits(
                m,
                sites=[1],
                start=FIRST,
                end=LAST,
                target=str(target),
                segment="countryCode",  # no operator: Matomo refuses it
                restart=True,
                now=NOW,
            )
    assert "site 1" in str(caught.value)
    assert _count(target) == done.visits  # nothing deleted


async def test_restart_with_a_good_segment_still_starts_over(tmp_path: Path) -> None:
    """The probe is one request; the restart then replaces the target's visits."""
    sb = Sandbox(SandboxConfig(seed=3, days=6, visits_per_day=20, today=TODAY))
    target = tmp_path / "x.duckdb"
    async with _client(sb) as m:
        await export_visits(m, sites=[1], start=FIRST, end=LAST, target=str(target), now=NOW)
    async with _client(sb) as m:
        again = await export_visits(
            m,
            sites=[1],
            start=FIRST,
            end=LAST,
            target=str(target),
            segment="visitorType==new",
            restart=True,
            now=NOW,
        )
    assert _count(target) == again.visits


async def test_a_bad_segment_with_restart_keeps_the_reports(tmp_path: Path) -> None:
    """The reports export checks the segment the same way before deleting anything."""
    from matomo_client.export import export_reports

    sb = Sandbox(SandboxConfig(seed=3, days=6, visits_per_day=20, today=TODAY))
    target = tmp_path / "r.duckdb"
    async with _client(sb) as m:
        await export_reports(
            m, sites=[1], start=FIRST, end=LAST, reports=["VisitsSummary.get"], target=str(target)
        )
    with duckdb.connect(str(target), read_only=True) as con:
        before = con.execute("SELECT count(*) FROM reports").fetchone()
    assert before is not None
    assert before[0] > 0
    async with _client(sb) as m:
        with pytest.raises(ExportApiError, match="segment"):
            await export_reports(
                m,
                sites=[1],
                start=FIRST,
                end=LAST,
                reports=["VisitsSummary.get"],
                target=str(target),
                segment="countryCode",
                restart=True,
            )
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM reports").fetchone() == before
