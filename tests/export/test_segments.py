"""Segments end to end: the export's segment reaches every request, picks the visits a filter
over the unsegmented visits picks, and is part of the job's options."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client as _client

from matomo_client.export import (
    ExportApiError,
    StateMismatchError,
    export_reports,
    export_visits,
)
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 5, 15)
NOW = datetime(2024, 5, 15, 12, 0, tzinfo=timezone.utc)
FIRST = TODAY - timedelta(days=4)
DAYS = [FIRST + timedelta(days=i) for i in range(4)]


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


def _sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(seed=5, days=8, visits_per_day=30, today=TODAY))


SEGMENTS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("referrerType==search;browserCode==CH",
     lambda v: v["referrerType"] == "search" and v["browserCode"] == "CH"),
    # as copied from a Matomo URL: Matomo reads it decoded
    ("referrerType%3D%3Dsearch%3BbrowserCode%3D%3DCH",
     lambda v: v["referrerType"] == "search" and v["browserCode"] == "CH"),
    ("visitorType==returning,visitorType==returningCustomer", lambda v: v["visitorType"] != "new"),
    ("deviceType==tablet;countryCode!=de", lambda v: v["deviceType"] == "Tablet"
     and v["countryCode"] != "de"),
]  # fmt: skip


@pytest.mark.parametrize(("segment", "keep"), SEGMENTS, ids=[s for s, _ in SEGMENTS])
async def test_a_segmented_visits_export_holds_the_segments_visits(
    tmp_path: Path, segment: str, keep: Callable[[dict[str, Any]], bool]
) -> None:
    """The exported visits are those a filter over every visit picks; every Live and
    VisitsSummary request carries the segment as given, so the reconciliation is clean."""
    sb = _sandbox()
    target = str(tmp_path / "v.jsonl")
    async with _client(sb) as m:
        summary = await export_visits(
            m, sites="all", start=FIRST, end="yesterday", target=target, page_size=5, now=NOW,
            segment=segment,
        )  # fmt: skip
    expected = {
        (s, v["idVisit"]) for s in sb.world.sites for d in DAYS for v in sb.world.visits(s, d)
        if keep(v)
    }  # fmt: skip
    got = [(int(r["id_site"]), int(r["id_visit"])) for r in read_rows(target, "visits")]
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert expected
    asked = [
        r for r in sb.requests if r.method in ("Live.getLastVisitsDetails", "VisitsSummary.get")
    ]
    assert {r.method for r in asked} == {"Live.getLastVisitsDetails", "VisitsSummary.get"}
    assert all(r.params.get("segment") == segment for r in asked)
    assert summary.mismatches == []
    assert summary.reconciled


async def test_every_report_of_a_segmented_reports_export_carries_the_segment(
    tmp_path: Path,
) -> None:
    """Each bulk sub-request holds the segment; VisitsSummary rows equal the segment's visits."""
    sb = _sandbox()
    target = str(tmp_path / "r.jsonl")
    segment = "referrerName==spring+sale,referrerKeyword==laufschuhe+g%C3%BCnstig"
    reports = ["VisitsSummary.get", "Referrers.getReferrerType", "Actions.getPageUrls"]
    async with _client(sb) as m:
        await export_reports(
            m, sites=[1], start=FIRST, end="yesterday", target=target, now=NOW,
            reports=reports, segment=segment,
        )  # fmt: skip
    bulks = [r for r in sb.requests if r.method == "API.getBulkRequest"]
    subs = [dict(parse_qsl(v)) for r in bulks for k, v in r.params.items() if k.startswith("urls[")]
    assert sorted(s["method"] for s in subs) == sorted(reports)
    assert all(s.get("segment") == segment for s in subs)
    rows = read_rows(target, "reports")
    by_day = {str(r["date"])[:10]: r["nb_visits"] for r in rows if r["report"] == reports[0]}
    for d in DAYS:
        n = sum(
            1
            for v in sb.world.visits(1, d)
            if v["referrerName"] == "spring sale" or v["referrerKeyword"] == "laufschuhe günstig"
        )
        assert by_day.get(d.isoformat(), 0) == n


async def test_a_segment_matching_nothing_exports_nothing_and_records_its_windows(
    tmp_path: Path,
) -> None:
    """No visit, no error, every window done: the next run asks Live nothing."""
    sb = _sandbox()
    target = str(tmp_path / "v.jsonl")
    async with _client(sb) as m:

        async def export() -> Any:
            return await export_visits(
                m, sites="all", start=FIRST, end="yesterday", target=target, now=NOW,
                segment="countryCode==zz",
            )  # fmt: skip

        first = await export()
        assert read_rows(target, "visits") == []
        assert first.mismatches == []
        asked = len([r for r in sb.requests if r.method == "Live.getLastVisitsDetails"])
        assert asked >= len(DAYS)
        await export()
    assert len([r for r in sb.requests if r.method == "Live.getLastVisitsDetails"]) == asked


async def test_resuming_with_another_segment_is_refused(tmp_path: Path) -> None:
    """Another segment, or none, is another job; the same segment resumes it."""
    sb = _sandbox()
    target = str(tmp_path / "v.jsonl")
    async with _client(sb) as m:

        async def export(segment: str | None) -> Any:
            return await export_visits(
                m, sites=[1], start=FIRST, end="yesterday", target=target, now=NOW,
                segment=segment,
            )  # fmt: skip

        await export("browserCode==FF")
        for other in ("browserCode==CH", None, "browserCode==FF;browserCode==FF"):
            with pytest.raises(StateMismatchError, match="segment"):
                await export(other)
        await export("browserCode==FF")


async def test_an_invalid_segment_is_matomos_error_and_records_nothing(tmp_path: Path) -> None:
    """Matomo's text for an unknown dimension; no window done, so a fixed segment starts over."""
    sb = _sandbox()
    target = str(tmp_path / "v.jsonl")
    async with _client(sb) as m:
        with pytest.raises(ExportApiError, match="Segment 'notADimension' is not a supported"):
            await export_visits(
                m, sites=[1], start=FIRST, end="yesterday", target=target, now=NOW,
                segment="notADimension==1",
            )  # fmt: skip
        await export_visits(
            m, sites=[1], start=FIRST, end="yesterday", target=target, now=NOW,
            segment="browserCode==FF",
        )  # fmt: skip
    assert read_rows(target, "visits")


async def test_a_reports_own_segment_does_not_replace_the_exports(tmp_path: Path) -> None:
    """`--report 'M?segment=...'` with `--segment` would export one segment's rows under the
    other's name in the job: it is refused, as idSite= or period= are."""
    from matomo_client.export import ExportUsageError

    sb = _sandbox()
    async with _client(sb) as m:
        with pytest.raises(ExportUsageError, match="segment"):
            await export_reports(
                m, sites=[1], start=FIRST, end="yesterday", target=str(tmp_path / "r.jsonl"),
                now=NOW, reports=["Referrers.getReferrerType?segment=deviceType==tablet"],
                segment="countryCode==zz",
            )  # fmt: skip


@pytest.mark.parametrize("job", ["visits", "reports"])
async def test_a_segment_longer_than_matomo_reads_is_refused_up_front(
    job: str, tmp_path: Path
) -> None:
    """Matomo reads only the first 8,192 bytes of a segment (and would apply a shorter one): an
    export with a longer one is refused before anything is asked or created."""
    from matomo_client import Params
    from matomo_client.export import ExportUsageError, export_visits

    long_or = ",".join(f"userId==user-{i:05d}" for i in range(500))  # 9,499 bytes
    fits = long_or[: long_or.rindex(",", 0, 8192)]
    assert len(Params().segment(fits).get("segment") or "") <= 8192
    with pytest.raises(ValueError, match="segment too long"):
        Params().segment(long_or)
    sb = _sandbox()
    target = tmp_path / "x.duckdb"
    export = export_visits if job == "visits" else export_reports
    async with _client(sb) as m:
        with pytest.raises(ExportUsageError, match="--segment: segment too long"):
            await export(m, sites=[1], start=FIRST, end="yesterday", target=str(target),
                         now=NOW, segment=long_or)  # fmt: skip
    assert not target.exists()
    assert sb.request_count == 0
