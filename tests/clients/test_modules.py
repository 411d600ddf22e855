"""Every typed method of both clients, over a mock transport answering recorded Matomo bodies."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl

import pytest
from clients_support import (
    Harness,
    Router,
    form,
    method_of,
    query,
    recorded,
    recorded_json,
)

from matomo_client import (
    ActionRow,
    ApiError,
    ApiErrorKind,
    BulkResult,
    DateRange,
    DecodeError,
    Limit,
    Params,
    Period,
    ReferrerRow,
    ReportMetadata,
    Site,
    Visit,
    VisitsSummary,
)
from matomo_client._core.http import Request, Response
from matomo_client.transports import json_response

pytestmark = pytest.mark.anyio

OCT = Period.month(dt.date(2026, 10, 1))


# --- api -------------------------------------------------------------------------------------


async def test_version_returns_the_version_string(harness: Harness) -> None:
    """api.version() reads {"value": "5.11.2"} into the string "5.11.2"."""
    m = harness.client(Router({}))
    assert await harness.run(m.api.version) == "5.11.2"
    assert all(method_of(r) == "API.getMatomoVersion" for r in harness.requests)


async def test_report_metadata_sends_no_limit_and_decodes(harness: Harness) -> None:
    """api.report_metadata() sends filter_limit=-1 and decodes every recorded report entry."""
    m = harness.client(Router({"API.getReportMetadata": recorded("146_")}))
    reports = await harness.run(m.api.report_metadata, 1)
    assert len(reports) == len(recorded_json("146_"))
    assert all(isinstance(r, ReportMetadata) for r in reports)
    (call,) = harness.calls
    assert form(call)["filter_limit"] == "-1"
    assert form(call)["idSite"] == "1"
    assert "period" not in form(call)


async def test_report_metadata_with_a_period_sends_it(harness: Harness) -> None:
    """api.report_metadata(id, period) adds period and date to the request."""
    m = harness.client(Router({"API.getReportMetadata": recorded("181_")}))
    await harness.run(m.api.report_metadata, 3, Period.day(dt.date(2026, 11, 28)))
    (call,) = harness.calls
    assert (form(call)["period"], form(call)["date"]) == ("day", "2026-11-28")


async def test_bulk_sends_items_in_the_body_and_returns_results(harness: Harness) -> None:
    """api.bulk() puts urls[i] in the POST body, sends outer filter_limit=-1, keeps the order."""
    m = harness.client(Router({"API.getBulkRequest": recorded("153_")}))
    items = [
        ("VisitsSummary.get", Params().id_site(1).period(Period.day(dt.date(2026, 11, 28)))),
        ("API.getMatomoVersion", Params()),
        ("Referrers.getReferrerType", Params().id_site(1).period(OCT).set("filter_limit", 2)),
    ]
    results = await harness.run(m.api.bulk, items)
    (call,) = harness.calls
    body = form(call)
    assert body["filter_limit"] == "-1"
    # An item without its own filter_limit gets Matomo's default, not the outer -1.
    assert body["urls[0]"] == (
        "method=VisitsSummary.get&idSite=1&period=day&date=2026-11-28&filter_limit=100"
    )
    assert body["urls[1]"] == "method=API.getMatomoVersion&filter_limit=100"
    assert "filter_limit=2" in body["urls[2]"]
    assert "filter_limit=100" not in body["urls[2]"]
    assert not any(k.startswith("urls") for k in query(call))
    assert [r.ok for r in results] == [True, True, True]
    assert all(isinstance(r, BulkResult) and r.error is None for r in results)
    assert results[1].value == {"value": "5.11.2"}
    assert results[0].value == recorded_json("153_")[0]


async def test_bulk_item_errors_become_api_errors(harness: Harness) -> None:
    """A failed bulk item is BulkResult.error, an ApiError with its kind and the item's method."""
    m = harness.client(Router({"API.getBulkRequest": recorded("154_")}))
    day = Period.day(dt.date(2026, 11, 28))
    items = [
        ("VisitsSummary.get", Params().id_site(1).period(day)),
        ("VisitsSummary.nope", Params().id_site(1).period(day)),
        ("VisitsSummary.get", Params().id_site(999).period(day)),
        ("VisitsSummary.get", Params().id_site(1).set("period", "fortnight").set("date", "x")),
        ("VisitsSummary.getVisits", Params().id_site(3).set("period", "day").set("date", "last2")),
    ]
    results = await harness.run(m.api.bulk, items)
    assert [r.ok for r in results] == [True, False, False, False, True]
    kinds = [r.error.kind if r.error else None for r in results]
    assert kinds == [
        None,
        ApiErrorKind.NOT_FOUND,
        ApiErrorKind.NOT_FOUND,
        ApiErrorKind.INVALID_PARAMETER,
        None,
    ]
    assert isinstance(results[1].error, ApiError)
    assert results[1].error.method == "VisitsSummary.nope"
    assert "does not exist" in results[1].error.message
    assert results[1].value is None
    assert results[4].value == {"2026-11-28": 0, "2026-11-29": 0}


async def test_bulk_splits_large_batches(harness: Harness) -> None:
    """api.bulk() with 250 items sends three requests of at most 100 items, results in order."""

    def answer(request: Request) -> Response:
        urls = sorted((int(k[5:-1]), v) for k, v in form(request).items() if k.startswith("urls["))
        assert [i for i, _ in urls] == list(range(len(urls)))
        return json_response([{"value": dict(parse_qsl(v))["n"]} for _, v in urls])

    m = harness.client(Router({"API.getBulkRequest": answer}))
    items = [("API.getSettings", Params().set("n", i)) for i in range(250)]
    results = await harness.run(m.api.bulk, items)
    sizes = [sum(k.startswith("urls[") for k in form(r)) for r in harness.calls]
    assert sizes == [100, 100, 50]
    assert [r.value["value"] for r in results] == [str(i) for i in range(250)]


async def test_bulk_of_nothing_sends_nothing(harness: Harness) -> None:
    """api.bulk([]) returns [] without a request."""
    m = harness.client(Router({}), skip_preflight=True)
    assert await harness.run(m.api.bulk, []) == []
    assert harness.requests == []


# --- visits_summary --------------------------------------------------------------------------


async def test_visits_summary_get(harness: Harness) -> None:
    """visits_summary.get() sends idSite/period/date/segment and decodes the recorded summary."""
    m = harness.client(Router({"VisitsSummary.get": recorded("015_")}))
    day = Period.day(dt.date(2026, 11, 28))
    summary = await harness.run(m.visits_summary.get, 1, day, "browserCode==FF")
    assert isinstance(summary, VisitsSummary)
    assert (summary.nb_visits, summary.nb_actions, summary.bounce_rate) == (23, 47, 0.65)
    (call,) = harness.calls
    body = form(call)
    assert (body["idSite"], body["period"], body["date"]) == ("1", "day", "2026-11-28")
    assert body["segment"] == "browserCode==FF"


async def test_visits_summary_get_empty_list_is_zeros(harness: Harness) -> None:
    """visits_summary.get() reads Matomo's `[]` (no data) as a summary of zeros."""
    m = harness.client(Router({"VisitsSummary.get": []}))
    summary = await harness.run(m.visits_summary.get, 3, Period.day(dt.date(2026, 11, 28)))
    assert summary.nb_visits == 0
    assert summary.nb_actions == 0
    assert "segment" not in form(harness.calls[0])


async def test_visits_summary_get_empty_object_is_zeros(harness: Harness) -> None:
    """visits_summary.get() reads `{}` (the other empty PHP array) as a summary of zeros too."""
    m = harness.client(Router({"VisitsSummary.get": {}}))
    summary = await harness.run(m.visits_summary.get, 3, Period.day(dt.date(2026, 11, 28)))
    assert summary == VisitsSummary()


@pytest.mark.parametrize("sites", ["all", [1, 2], range(1, 4)])
async def test_visits_summary_get_refuses_several_sites(harness: Harness, sites: object) -> None:
    """get() takes one site: "all" or a list is a ValueError naming call(), before any request."""
    m = harness.client(Router({"VisitsSummary.get": recorded("036_")}))
    with pytest.raises(ValueError, match=r"one site.*call\("):
        await harness.run(m.visits_summary.get, sites, Period.day(dt.date(2026, 11, 28)))
    assert harness.requests == []


@pytest.mark.parametrize("sites", ["all", [1, 2]])
@pytest.mark.parametrize(
    ("module", "name", "method"),
    [
        ("actions", "page_urls", "Actions.getPageUrls"),
        ("referrers", "referrer_type", "Referrers.getReferrerType"),
    ],
)
async def test_typed_reports_refuse_several_sites(
    harness: Harness, sites: object, module: str, name: str, method: str
) -> None:
    """A report of "all" or a list is a ValueError naming call(), not a DecodeError on the
    answer keyed by site id."""
    m = harness.client(Router({}))
    report = getattr(getattr(m, module), name)
    with pytest.raises(ValueError, match=rf"{method.split('.')[0]} takes one site.*call\("):
        await harness.run(report, sites, Period.day(dt.date(2026, 11, 28)))
    assert harness.requests == []


@pytest.mark.parametrize(
    ("prefix", "why"),
    [("036_", "keyed by site id"), ("035_", "single value")],
)
async def test_visits_summary_get_refuses_what_is_not_a_summary(
    harness: Harness, prefix: str, why: str
) -> None:
    """A body keyed by site id, or {"value": 23}, is a DecodeError, not a zeroed summary."""
    m = harness.client(Router({"VisitsSummary.get": recorded(prefix)}))
    with pytest.raises(DecodeError, match=why):
        await harness.run(m.visits_summary.get, 1, Period.day(dt.date(2026, 11, 28)))


async def test_series_by_day_keys_first_days_and_zeroes_empty_periods(harness: Harness) -> None:
    """series('day') sends one request, keys by day, and zeroes the `[]` days."""
    m = harness.client(Router({"VisitsSummary.get": recorded("028_")}))
    span = DateRange.ymd((2026, 9, 26), (2026, 10, 3))
    series = await harness.run(m.visits_summary.series, 1, "day", span)
    (call,) = harness.calls
    assert (form(call)["period"], form(call)["date"]) == ("day", "2026-09-26,2026-10-03")
    assert list(series) == [dt.date(2026, 9, 26) + dt.timedelta(days=i) for i in range(8)]
    assert series[dt.date(2026, 9, 26)].nb_visits == 0
    assert series[dt.date(2026, 9, 30)].nb_visits == 14


@pytest.mark.parametrize(
    ("prefix", "unit", "keys", "empty"),
    [
        (
            "029_",
            "week",
            [dt.date(2026, 11, d) for d in (2, 9, 16, 23)],
            None,
        ),
        (
            "030_",
            "month",
            [dt.date(2026, mo, 1) for mo in (8, 9, 10, 11)],
            dt.date(2026, 8, 1),
        ),
        ("031_", "year", [dt.date(2025, 1, 1), dt.date(2026, 1, 1)], dt.date(2025, 1, 1)),
    ],
)
async def test_series_week_month_year_keys(
    harness: Harness, prefix: str, unit: str, keys: list[dt.date], empty: dt.date | None
) -> None:
    """series() keys weeks, months and years by their first day; empty ones are zeroed."""
    m = harness.client(Router({"VisitsSummary.get": recorded(prefix)}))
    series = await harness.run(m.visits_summary.series, 1, unit, DateRange.last(len(keys)))
    assert form(harness.calls[0])["period"] == unit
    assert form(harness.calls[0])["date"] == f"last{len(keys)}"
    assert list(series) == keys
    for day, summary in series.items():
        assert (summary.nb_visits == 0) == (day == empty)


async def test_series_all_empty_site(harness: Harness) -> None:
    """series() of a site with no data gives every day, each zeroed."""
    m = harness.client(Router({"VisitsSummary.get": recorded("161_")}))
    series = await harness.run(m.visits_summary.series, 3, "day", DateRange.last(7))
    assert len(series) == 7
    assert {s.nb_visits for s in series.values()} == {0}


async def test_series_rejects_unknown_unit(harness: Harness) -> None:
    """series() with unit 'range' is a ValueError before any request."""
    m = harness.client(Router({}), skip_preflight=True)
    with pytest.raises(ValueError, match="unit"):
        await harness.run(m.visits_summary.series, 1, "range", DateRange.last(7))
    assert harness.requests == []


# --- actions and referrers --------------------------------------------------------------------

ACTIONS = [
    ("page_urls", "Actions.getPageUrls", "067_", "068_"),
    ("page_titles", "Actions.getPageTitles", "078_", "077_"),
    ("downloads", "Actions.getDownloads", "083_", "081_"),
    ("outlinks", "Actions.getOutlinks", "085_", "084_"),
]


@pytest.mark.parametrize(("name", "method", "flat_file", "tree_file"), ACTIONS)
async def test_actions_flat_reports(
    harness: Harness, name: str, method: str, flat_file: str, tree_file: str
) -> None:
    """actions.* sends flat=1 and an explicit filter_limit, and decodes every recorded row."""
    m = harness.client(Router({method: recorded(flat_file)}))
    rows = await harness.run(getattr(m.actions, name), 1, OCT)
    assert len(rows) == len(recorded_json(flat_file))
    assert all(isinstance(r, ActionRow) for r in rows)
    (call,) = harness.calls
    assert method_of(call) == method
    assert form(call)["flat"] == "1"
    assert int(form(call)["filter_limit"]) > 100
    assert (form(call)["period"], form(call)["date"]) == ("month", "2026-10-01")


@pytest.mark.parametrize(("name", "method", "flat_file", "tree_file"), ACTIONS)
async def test_actions_hierarchical_reports(
    harness: Harness, name: str, method: str, flat_file: str, tree_file: str
) -> None:
    """actions.*(flat=False) sends no flat, still sends filter_limit, and keeps subtable ids."""
    m = harness.client(Router({method: recorded(tree_file)}))
    rows = await harness.run(getattr(m.actions, name), 1, OCT, flat=False)
    (call,) = harness.calls
    assert "flat" not in form(call)
    assert "filter_limit" in form(call)
    expected = [r.get("idsubdatatable") for r in recorded_json(tree_file)]
    assert [r.id_subtable for r in rows] == expected


async def test_actions_subtable(harness: Harness) -> None:
    """actions.subtable() sends idSubtable and returns the rows under that folder."""
    m = harness.client(Router({"Actions.getPageUrls": recorded("069_")}))
    rows = await harness.run(m.actions.subtable, "getPageUrls", 1, OCT, 2)
    (call,) = harness.calls
    assert form(call)["idSubtable"] == "2"
    assert "flat" not in form(call)
    assert len(rows) == len(recorded_json("069_"))


async def test_large_report_is_paged(harness: Harness) -> None:
    """A 25,000-row report comes back whole in three requests of up to 10,000 rows."""
    total = 25_000

    def report(request: Request) -> Response:
        body = form(request)
        offset = int(body.get("filter_offset", "0"))
        limit = int(body["filter_limit"])
        end = total if limit == -1 else min(total, offset + limit)
        return json_response([{"label": f"/p{i}", "nb_hits": 1} for i in range(offset, end)])

    m = harness.client(Router({"Actions.getPageUrls": report}))
    rows = await harness.run(m.actions.page_urls, 1, OCT)
    assert [r.label for r in rows] == [f"/p{i}" for i in range(total)]
    assert len(harness.calls) == 3
    assert [form(c).get("filter_offset", "0") for c in harness.calls] == ["0", "10000", "20000"]


async def test_report_server_ignoring_filter_offset_is_a_decode_error(harness: Harness) -> None:
    """A server that answers every page with the first rows would be paged forever: DecodeError."""
    first_page = [{"label": f"/p{i}", "nb_hits": 1} for i in range(10_000)]

    def report(request: Request) -> Response:
        if len(harness.calls) > 3:  # the old pager never stops: fail instead of hanging
            return json_response({"result": "error", "message": "paged too often (test)"})
        return json_response(first_page)

    m = harness.client(Router({"Actions.getPageUrls": report}))
    with pytest.raises(DecodeError, match="ignores filter_offset"):
        await harness.run(m.actions.page_urls, 1, OCT)
    assert [form(c).get("filter_offset", "0") for c in harness.calls] == ["0", "10000"]


async def test_report_pages_that_differ_are_all_read(harness: Harness) -> None:
    """Full pages that differ (real paging) are read on, even when their rows look alike."""
    total = 20_001

    def report(request: Request) -> Response:
        offset = int(form(request).get("filter_offset", "0"))
        end = min(total, offset + int(form(request)["filter_limit"]))
        return json_response([{"label": "same", "nb_hits": i} for i in range(offset, end)])

    m = harness.client(Router({"Actions.getPageUrls": report}))
    rows = await harness.run(m.actions.page_urls, 1, OCT)
    assert [r.nb_hits for r in rows] == list(range(total))


REFERRERS = [
    ("referrer_type", "Referrers.getReferrerType", "092_"),
    ("all", "Referrers.getAll", "095_"),
    ("websites", "Referrers.getWebsites", "097_"),
    ("search_engines", "Referrers.getSearchEngines", "098_"),
    ("keywords", "Referrers.getKeywords", "101_"),
    ("campaigns", "Referrers.getCampaigns", "102_"),
    ("socials", "Referrers.getSocials", "104_"),
]


@pytest.mark.parametrize(("name", "method", "prefix"), REFERRERS)
async def test_referrers_reports(harness: Harness, name: str, method: str, prefix: str) -> None:
    """referrers.* call their Matomo method with filter_limit and decode every recorded row."""
    m = harness.client(Router({method: recorded(prefix)}))
    rows = await harness.run(getattr(m.referrers, name), 1, OCT)
    assert len(rows) == len(recorded_json(prefix))
    assert all(isinstance(r, ReferrerRow) for r in rows)
    assert rows[0].label == recorded_json(prefix)[0]["label"]
    (call,) = harness.calls
    assert method_of(call) == method
    assert "filter_limit" in form(call)


async def test_referrers_subtable(harness: Harness) -> None:
    """referrers.subtable() loads the keywords under one search engine row."""
    routes = {
        # Matomo ignores idSubtable here and answers the search engines again (recorded 100).
        "Referrers.getSearchEngines": recorded("100_"),
        "Referrers.getKeywordsFromSearchEngineId": recorded("099_"),
    }
    m = harness.client(Router(routes))
    rows = await harness.run(m.referrers.subtable, "getSearchEngines", 1, OCT, 3)
    (call,) = harness.calls
    assert method_of(call) == "Referrers.getKeywordsFromSearchEngineId"
    assert form(call)["idSubtable"] == "3"
    assert [r.label for r in rows] == [r["label"] for r in recorded_json("099_")]


@pytest.mark.parametrize(
    ("action", "loader"),
    [
        ("getKeywords", "getSearchEnginesFromKeywordId"),
        ("getWebsites", "getUrlsFromWebsiteId"),
        ("getSocials", "getUrlsForSocial"),
        ("getCampaigns", "getKeywordsFromCampaignId"),
        ("getReferrerType", "getReferrerType"),
        ("getKeywordsFromCampaignId", "getKeywordsFromCampaignId"),
    ],
)
async def test_referrers_subtable_asks_the_loading_method(
    harness: Harness, action: str, loader: str
) -> None:
    """referrers.subtable() of a report asks the method that loads its subtables, as
    API.getReportMetadata's actionToLoadSubTables names it."""
    m = harness.client(Router({f"Referrers.{loader}": recorded("103_")}))
    rows = await harness.run(m.referrers.subtable, action, 1, OCT, 6)
    (call,) = harness.calls
    assert method_of(call) == f"Referrers.{loader}"
    assert len(rows) == len(recorded_json("103_"))


async def test_empty_report_object_is_no_rows(harness: Harness) -> None:
    """A report answering `{}` (an empty simple table) reads as no rows."""
    m = harness.client(Router({"Referrers.getAll": {}}))
    assert await harness.run(m.referrers.all, 3, OCT) == []


# --- live ------------------------------------------------------------------------------------


async def test_last_visits(harness: Harness) -> None:
    """live.last_visits() sends filter_limit/filter_offset and decodes the recorded visits."""
    m = harness.client(Router({"Live.getLastVisitsDetails": recorded("049_")}))
    visits = await harness.run(m.live.last_visits, 1, Period.month(dt.date(2026, 11, 1)), 5)
    assert len(visits) == 5
    assert all(isinstance(v, Visit) for v in visits)
    assert visits[0].id_visit == recorded_json("049_")[0]["idVisit"]
    body = form(harness.calls[0])
    assert (body["filter_limit"], body["filter_offset"]) == ("5", "0")


async def test_last_visits_takes_a_limit_and_offset(harness: Harness) -> None:
    """live.last_visits(Limit(5), offset=5) asks for the second page."""
    m = harness.client(Router({"Live.getLastVisitsDetails": recorded("050_")}))
    await harness.run(m.live.last_visits, 1, Period.month(dt.date(2026, 11, 1)), Limit(5), 5)
    assert form(harness.calls[0])["filter_offset"] == "5"


# --- sites -----------------------------------------------------------------------------------


async def test_sites_list(harness: Harness) -> None:
    """sites.list() sends filter_limit=-1 and decodes the recorded sites."""
    m = harness.client(Router({"SitesManager.getSitesWithAtLeastViewAccess": recorded("009_")}))
    sites = await harness.run(m.sites.list)
    assert [s.id_site for s in sites] == [1, 2, 3]
    assert all(isinstance(s, Site) for s in sites)
    assert sites[0].name == "Shop"
    assert form(harness.calls[0])["filter_limit"] == "-1"


async def test_sites_get(harness: Harness) -> None:
    """sites.get() sends idSite and decodes the recorded site."""
    m = harness.client(Router({"SitesManager.getSiteFromId": recorded("011_")}))
    site = await harness.run(m.sites.get, 1)
    assert (site.id_site, site.name, site.timezone, site.currency) == (1, "Shop", "UTC", "USD")
    assert site.ecommerce is True
    assert form(harness.calls[0])["idSite"] == "1"
