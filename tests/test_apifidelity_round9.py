"""QA round 9, area apifidelity: the typed methods ask what Matomo's PHP API takes and read
what it answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from matomo_client import (
    ApiError,
    AsyncMatomo,
    Auth,
    DateRange,
    Matomo,
    Params,
    Period,
    SyncMockTransport,
)
from matomo_client._core.http import Request, Response
from matomo_client.sandbox import Sandbox, SandboxConfig
from matomo_client.transports.mock import json_response, request_params

DAY = Period.day(dt.date(2026, 11, 28))
TODAY = dt.date(2026, 11, 29)


def _german(fraction: float) -> str:
    """A rate as Matomo's NumberFormatter writes it for language=de: "18,42 %" (NBSP)."""
    return f"{fraction * 100:g}".replace(".", ",") + "\u00a0%"


def _turkish(fraction: float) -> str:
    """The same for language=tr: "%18,42"."""
    return "%" + f"{fraction * 100:g}".replace(".", ",")


def _persian(fraction: float) -> str:
    """The same for language=fa: "18٫42٪"."""
    return f"{fraction * 100:g}".replace(".", "\u066b") + "\u066a"


def _localised_matomo(rate: Callable[[float], str]) -> Callable[[Request], Response]:
    """A server that formats rates as Matomo does under `format_metrics=bc` (its default) for a
    token user whose language is not English, and sends fractions for `format_metrics=0`."""

    def handler(request: Request) -> Response:
        p = request_params(request)
        bc = p.get("format_metrics", "bc") == "bc"

        def r(fraction: float) -> Any:
            return rate(fraction) if bc else fraction

        summary = {"nb_visits": 23, "bounce_count": 15, "bounce_rate": r(0.65)}
        if p["method"] == "VisitsSummary.get" and "," in p["date"]:
            return json_response({"2026-11-27": summary, "2026-11-28": summary})
        if p["method"] == "VisitsSummary.get":
            return json_response(summary)
        if p["method"].startswith("Referrers."):
            return json_response([{"label": "Search Engines", "conversion_rate": r(0.1842)}])
        return json_response([{"label": "/a", "bounce_rate": r(0.5), "exit_rate": r(0.2857)}])

    return handler


@pytest.mark.parametrize("rate", [_german, _turkish, _persian])
def test_typed_calls_read_rates_whatever_the_token_users_language(
    rate: Callable[[float], str],
) -> None:
    """Matomo writes `format_metrics=bc` percentages in the token user's language; the typed
    methods ask for fractions (`format_metrics=0`), so they read the same in every language."""
    transport = SyncMockTransport(_localised_matomo(rate))
    with Matomo("https://m.example/", transport=transport, skip_preflight=True) as m:
        assert m.visits_summary.get(1, DAY).bounce_rate == 0.65
        series = m.visits_summary.series(1, "day", DateRange.ymd((2026, 11, 27), (2026, 11, 28)))
        assert [s.bounce_rate for s in series.values()] == [0.65, 0.65]
        assert m.referrers.referrer_type(1, DAY)[0].conversion_rate == 0.1842
        page = m.actions.page_urls(1, DAY)[0]
        assert (page.bounce_rate, page.exit_rate) == (0.5, 0.2857)
    assert all(request_params(r)["format_metrics"] == "0" for r in transport.requests)


def test_sandbox_sends_report_rates_as_fractions_for_format_metrics_0() -> None:
    """Like Matomo, the sandbox's reports carry fractions, not "46%", with format_metrics=0."""
    sb = Sandbox(SandboxConfig(today=TODAY, days=5, visits_per_day=25))
    params = Params().id_site(1).period(DAY).set("flat", 1).set("filter_limit", -1)

    async def fetch(extra: Params) -> Any:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
        async with AsyncMatomo(
            "http://sandbox/", auth=Auth.token("sandbox-token"), http_client=client
        ) as am:
            return await am.call("Actions.getPageUrls", params.merge(extra))

    bc = anyio.run(fetch, Params())
    raw = anyio.run(fetch, Params().set("format_metrics", 0))
    assert bc
    assert len(bc) == len(raw)
    assert all(isinstance(row["bounce_rate"], str) for row in bc)
    for text_row, row in zip(bc, raw, strict=True):
        for key in ("bounce_rate", "exit_rate"):
            assert isinstance(row[key], (int, float)), row
            assert row[key] == pytest.approx(float(text_row[key].rstrip("%")) / 100)


@pytest.mark.parametrize(
    ("method", "site", "date", "message"),
    [
        ("Referrers.getAll", "1", "2026-11-27,2026-11-28", "with multiple sites or dates"),
        ("Referrers.getAll", "1,2", "2026-11-28", "Referrers.getAll with multiple sites is"),
        ("Referrers.getReferrerType", "all", "2026-11-28", "getReferrerType with multiple sites"),
    ],
)
def test_sandbox_refuses_referrer_reports_matomo_refuses(
    method: str, site: str, date: str, message: str
) -> None:
    """Matomo's Referrers.getAll refuses several sites or periods, getReferrerType several
    sites (plugins/Referrers/API.php); the sandbox answered them as Maps, hiding that an
    export of every report can never fetch Referrers.getAll over `date=A,B`."""
    sb = Sandbox(SandboxConfig(today=TODAY, days=5, visits_per_day=5))
    params = Params({"idSite": site, "period": "day", "date": date})

    async def fetch() -> Any:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
        async with AsyncMatomo(
            "http://sandbox/", auth=Auth.token("sandbox-token"), http_client=client
        ) as am:
            return await am.call(method, params)

    with pytest.raises(ApiError) as caught:
        anyio.run(fetch)
    assert message in caught.value.message
    assert caught.value.status == 200


def test_sandbox_still_answers_one_site_and_one_period_of_referrers() -> None:
    """The single-site, single-period forms (what the typed methods send) still answer rows."""
    sb = Sandbox(SandboxConfig(today=TODAY, days=5, visits_per_day=25))

    async def fetch() -> tuple[int, int, int]:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
        async with AsyncMatomo(
            "http://sandbox/", auth=Auth.token("sandbox-token"), http_client=client
        ) as am:
            every = await am.referrers.all(1, DAY)
            types = await am.referrers.referrer_type(1, DAY)
            series = await am.call(
                "Referrers.getReferrerType",
                Params().id_site(1).set("period", "day").set("date", "2026-11-27,2026-11-28"),
            )
            return len(every), len(types), len(series)

    every, types, days = anyio.run(fetch)
    assert every > 0
    assert types > 0
    assert days == 2


def test_sandbox_referrer_type_subtable_ids_are_referrer_types() -> None:
    """Matomo gives each getReferrerType row its referrer type as `idsubdatatable` (2 search,
    3 websites, 6 campaigns, 7 socials; recorded 092) and reads `idSubtable` as that type; an
    unknown one gives the whole report. The sandbox numbered the rows by label instead, so
    `subtable("getReferrerType", ..., 3)` gave social networks rather than websites."""
    sb = Sandbox(SandboxConfig(today=TODAY, days=5, visits_per_day=40))

    async def fetch() -> tuple[Any, ...]:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
        async with AsyncMatomo(
            "http://sandbox/", auth=Auth.token("sandbox-token"), http_client=client
        ) as am:
            types = await am.referrers.referrer_type(1, DAY)
            websites = await am.referrers.subtable("getReferrerType", 1, DAY, 3)
            by_site = await am.referrers.websites(1, DAY, flat=False)
            unknown = await am.referrers.subtable("getReferrerType", 1, DAY, 99)
            return types, websites, by_site, unknown

    types, websites, by_site, unknown = anyio.run(fetch)
    ids = {r.label: r.id_subtable for r in types}
    assert ids["Search Engines"] == 2
    assert ids["Websites"] == 3
    assert ids["Direct Entry"] is None
    assert {r.label: r.nb_visits for r in websites} == {r.label: r.nb_visits for r in by_site}
    assert [r.label for r in unknown] == [r.label for r in types]


def test_sandbox_bulk_drops_a_sub_request_without_method() -> None:
    """Matomo fills a sub-request's missing parameters from the outer request, `method`
    included: one without `method` becomes API.getBulkRequest and is dropped (plugins/API/
    API.php); the sandbox answered it with an error item instead."""
    sb = Sandbox(SandboxConfig(today=TODAY, days=3, visits_per_day=5))

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sb.app), base_url="http://sandbox/"
        ) as client:
            return await client.post(
                "index.php?module=API&method=API.getBulkRequest&format=JSON",
                data={
                    "token_auth": "sandbox-token",
                    "urls[0]": "idSite=1&period=day&date=today",
                    "urls[1]": "method=API.getMatomoVersion",
                },
            )

    response = anyio.run(post)
    assert response.status_code == 200
    assert response.json() == [{"value": "5.11.2"}]


def test_a_bulk_item_gets_as_many_rows_as_the_same_call() -> None:
    """Matomo reads each sub-request over the outer request, whose `filter_limit=-1` keeps the
    answer list whole: an item without its own limit got every visit (138 here) where the same
    call alone gets Matomo's default 100."""
    sb = Sandbox(SandboxConfig(today=TODAY, days=3, visits_per_day=140))

    async def fetch() -> tuple[int, int]:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
        async with AsyncMatomo(
            "http://sandbox/", auth=Auth.token("sandbox-token"), http_client=client
        ) as am:
            params = Params().id_site(1).period(DAY)
            alone = await am.call("Live.getLastVisitsDetails", params)
            (item,) = await am.api.bulk([("Live.getLastVisitsDetails", params)])
            return len(alone), len(item.value)

    alone, in_bulk = anyio.run(fetch)
    assert alone == 100
    assert in_bulk == alone
