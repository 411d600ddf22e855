"""Reconciliation of many sites in few requests: the sites' `VisitsSummary.get` requests go in
`API.getBulkRequest`s of at most `BULK_ITEMS`, one per request slot of the client, each site
keeping its own day range, mismatches and failures as when every site had its own request."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
import pytest
from export_fakeworld import FakeMatomo

from matomo_client import AsyncMatomo, Auth, Params
from matomo_client._core.http import Request, Response
from matomo_client.export import ExportSummary, export_visits
from matomo_client.export.reconcile import BULK_ITEMS, fetch_counts_of_sites
from matomo_client.sandbox import Sandbox, SandboxConfig
from matomo_client.transports import MockTransport, json_response, request_params

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
START = TODAY - timedelta(days=4)
# sites 1 and 2 as the fake world draws their visits; the others have none of their own
ZONES = ["UTC", "Europe/Berlin", "Pacific/Kiritimati", "America/Los_Angeles"]
BROKEN = 7  # its count request fails: Matomo answers an error
ODD = 11  # its count is no count: a decode error


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


class _ManySites(FakeMatomo):
    """The fake world with `n` sites in four timezones, some created inside the export range,
    one whose count request fails and one answered with a count that is not one."""

    def __init__(self, n: int, **kw: Any) -> None:
        self.n = n
        self.too_slow_once: set[int] = set()  # sites whose first count answer is "too slow"
        super().__init__(TODAY, **kw)

    def _tz(self, id_site: int) -> Any:
        zone = ZONES[(id_site - 1) % len(ZONES)]
        return timezone.utc if zone == "UTC" else ZoneInfo(zone)

    def _answer(self, method: str, p: dict[str, str]) -> Any:
        if method == "SitesManager.getSitesWithAtLeastViewAccess":
            return [
                {
                    "idsite": str(i),
                    "name": f"Site {i}",
                    "timezone": ZONES[(i - 1) % len(ZONES)],
                    # every fifth site created inside the range: its days start later
                    "ts_created": "2024-03-29 10:00:00" if i % 5 == 0 else "2020-01-01 00:00:00",
                }
                for i in range(1, self.n + 1)
            ]
        if method == "VisitsSummary.get":
            id_site = int(p["idSite"])
            if id_site == BROKEN:
                return {"result": "error", "message": "archiving is broken"}
            if id_site == ODD:
                return {p["date"].split(",")[0]: {"nb_visits": "many"}}
            if id_site in self.too_slow_once:
                self.too_slow_once.discard(id_site)
                return {"result": "error", "message": "Could not run the query in time."}
        return super()._answer(method, p)


class _Counted:
    """The world's answers, with every request's outer method and each bulk's sub-requests."""

    def __init__(self, world: FakeMatomo, fail_bulk: bool = False) -> None:
        self.world, self.fail_bulk = world, fail_bulk
        self.methods: list[str] = []
        self.bulks: list[list[dict[str, str]]] = []
        self.alone: list[dict[str, str]] = []

    def __call__(self, request: Request) -> Response:
        p = request_params(request)
        self.methods.append(p.get("method", ""))
        if p.get("method") == "API.getBulkRequest":
            form = dict(parse_qsl(request.body.decode()))
            subs = [
                dict(parse_qsl(form[f"urls[{i}]"]))
                for i in range(len(form))
                if f"urls[{i}]" in form
            ]
            self.bulks.append(subs)
            if self.fail_bulk:
                return Response(500, {"content-type": "text/html"}, b"<html>Server Error</html>")
        elif p.get("method") == "VisitsSummary.get":
            self.alone.append(p)
        return self.world.handle(request)

    def count_requests(self) -> int:
        """The requests that asked Matomo for counts (bulk or alone)."""
        return len(self.bulks) + len(self.alone)

    def asked(self) -> list[tuple[str, str]]:
        """(idSite, date) of every VisitsSummary request, sorted."""
        subs = [s for b in self.bulks for s in b] + self.alone
        return sorted((s["idSite"], s["date"]) for s in subs if s["method"] == "VisitsSummary.get")


def _client(transport: Callable[[Request], Response], max_concurrency: int = 8) -> AsyncMatomo:
    return AsyncMatomo(
        "https://matomo.test/",
        auth=Auth.token("fake-token-123"),
        transport=MockTransport(transport),
        skip_preflight=True,
        max_concurrency=max_concurrency,
    )


def _offsets() -> dict[tuple[int, date], int]:
    """Days where Matomo counts other than the visits exported (mismatches to find)."""
    day = START + timedelta(days=1)
    return {(1, day): 1, (2, day): -2, (57, day): 3, (118, day + timedelta(days=1)): 1}


async def _export(tmp_path: Path, name: str, transport: _Counted, lanes: int) -> ExportSummary:
    async with _client(transport, lanes) as m:
        return await export_visits(
            m, sites="all", start=START, end="yesterday", target=str(tmp_path / name), now=NOW
        )


def _outcome(s: ExportSummary) -> tuple[Any, ...]:
    return (
        [(x.id_site, x.day, x.exported, x.expected, x.cause) for x in s.mismatches],
        s.warnings,
        s.not_reconciled,
        s.reconciled,
    )


async def test_many_sites_are_reconciled_in_few_bulk_requests(tmp_path: Path) -> None:
    """120 sites: one bulk request per request slot (8 by default), none alone, where every
    site had a request of its own; each site still asks for its own days, and the mismatches,
    the failing site's warning and the undecodable site's are those of one request a site."""
    bulk = _Counted(_ManySites(120, summary_offset=_offsets()))
    got = await _export(tmp_path, "bulk.duckdb", bulk, 8)
    assert bulk.count_requests() == 8 < 120
    assert not bulk.alone
    assert all(len(b) <= BULK_ITEMS for b in bulk.bulks)
    # the same export with a request slot per site: one request a site, as before
    alone = _Counted(_ManySites(120, summary_offset=_offsets()))
    reference = await _export(tmp_path, "alone.duckdb", alone, 200)
    assert not alone.bulks
    assert len(alone.alone) == 120
    assert bulk.asked() == alone.asked()
    assert len({d for _, d in bulk.asked()}) > 1  # timezones and creation dates differ
    assert _outcome(got) == _outcome(reference)
    assert [(x.id_site, x.day) for x in got.mismatches] == [
        (1, START + timedelta(days=1)),
        (2, START + timedelta(days=1)),
        (57, START + timedelta(days=1)),
        (118, START + timedelta(days=2)),
    ]
    assert got.not_reconciled == [BROKEN, ODD]
    assert got.warnings[0] == f"site {BROKEN}: not reconciled (archiving is broken)"
    assert got.warnings[1].startswith(f"site {ODD}: not reconciled (Unexpected response shape")
    assert "is not a count: 'many'" in got.warnings[1]


@pytest.mark.parametrize(("sites", "lanes"), [(120, 1), (120, 2), (300, 2), (51, 1)])
async def test_sites_take_one_request_per_fifty(tmp_path: Path, sites: int, lanes: int) -> None:
    """With few request slots, n sites take ceil(n / 50) requests of at most 50 calls."""
    counted = _Counted(_ManySites(sites, summary_offset=_offsets()))
    summary = await _export(tmp_path, "x.jsonl", counted, lanes)
    assert counted.count_requests() == len(counted.bulks) == math.ceil(sites / BULK_ITEMS)
    assert all(len(b) <= BULK_ITEMS for b in counted.bulks)
    assert sum(map(len, counted.bulks)) == sites
    assert summary.not_reconciled == [BROKEN, ODD]
    assert len(summary.mismatches) == len([s for s, _ in _offsets() if s <= sites])


async def test_a_bulk_request_that_fails_whole_asks_each_site_alone(tmp_path: Path) -> None:
    """A bulk request Matomo fails as a whole (HTTP 500 after the retries): each of its sites
    is asked alone, and is reconciled or fails as it would have with its own request."""
    counted = _Counted(_ManySites(20, summary_offset=_offsets()), fail_bulk=True)
    summary = await _export(tmp_path, "x.duckdb", counted, 2)
    assert counted.bulks
    assert len(counted.alone) == 20
    assert summary.not_reconciled == [BROKEN, ODD]
    assert summary.warnings[0] == f"site {BROKEN}: not reconciled (archiving is broken)"
    assert [(x.id_site, x.day) for x in summary.mismatches] == [
        (1, START + timedelta(days=1)),
        (2, START + timedelta(days=1)),
    ]


async def test_a_site_too_slow_in_a_bulk_request_is_asked_again_alone(tmp_path: Path) -> None:
    """A bulk item Matomo failed for a reason that may pass is asked again alone (with the
    client's retries, as its own request had), not reported as failed."""
    world = _ManySites(20)
    world.too_slow_once = {3, 4}
    counted = _Counted(world)
    summary = await _export(tmp_path, "x.duckdb", counted, 2)
    assert len(counted.bulks) == 2
    assert sorted(p["idSite"] for p in counted.alone) == ["3", "4"]
    assert summary.not_reconciled == [BROKEN, ODD]
    assert summary.mismatches == []


async def test_an_unexpected_error_in_a_bulk_request_is_raised_as_it_is() -> None:
    """A failure that is no Matomo error comes out as itself, not in an exception group."""

    def handle(request: Request) -> Response:
        raise RuntimeError("counting broke")

    async with _client(handle, 1) as m:
        with pytest.raises(RuntimeError, match="counting broke"):
            await fetch_counts_of_sites(m, [(1, START, TODAY), (2, START, TODAY)], None)


async def test_a_site_of_more_days_than_one_request_holds_keeps_its_first_failure() -> None:
    """A site longer than Matomo's 1825 days a request has two calls in the bulk: its counts
    are both calls' days, and when one fails, the site fails with it."""
    calls: list[tuple[str, str]] = []

    def handle(request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode()))
        out: list[Any] = []
        for i in range(len(form)):
            if f"urls[{i}]" not in form:
                break
            sub = dict(parse_qsl(form[f"urls[{i}]"]))
            calls.append((sub["idSite"], sub["date"]))
            a, b = (date.fromisoformat(x) for x in sub["date"].split(","))
            if sub["idSite"] == "2" and b == date(2024, 6, 30):  # its second call
                out.append({"result": "error", "message": "archiving is broken"})
                continue
            days = (b - a).days + 1
            out.append({(a + timedelta(days=k)).isoformat(): {"nb_visits": 1} for k in range(days)})
        return json_response(out)

    first, last = date(2019, 1, 1), date(2024, 6, 30)
    async with _client(handle, 1) as m:
        got = await fetch_counts_of_sites(m, [(1, first, last), (2, first, last)], None)
    assert len(calls) == 4
    counts = got[0]
    assert isinstance(counts, dict)
    assert len(counts) == (last - first).days + 1
    assert getattr(got[1], "message", None) == "archiving is broken"


def _sandbox() -> Sandbox:
    return Sandbox(SandboxConfig(seed=5, days=8, visits_per_day=30, today=date(2024, 5, 15)))


def _sandbox_client(sb: Sandbox, lanes: int) -> AsyncMatomo:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    return AsyncMatomo(
        "http://sandbox.test/",
        auth=Auth.token(sb.config.token),
        http_client=http,
        max_concurrency=lanes,
    )


async def test_the_sandbox_answers_bulk_counts_as_it_answers_each_alone() -> None:
    """The sandbox's API.getBulkRequest answers each VisitsSummary call as the call alone,
    and an error item in its place (recorded Matomo: 154, 157)."""
    sb = _sandbox()
    items = [
        Params().id_site(s).set("period", "day").set("date", "2024-05-08,2024-05-14")
        for s in (1, 2, 3)
    ]
    async with _sandbox_client(sb, 1) as m:
        alone = [await m.call("VisitsSummary.get", p) for p in items]
        bulk = await m.api.bulk(
            [("VisitsSummary.get", p) for p in items]
            + [("VisitsSummary.get", items[0].set("idSite", 999))]
        )
    assert [b.value for b in bulk[:3]] == alone
    assert bulk[3].error is not None
    assert "unexpected website" in bulk[3].error.message


@pytest.mark.parametrize("segment", [None, "referrerType%3D%3Dsearch%3BbrowserCode%3D%3DCH"])
async def test_a_sandbox_export_reconciles_in_one_bulk_request(
    tmp_path: Path, segment: str | None
) -> None:
    """Against the sandbox, one request slot: the three sites' counts come in one bulk
    request (the segment carried as given), and every window matches."""
    sb = _sandbox()
    async with _sandbox_client(sb, 1) as m:
        summary = await export_visits(
            m,
            sites="all",
            start=date(2024, 5, 11),
            end="yesterday",
            target=str(tmp_path / "v.duckdb"),
            now=datetime(2024, 5, 15, 12, tzinfo=timezone.utc),
            segment=segment,
        )
    bulks = [r for r in sb.requests if r.method == "API.getBulkRequest"]
    assert [r.method for r in sb.requests].count("VisitsSummary.get") == 0
    assert len(bulks) == 1
    subs = [dict(parse_qsl(v)) for k, v in sorted(bulks[0].params.items()) if k.startswith("urls[")]
    assert [s["idSite"] for s in subs] == ["1", "2", "3"]
    assert all(s.get("segment") == segment for s in subs)
    assert summary.reconciled
    assert summary.mismatches == []


async def test_refetch_short_asks_for_the_done_days_counts_in_bulk_too(tmp_path: Path) -> None:
    """`refetch_short`: the done days' counts, asked before the export, come in bulk requests
    too, as the reconciliation's after it (one request a site each, before)."""
    world = _ManySites(120, summary_offset=_offsets())
    await _export(tmp_path, "x.duckdb", _Counted(world), 2)
    counted = _Counted(world)
    async with _client(counted, 2) as m:
        summary = await export_visits(
            m,
            sites="all",
            start=START,
            end="yesterday",
            target=str(tmp_path / "x.duckdb"),
            now=NOW,
            refetch_short=True,
        )
    assert len(counted.bulks) == 2 * math.ceil(120 / BULK_ITEMS)
    assert not counted.alone
    assert summary.not_reconciled == [BROKEN, ODD]
    assert f"site {BROKEN}: done days not checked (archiving is broken)" in summary.warnings
