"""Option combinations: concurrency, workers and page size never change the visits exported.

An export stopped part way and resumed with other --concurrency/--workers/--page-size (they do
not change the data) holds every visit exactly once; sites named twice or without data too.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client as _client

from matomo_client.export import export_visits
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
FIRST = TODAY - timedelta(days=6)
LAST = TODAY - timedelta(days=1)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


class _Stop(Exception):
    """Stands for Ctrl-C part way through an export."""


def _truth(sb: Sandbox, sites: set[int]) -> set[tuple[int, int]]:
    days = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    return {(s, v.id_visit) for s in sites for d in days for v in sb.world.day_visits(s, d)}


def _got(target: str) -> list[tuple[int, int]]:
    return [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]


@pytest.mark.parametrize(
    ("concurrency", "workers", "page_size"),
    [(1, 0, 1), (2, 1, 7), (8, 3, 100), (64, 0, 100_000)],
)
async def test_every_combination_exports_each_visit_once(
    tmp_path: Path, concurrency: int, workers: int, page_size: int
) -> None:
    """Page sizes from 1 to far above a day's visits, 1 to 64 requests, 0 to 3 workers."""
    sb = Sandbox(SandboxConfig(seed=5, days=8, visits_per_day=12, today=TODAY))
    target = str(tmp_path / "x.jsonl")
    async with _client(sb) as m:
        summary = await export_visits(
            m,
            sites=[1, 1, 3],
            start=FIRST,
            end=LAST,
            target=target,
            concurrency=concurrency,
            workers=workers,
            page_size=page_size,
            now=NOW,
        )
    got = _got(target)
    assert len(got) == len(set(got))
    assert set(got) == _truth(sb, {1, 3})
    assert summary.visits == len(got)


async def test_a_stopped_export_resumed_with_other_options_has_each_visit_once(
    tmp_path: Path,
) -> None:
    """Stopped after some windows, then resumed with other concurrency, workers and page size."""
    sb = Sandbox(SandboxConfig(seed=6, days=8, visits_per_day=20, today=TODAY))
    target = str(tmp_path / "x.jsonl")
    seen: list[str] = []

    def stop_after_a_few(event: object) -> None:
        seen.append(repr(event))
        if len(seen) == 6:
            raise _Stop

    async with _client(sb) as m:
        with pytest.raises(_Stop):
            await export_visits(
                m,
                sites="all",
                start=FIRST,
                end=LAST,
                target=target,
                concurrency=1,
                workers=0,
                page_size=3,
                now=NOW,
                progress=stop_after_a_few,
            )
        resumed = await export_visits(
            m,
            sites="all",
            start=FIRST,
            end=LAST,
            target=target,
            concurrency=8,
            workers=2,
            page_size=100_000,
            now=NOW,
        )
    assert 0 < resumed.windows_skipped < resumed.windows_total  # it did stop part way
    got = _got(target)
    assert len(got) == len(set(got))
    assert set(got) == _truth(sb, set(sb.world.sites))
