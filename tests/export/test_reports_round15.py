"""`export_reports` round 15: every report the sandbox lists, a report Matomo cannot produce,
and the `reports` argument as a developer writes it."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest
from export_readers import read_rows
from export_sandbox import sandbox_client

from matomo_client import AsyncMatomo, Auth, Params, RetryPolicy
from matomo_client.export import ExportApiError, ExportUsageError, export_reports
from matomo_client.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here."""
    return "asyncio"


class _Crashing(httpx.AsyncBaseTransport):
    """The sandbox, but a bulk request asking `bad` (or any bulk, for "ALL") gets PHP's fatal
    error page with HTTP 500, as Matomo answers when one report exceeds its memory limit."""

    def __init__(self, sb: Sandbox, bad: str) -> None:
        self.inner = httpx.ASGITransport(app=sb.app)
        self.bad = bad
        self.bulks = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = unquote_plus(unquote_plus((await request.aread()).decode()))
        if "urls[" in body:
            self.bulks += 1
            if self.bad == "ALL" or f"method={self.bad}&" in body:
                page = "<html><b>Fatal error</b>: Allowed memory size exhausted</html>"
                return httpx.Response(500, text=page, headers={"content-type": "text/html"})
        return await self.inner.handle_async_request(request)


def _crashing_client(sb: Sandbox, bad: str) -> tuple[AsyncMatomo, _Crashing]:
    transport = _Crashing(sb, bad)
    m = AsyncMatomo(
        "http://sandbox.test/",
        auth=Auth.token(sb.config.token),
        http_client=httpx.AsyncClient(transport=transport),
        retry=RetryPolicy.never(),
    )
    return m, transport


async def _export(m: AsyncMatomo, target: str, **kw: Any) -> Any:
    args: dict[str, Any] = {"sites": [1], "start": "2024-03-20", "end": "2024-03-29"}
    return await export_reports(m, **{**args, **kw}, target=target, now=NOW)


async def test_a_report_matomo_fails_on_alone_skips_that_report_only(tmp_path: Path) -> None:
    """One report PHP cannot produce even alone for one day (HTTP 500 for the whole bulk)
    stopped the export of every report, and every re-run stopped there again; now that report
    is skipped with a warning, the rest is written, the days stay open, and a run once Matomo
    produces it completes them, each row once."""
    sb = Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=15, today=TODAY))
    target = str(tmp_path / "r.duckdb")
    m, _ = _crashing_client(sb, "Actions.getPageUrls")
    async with m:
        summary = await _export(m, target)
    assert summary.windows_open == 10
    assert any("Actions.getPageUrls skipped" in w for w in summary.warnings), summary.warnings
    rows = read_rows(target, "reports")
    reports = Counter(r["report"] for r in rows)
    assert reports["VisitsSummary.get"] == 10
    assert reports["Actions.getPageTitles"] > 0
    assert "Actions.getPageUrls" not in reports
    async with sandbox_client(sb) as m:
        again = await _export(m, target)
    assert again.windows_open == 0
    assert not again.warnings
    rows = read_rows(target, "reports")
    keys = Counter((r["date"], r["report"], r["report_params"], r["label"]) for r in rows)
    assert max(keys.values()) == 1
    assert Counter(r["report"] for r in rows)["Actions.getPageUrls"] > 0


async def test_matomo_failing_on_everything_still_stops_the_export(tmp_path: Path) -> None:
    """When nothing answers (Matomo down, not one report), the export stops as before, after
    a few requests, rather than skipping every report of every day."""
    sb = Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=15, today=TODAY))
    m, transport = _crashing_client(sb, "ALL")
    async with m:
        with pytest.raises(ExportApiError, match="HTTP 500"):
            await _export(m, str(tmp_path / "r.duckdb"))
    assert transport.bulks < 20


async def test_a_named_report_matomo_fails_on_is_an_error(tmp_path: Path) -> None:
    """`--report` names (strict) keep failing the export on such a report."""
    sb = Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=15, today=TODAY))
    m, _ = _crashing_client(sb, "Actions.getPageUrls")
    async with m:
        with pytest.raises(ExportApiError, match="HTTP 500"):
            await _export(
                m,
                str(tmp_path / "r.duckdb"),
                reports=["VisitsSummary.get", "Actions.getPageUrls"],
            )


async def test_one_report_given_as_a_string(tmp_path: Path) -> None:
    """`reports="VisitsSummary.get"` was read a character at a time: "invalid report 'V'"."""
    sb = Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=15, today=TODAY))
    target = str(tmp_path / "r.jsonl")
    async with sandbox_client(sb) as m:
        summary = await _export(m, target, reports="VisitsSummary.get")
    assert summary.report_rows == 10
    assert {r["report"] for r in read_rows(target, "reports")} == {"VisitsSummary.get"}


async def test_an_empty_report_list_is_refused(tmp_path: Path) -> None:
    """`reports=[]` (a filtered list that came out empty) exported every report, as None."""
    sb = Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=15, today=TODAY))
    async with sandbox_client(sb) as m:
        with pytest.raises(ExportUsageError, match="no report to export"):
            await _export(m, str(tmp_path / "r.jsonl"), reports=[])
    assert sb.request_count == 0


async def test_an_unknown_report_names_the_site_asked_and_a_close_name(tmp_path: Path) -> None:
    """The hint always said `idSite=1`, whose list has the ecommerce reports the Blog lacks;
    it names the site asked now, and a name close to the typo."""
    sb = Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=15, today=TODAY))
    async with sandbox_client(sb) as m:
        with pytest.raises(ExportUsageError, match=r"Goals\.getItemsSku: .* idSite=2`"):
            await _export(m, str(tmp_path / "a.jsonl"), sites=[2], reports=["Goals.getItemsSku"])
        with pytest.raises(ExportUsageError, match=r"did you mean VisitTime\.getByDayOfWeek\?"):
            await _export(m, str(tmp_path / "b.jsonl"), reports=["VisitTime.getByDayOfWeak"])


@pytest.mark.parametrize("period", ["day", "week"])
async def test_every_listed_report_matches_a_direct_call(tmp_path: Path, period: str) -> None:
    """Every report in API.getReportMetadata (entry/exit pages, VisitTime, devices, goal
    items...) arrives with the labels and visits a direct one-period call gives, zero rows of
    empty hours included, VisitTime.getByDayOfWeek asked one period at a time, in a handful of
    requests."""
    sb = Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=15, today=TODAY))
    target = str(tmp_path / "r.duckdb")
    async with sandbox_client(sb) as m:
        end = "2024-03-24" if period == "week" else "2024-03-29"  # weeks over before today
        summary = await _export(m, target, sites=[1, 2], period=period, end=end)
        assert not summary.warnings
        assert summary.windows_open == 0
        assert summary.requests <= 8
        got: dict[tuple[Any, ...], Counter[Any]] = {}
        for r in read_rows(target, "reports"):
            key = (r["id_site"], r["date"], r["report"], r["report_params"])
            got.setdefault(key, Counter())[(r["label"], r["nb_visits"])] += 1
        starts = sorted({k[1] for k in got})
        assert starts[0] == (date(2024, 3, 18) if period == "week" else date(2024, 3, 20))
        for id_site in (1, 2):
            for meta in await m.api.report_metadata(id_site):
                params = {str(k): str(v) for k, v in (meta.parameters or {}).items()}
                spec = "&".join(f"{k}={params[k]}" for k in sorted(params))
                method = f"{meta.module}.{meta.action}"
                for start in starts[:: 3 if period == "day" else 1]:
                    p = Params().id_site(id_site).set("period", period)
                    p = p.set("date", start.isoformat()).set("flat", 1)
                    p = p.set("filter_limit", -1).set("format_metrics", 0)
                    for k, v in params.items():
                        p = p.set(k, v)
                    direct = await m.call(method, p)
                    rows = [direct] if isinstance(direct, dict) else direct
                    want = Counter(
                        (
                            None if x.get("label") is None else str(x["label"]),
                            None if x.get("nb_visits") is None else float(x["nb_visits"]),
                        )
                        for x in rows
                    )
                    assert got.get((id_site, start, method, spec), Counter()) == want, (
                        method,
                        spec,
                        id_site,
                        start,
                    )
    days = sorted(
        r["date"] for r in read_rows(target, "reports") if r["report"] == "VisitTime.getByDayOfWeek"
    )
    assert len(set(days)) == len(starts)
    hours = [
        r for r in read_rows(target, "reports") if r["report"].startswith("VisitTime.getVisitInf")
    ]
    assert any(r["nb_visits"] == 0 for r in hours)  # hours without visits: zero rows, kept


async def test_a_custom_dimension_segment_exports_the_reports_of_its_site(tmp_path: Path) -> None:
    """Matomo offers site 1's custom dimension segments only to a request that names site 1:
    the reports' bulk requests name it, so the segment's reports are exported, and their
    visits add up to VisitsSummary's under the same segment."""
    sb = Sandbox(SandboxConfig(seed=3, days=20, visits_per_day=20, today=TODAY))
    target = str(tmp_path / "x.sqlite")
    segment = "dimension1==new"
    async with sandbox_client(sb) as m:
        summary = await _export(
            m, target, reports=["Referrers.getReferrerType"], segment=segment, period="month"
        )
        expected = await m.call(
            "VisitsSummary.get",
            Params()
            .id_site(1)
            .set("period", "month")
            .set("date", "2024-03-01")
            .set("segment", segment),
        )
    rows = read_rows(target, "reports")
    assert summary.report_rows == len(rows) > 0
    visits = sum(r["nb_visits"] for r in rows if r["date"] == date(2024, 3, 1))
    assert visits == expected["nb_visits"] > 0
    assert any(
        r.params.get("idSite") == "1" for r in sb.requests if r.method == "API.getBulkRequest"
    )
