"""A site whose timezone changed between two runs of one visits export: its days start at other
hours, so resuming would write visits near midnight twice. The run is refused, saying why;
a site added to `--site all` is not such a change."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client

from matomo_client.export import ExportUsageError, export_visits
from matomo_client.export import run as run_module
from matomo_client.export.sites import SiteInfo
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


async def _export(sb: Sandbox, target: str, restart: bool = False) -> int:
    async with sandbox_client(sb) as m:
        summary = await export_visits(
            m, sites="all", start="2024-05-10", end="2024-05-14", target=target,
            workers=0, now=NOW, restart=restart,
        )  # fmt: skip
    return summary.visits


def _sites_as(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    real = run_module.visible_sites

    async def visible(client: Any) -> dict[int, SiteInfo]:
        return change(await real(client))

    monkeypatch.setattr(run_module, "visible_sites", visible)


async def test_a_site_whose_timezone_changed_is_refused_with_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Site 2 moves from Europe/Berlin to UTC after a first run: resuming would have written
    the visits of Berlin's first hours (23:00-24:00 UTC the day before) twice into JSONL."""
    sb = Sandbox(SandboxConfig(seed=7, days=8, visits_per_day=30, today=TODAY))
    target = str(tmp_path / "x.jsonl")
    first = await _export(sb, target)
    _sites_as(monkeypatch, lambda by_id: {**by_id, 2: SiteInfo(2, "UTC")})
    with pytest.raises(
        ExportUsageError, match="site 2's timezone changed from Europe/Berlin to UTC"
    ):
        await _export(sb, target)
    rows = read_rows(target, "visits")
    assert len(rows) == first  # nothing written by the refused run
    again = await _export(sb, target, restart=True)  # the way out it names
    ids = [(r["id_site"], r["id_visit"]) for r in read_rows(target, "visits")]
    assert len(ids) == len(set(ids)) == again


async def test_a_site_added_to_all_is_not_a_timezone_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daily `--site all` run resumes when a new site appears (its timezone is recorded)."""
    sb = Sandbox(SandboxConfig(seed=7, days=8, visits_per_day=30, today=TODAY))
    target = str(tmp_path / "x.jsonl")
    _sites_as(monkeypatch, lambda by_id: {k: v for k, v in by_id.items() if k != 2})
    await _export(sb, target)
    monkeypatch.undo()
    await _export(sb, target)
    ids = [(r["id_site"], r["id_visit"]) for r in read_rows(target, "visits")]
    assert len(ids) == len(set(ids))
    assert {s for s, _ in ids} >= {1, 2}
