"""The typed calls against a real Matomo, when MATOMO_URL, MATOMO_TOKEN and MATOMO_IDSITE are set.

Read-only and polite: a few dozen requests, Live paging capped; no invalid tokens are sent
(they would count towards Matomo's brute-force block for this IP).
"""

from __future__ import annotations

import os
from itertools import islice
from typing import Any

import pytest

if not all(os.environ.get(v) for v in ("MATOMO_URL", "MATOMO_TOKEN", "MATOMO_IDSITE")):
    pytest.skip(
        "set MATOMO_URL, MATOMO_TOKEN and MATOMO_IDSITE to run against a real Matomo",
        allow_module_level=True,
    )

from matomo_client import (
    ActionRow,
    ApiError,
    ApiErrorKind,
    AsyncMatomo,
    Auth,
    Cursor,
    Date,
    DateRange,
    Limit,
    Matomo,
    Params,
    Period,
    PreflightError,
    ReferrerRow,
    ReportMetadata,
    Site,
    Visit,
    VisitsSummary,
)

pytestmark = [pytest.mark.anyio, pytest.mark.live]

URL = os.environ["MATOMO_URL"]
TOKEN = os.environ["MATOMO_TOKEN"]
SITE = int(os.environ["MATOMO_IDSITE"])
YESTERDAY = Period.day(Date.YESTERDAY)
MONTH = Period.month(Date.TODAY)


def client() -> AsyncMatomo:
    """An async client for the server under test."""
    return AsyncMatomo(URL, auth=Auth.token(TOKEN), max_concurrency=2)


async def test_version_and_preflight() -> None:
    """The server passes the preflight and reports a 4.x or newer version."""
    async with client() as m:
        version = await m.preflight()
        assert version is not None
        assert int(version.split(".")[0]) >= 4
        assert await m.api.version() == version


async def test_report_metadata() -> None:
    """API.getReportMetadata decodes, with more than the 100 rows Matomo would cut at."""
    async with client() as m:
        reports = await m.api.report_metadata(SITE)
    assert reports
    assert all(isinstance(r, ReportMetadata) for r in reports)


async def test_sites() -> None:
    """sites.list() includes the site under test and sites.get() reads it."""
    async with client() as m:
        sites = await m.sites.list()
        site = await m.sites.get(SITE)
    assert SITE in [s.id_site for s in sites]
    assert isinstance(site, Site)
    assert site.id_site == SITE
    assert site.timezone


async def test_visits_summary() -> None:
    """visits_summary.get() and series() decode; the series has one entry per day."""
    async with client() as m:
        summary = await m.visits_summary.get(SITE, YESTERDAY)
        series = await m.visits_summary.series(SITE, "day", DateRange.last(7))
    assert isinstance(summary, VisitsSummary)
    assert summary.nb_visits >= 0
    assert len(series) == 7


@pytest.mark.parametrize("name", ["page_urls", "page_titles", "downloads", "outlinks"])
async def test_actions(name: str) -> None:
    """Each actions report decodes into ActionRow."""
    async with client() as m:
        rows = await getattr(m.actions, name)(SITE, MONTH)
    assert all(isinstance(r, ActionRow) for r in rows)


@pytest.mark.parametrize(
    "name",
    ["referrer_type", "all", "websites", "search_engines", "keywords", "campaigns", "socials"],
)
async def test_referrers(name: str) -> None:
    """Each referrers report decodes into ReferrerRow."""
    async with client() as m:
        rows = await getattr(m.referrers, name)(SITE, MONTH)
    assert all(isinstance(r, ReferrerRow) for r in rows)


async def test_live() -> None:
    """last_visits, next_page and stream decode visits; the stream yields no id twice."""
    async with client() as m:
        page = await m.live.last_visits(SITE, YESTERDAY, 5)
        visits, _ = await m.live.next_page(Cursor(SITE, YESTERDAY, Limit(5)))
        ids = []
        async for visit in m.live.stream(SITE, YESTERDAY, 100):
            ids.append(visit.id_visit)
            if len(ids) >= 500:
                break
    assert all(isinstance(v, Visit) for v in page + visits)
    assert len(ids) == len(set(ids))


async def test_escape_hatch_and_bulk() -> None:
    """call, call_typed, call_raw, stream_raw and bulk work against the server."""
    params = Params().id_site(SITE).period(YESTERDAY)
    async with client() as m:
        data = await m.call("VisitsSummary.get", params)
        typed = await m.call_typed("VisitsSummary.get", params, VisitsSummary)
        raw = await m.call_raw("API.getMatomoVersion")
        chunks = [c async for c in m.stream_raw("API.getMatomoVersion")]
        bulk = await m.api.bulk([("VisitsSummary.get", params), ("VisitsSummary.nope", params)])
    assert isinstance(data, (dict, list))
    assert isinstance(typed, VisitsSummary)
    assert raw.startswith(b"{")
    assert b"".join(chunks) == raw
    assert bulk[0].ok
    assert bulk[1].error is not None
    assert bulk[1].error.kind is ApiErrorKind.NOT_FOUND


async def test_unknown_method_errors() -> None:
    """An unknown method is ApiError NOT_FOUND via call, PreflightError via a typed call."""
    async with client() as m:
        with pytest.raises(ApiError) as info:
            await m.call("VisitsSummary.nope", Params().id_site(SITE))
    assert info.value.kind is ApiErrorKind.NOT_FOUND
    assert TOKEN not in str(info.value) + repr(info.value)
    assert not isinstance(info.value, PreflightError)


def test_sync_client() -> None:
    """The blocking client makes the same calls."""
    with Matomo(URL, auth=Auth.token(TOKEN)) as m:
        assert m.api.version()
        assert isinstance(m.visits_summary.get(SITE, YESTERDAY), VisitsSummary)
        first = list(islice(m.live.stream(SITE, YESTERDAY, 50), 100))
    assert all(isinstance(v, Visit) for v in first)


async def test_an_export_in_runs_gets_the_visits_of_a_day_by_day_export(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last seven closed days, exported as one run (`period=range` keyset pages) and day by
    day, give the same visits, each once: the check of runs against Matomo's own Live paging.
    Reads those days twice, 100 visits a request."""
    import json

    from matomo_client.export import engine, export_visits

    got = []
    for days in (1, 7):
        monkeypatch.setattr(engine, "run_days", lambda windows, lanes, d=days: d)
        target = tmp_path / f"days{days}.jsonl"
        async with client() as m:
            await export_visits(
                m, sites=[SITE], start="previous7", end="yesterday", target=str(target),
                page_size=100, workers=0, reconcile=False,
            )  # fmt: skip
        lines = (tmp_path / f"days{days}.visits.jsonl").read_text().splitlines()
        got.append([int(json.loads(line)["id_visit"]) for line in lines])
    day_by_day, in_runs = got
    assert len(in_runs) == len(set(in_runs))
    assert sorted(in_runs) == sorted(day_by_day)
