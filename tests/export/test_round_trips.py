"""Round trips of a visits export: closed windows end on a short page, open ones on an empty one."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from export_sandbox import sandbox_client as _client

from matomo_client.export import export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
LIVE = "Live.getLastVisitsDetails"


@pytest.fixture
def anyio_backend() -> str:
    """Request counting does not depend on the backend."""
    return "asyncio"


def _live_requests(sb: Sandbox) -> list[dict[str, str]]:
    return [r.params for r in sb.requests if r.method == LIVE]


async def test_closed_windows_need_no_terminator_page(tmp_path: Path) -> None:
    """A closed day smaller than a page costs one Live request, and no visit is lost."""
    sb = Sandbox(SandboxConfig(seed=5, days=5, visits_per_day=20, today=TODAY))
    first, last = TODAY - timedelta(days=3), TODAY - timedelta(days=1)
    now = datetime(2024, 5, 15, 12, tzinfo=timezone.utc)
    async with _client(sb) as m:
        summary = await export_visits(
            m, sites=[1, 2], start=first, end=last, target=str(tmp_path / "x.jsonl"), now=now
        )
    per_window = Counter((r["idSite"], r["date"]) for r in _live_requests(sb))
    assert set(per_window.values()) == {1}
    assert len(per_window) == 6
    expected = sum(
        len(sb.world.day_visits(s, first + timedelta(days=i))) for s in (1, 2) for i in range(3)
    )
    assert summary.visits == expected
    assert not summary.mismatches


async def test_closed_windows_page_on_until_a_short_page(tmp_path: Path) -> None:
    """A closed day larger than a page is read page by page up to the first short page."""
    sb = Sandbox(SandboxConfig(seed=5, days=3, visits_per_day=30, today=TODAY))
    day = TODAY - timedelta(days=1)
    now = datetime(2024, 5, 15, 12, tzinfo=timezone.utc)
    async with _client(sb) as m:
        summary = await export_visits(
            m, sites=[1], start=day, end=day, target=str(tmp_path / "x.jsonl"), page_size=7, now=now
        )
    n = len(sb.world.day_visits(1, day))
    assert summary.visits == n
    assert len(_live_requests(sb)) == n // 7 + 1


async def test_open_window_still_ends_on_an_empty_page(tmp_path: Path) -> None:
    """Today is not closed: a short page is not the end, only an empty page is."""
    sb = Sandbox(SandboxConfig(seed=5, days=3, visits_per_day=20, today=TODAY))
    now = datetime(2024, 5, 15, 23, 59, tzinfo=timezone.utc)
    async with _client(sb) as m:
        await export_visits(
            m, sites=[1], start=TODAY, end=TODAY, target=str(tmp_path / "x.jsonl"), now=now
        )
    pages = _live_requests(sb)
    assert len(pages) == 2
    assert pages[-1].get("minTimestamp")


async def test_sql_sink_takes_waiting_windows_in_one_transaction(tmp_path: Path) -> None:
    """Windows finished while the writer is busy share one transaction, and all land once."""
    import time

    from matomo_client.export import open_target

    sb = Sandbox(SandboxConfig(seed=5, days=8, visits_per_day=20, today=TODAY))
    first, last = TODAY - timedelta(days=6), TODAY - timedelta(days=1)
    now = datetime(2024, 5, 15, 12, tzinfo=timezone.utc)
    sink = open_target(str(tmp_path / "x.duckdb"))
    calls: list[int] = []
    write = sink.write_window

    def slow_write(kind: str, records: Any, batches: Any) -> None:
        calls.append(len(records))
        time.sleep(0.2)  # a slow commit: the other windows finish meanwhile
        write(kind, records, batches)

    sink.write_window = slow_write  # type: ignore[method-assign]
    async with _client(sb) as m:
        summary = await export_visits(m, sites=[1], start=first, end=last, target=sink, now=now)
    assert sum(calls) == 6
    assert len(calls) < 6
    assert summary.visits == sum(
        len(sb.world.day_visits(1, first + timedelta(days=i))) for i in range(6)
    )
    assert not summary.mismatches
