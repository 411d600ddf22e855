"""Sites as they change over time: a site list the token cannot see, an empty one, sites that
leave `--site all` between runs (and come back with another timezone)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import export_fakeworld
import pytest
from export_fakeworld import FakeMatomo
from export_readers import read_rows

from matomo_client.export import ExportSummary, ExportUsageError, export_reports, export_visits

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
SITES = list(export_fakeworld.SITES)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


async def _visits(world: FakeMatomo, target: Path, sites: Any = "all", **kw: Any) -> ExportSummary:
    async with world.client() as m:
        return await export_visits(
            m, sites=sites, start="2024-05-10", end="yesterday", target=str(target),
            workers=0, **{"now": NOW, **kw},
        )  # fmt: skip


async def test_thousands_of_unknown_sites_make_a_short_error(tmp_path: Path) -> None:
    """20,000 ids the token cannot see: the error names 20 of them and counts the rest (it was
    one line of 129 KB), and says "sites ... do not exist"."""
    world = FakeMatomo(today=TODAY)
    with pytest.raises(ExportUsageError) as info:
        await _visits(world, tmp_path / "x.jsonl", sites=list(range(4, 20004)))
    message = str(info.value)
    assert len(message) < 300, message
    assert message.startswith("sites 4, 5, 6,")
    assert "and 19,980 more do not exist or this token cannot view them" in message
    assert "(visible sites: 1, 2, 3)" in message


@pytest.mark.parametrize("sites", [[], (), "", " , "])
async def test_no_site_at_all_is_refused_before_any_request(tmp_path: Path, sites: Any) -> None:
    """An empty site list (a list built from an empty setting) exported nothing and warned
    that the range lies after today: it is refused, naming the problem."""
    world = FakeMatomo(today=TODAY)
    with pytest.raises(ExportUsageError, match="no site to export"):
        await _visits(world, tmp_path / "x.jsonl", sites=sites)
    with pytest.raises(ExportUsageError, match="no site to export"):
        async with world.client() as m:
            await export_reports(m, sites=sites, target=str(tmp_path / "r.jsonl"), now=NOW)
    assert world.requests == []


async def test_a_site_gone_from_all_is_named_in_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sites 2 and 3 deleted (or their access removed) after a first `--site all` run: the
    next runs say so instead of leaving them out of the summary without a word."""
    world = FakeMatomo(today=TODAY)
    target = tmp_path / "v.sqlite"
    first = await _visits(world, target)
    assert first.sites == [1, 2, 3]
    assert first.warnings == []
    monkeypatch.setattr(export_fakeworld, "SITES", SITES[:1])
    again = await _visits(world, target)
    assert again.sites == [1]
    assert again.warnings == [
        "sites 2, 3: exported by an earlier run, not visible to this token now (deleted, or "
        "view access removed): left as exported, not updated"
    ]
    async with world.client() as m:
        kw: dict[str, Any] = {"start": "2024-05-10", "end": "yesterday", "now": NOW}
        monkeypatch.setattr(export_fakeworld, "SITES", SITES)
        await export_reports(m, sites="all", target=str(target), **kw)
        monkeypatch.setattr(export_fakeworld, "SITES", [SITES[0], SITES[2]])
        reports = await export_reports(m, sites="all", target=str(target), **kw)
    assert reports.warnings == [
        "site 2: exported by an earlier run, not visible to this token now (deleted, or view "
        "access removed): left as exported, not updated"
    ]


async def test_a_site_back_in_all_with_another_timezone_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Site 1 (UTC) left out of `--site all` for a run, then back as Europe/Berlin: the run
    without it recorded no timezone for it, so the change went unseen and the visits of
    Berlin's first hours were written twice into JSONL. It is refused as a direct change is."""
    world = FakeMatomo(today=TODAY, days=6, per_day=40)
    target = tmp_path / "v.jsonl"
    await _visits(world, target, now=datetime(2024, 5, 13, 12, tzinfo=timezone.utc))
    monkeypatch.setattr(export_fakeworld, "SITES", SITES[1:])
    await _visits(world, target, now=datetime(2024, 5, 14, 12, tzinfo=timezone.utc))
    monkeypatch.setattr(export_fakeworld, "SITES", [(1, "Shop", "Europe/Berlin"), *SITES[1:]])
    with pytest.raises(ExportUsageError, match="site 1's timezone changed from UTC to Europe"):
        await _visits(world, target)
    ids = [(r["id_site"], r["id_visit"]) for r in read_rows(str(target), "visits")]
    assert len(ids) == len(set(ids))
