"""Round 15: more recorded methods the sandbox used to answer "does not exist" for.

VisitFrequency.get, Referrers.get, PagePerformance.get, API.get, Live.getMostRecentVisitorId,
UserId.getUsers, the site search reports, Goals.getDaysToConversion and UserCountry.getCity
answer in the recorded shapes (cases 047, 048, 064, 086-088, 105, 116, 126, 140, 144, 171),
agree with VisitsSummary, the other reports and the Live visits they are drawn from, and are
listed in API.getReportMetadata.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from sandbox_support import (
    load_case,
    recorded_json,
    recorded_sandbox,
    shape_mismatches,
)

from matomo_client.sandbox.render import render_visit

_CASES = [47, 48, 64, 86, 87, 88, 105, 116, 126, 140, 144, 171]
_MONTH = {"idSite": 1, "period": "month", "date": "2026-10-01"}
_DAY = date(2026, 11, 27)  # a closed day whose next day is closed too (site 1 is in UTC)
_ON_DAY = {"idSite": 1, "period": "day", "date": _DAY.isoformat()}
_NEW_METADATA = [
    "UserCountry_getCity",
    "UserId_getUsers",
    "Actions_getSiteSearchKeywords",
    "Actions_getSiteSearchNoResultKeywords",
    "Actions_getSiteSearchCategories",
    "VisitFrequency_get",
    "PagePerformance_get",
    "Referrers_get",
    "API_get",
]


def _live_day(
    day: date,
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Site 1's Live visits whose last action is on `day`, and (visit, action) of every action
    on `day` (the next day's visits begun before midnight included), as Live renders them."""
    sb = recorded_sandbox()
    site = sb.world.site(1)
    start = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())
    end = start + 86400
    visits = [
        render_visit(v, site, sb.world.seed, with_actions=True) for v in sb.world.day_visits(1, day)
    ]
    later = [
        render_visit(v, site, sb.world.seed, with_actions=True)
        for v in sb.world.day_visits(1, day + timedelta(days=1))
    ]
    actions = [
        (v, a) for v in visits + later for a in v["actionDetails"] if start <= a["timestamp"] < end
    ]
    return visits, actions


# -- shapes ----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("number", _CASES)
async def test_recorded_requests_answer_in_the_recorded_shape(number: int) -> None:
    """Each recorded request of the new methods answers as recorded: same kinds, no key the
    recording lacks, and objects with the recorded keys in the recorded order."""
    request, body = load_case(number)
    recorded = json.loads(body)
    actual = await recorded_json(**request["params"])
    assert shape_mismatches(recorded, actual) == []
    if isinstance(recorded, dict):
        assert list(actual) == list(recorded)
    else:
        assert bool(actual) == bool(recorded)
        assert {k for r in actual for k in r} <= {k for r in recorded for k in r}


@pytest.mark.anyio
async def test_days_to_conversion_has_every_range_in_order() -> None:
    """Goals.getDaysToConversion lists the recorded ranges in Matomo's order, zeros included."""
    request, body = load_case(116)
    actual = await recorded_json(**request["params"])
    assert [r["label"] for r in actual] == [r["label"] for r in json.loads(body)]


# -- VisitFrequency / Referrers / PagePerformance / API.get ---------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("where", [_MONTH, _ON_DAY, {**_ON_DAY, "idSite": 2}])
async def test_visit_frequency_is_visits_summary_of_new_and_returning_visits(
    where: dict[str, Any],
) -> None:
    """VisitFrequency.get is VisitsSummary.get narrowed to new and to returning visitors (the
    Live visitorTypes new, and returning or returningCustomer), suffixed; they add up."""
    frequency = await recorded_json(method="VisitFrequency.get", **where)
    total = await recorded_json(method="VisitsSummary.get", **where)
    for suffix, segment in (
        ("_new", "visitorType==new"),
        ("_returning", "visitorType==returning,visitorType==returningCustomer"),
    ):
        part = await recorded_json(method="VisitsSummary.get", segment=segment, **where)
        assert {k + suffix: v for k, v in part.items()} == {
            k: v for k, v in frequency.items() if k.endswith(suffix)
        }
    for key in ("nb_visits", "nb_actions", "bounce_count", "sum_visit_length"):
        assert frequency[f"{key}_new"] + frequency[f"{key}_returning"] == total[key]


@pytest.mark.anyio
async def test_visit_frequency_counts_the_live_visitor_types() -> None:
    """A day's new and returning visits are those of its Live visits by visitorType."""
    visits, _ = _live_day(_DAY)
    types = Counter("new" if v["visitorType"] == "new" else "returning" for v in visits)
    frequency = await recorded_json(method="VisitFrequency.get", **_ON_DAY)
    assert frequency["nb_visits_new"] == types["new"]
    assert frequency["nb_visits_returning"] == types["returning"]


@pytest.mark.anyio
async def test_visit_frequency_keeps_the_requests_segment() -> None:
    """With a segment, each visitor type is narrowed by it too."""
    where = {**_MONTH, "segment": "referrerType==search"}
    frequency = await recorded_json(method="VisitFrequency.get", **where)
    new = await recorded_json(
        method="VisitsSummary.get", **_MONTH, segment="referrerType==search;visitorType==new"
    )
    assert frequency["nb_visits_new"] == new["nb_visits"]
    assert frequency["nb_actions_new"] == new["nb_actions"]


@pytest.mark.anyio
async def test_visit_frequency_of_several_periods_and_sites_is_a_map() -> None:
    """Several periods and sites key the answer as VisitsSummary.get does; empty periods `[]`."""
    value = await recorded_json(
        method="VisitFrequency.get", idSite="1,3", period="day", date="last2"
    )
    assert set(value) == {"1", "3"}
    assert set(value["1"]) == {"2026-11-28", "2026-11-29"}
    assert value["3"] == {"2026-11-28": [], "2026-11-29": []}
    one = await recorded_json(
        method="VisitFrequency.get", idSite=1, period="day", date="2026-11-28"
    )
    assert value["1"]["2026-11-28"] == one


@pytest.mark.anyio
@pytest.mark.parametrize("where", [_MONTH, _ON_DAY])
async def test_referrers_get_adds_up_the_referrer_reports(where: dict[str, Any]) -> None:
    """Referrers.get: visits per type as getReferrerType's rows, distinct counts as the rows of
    the by-name reports, percentages of all visits."""
    value = await recorded_json(method="Referrers.get", **where)
    types = {r["label"]: r["nb_visits"] for r in await recorded_json(
        method="Referrers.getReferrerType", filter_limit=-1, **where
    )}  # fmt: skip
    names = {
        "Direct Entry": "DirectEntry",
        "Search Engines": "SearchEngines",
        "Websites": "Websites",
        "Campaigns": "Campaigns",
        "Social Networks": "SocialNetworks",
    }
    for label, name in names.items():
        assert value[f"Referrers_visitorsFrom{name}"] == types.get(label, 0)
    total = sum(types.values())
    assert total == (await recorded_json(method="VisitsSummary.get", **where))["nb_visits"]
    direct = value["Referrers_visitorsFromDirectEntry_percent"]
    assert direct == f"{round(types['Direct Entry'] / total * 100)}%"
    for key, method in (
        ("distinctSearchEngines", "getSearchEngines"),
        ("distinctSocialNetworks", "getSocials"),
        ("distinctKeywords", "getKeywords"),
        ("distinctWebsites", "getWebsites"),
        ("distinctCampaigns", "getCampaigns"),
    ):
        rows = await recorded_json(method=f"Referrers.{method}", filter_limit=-1, **where)
        assert value[f"Referrers_{key}"] == len(rows), key
    urls = await recorded_json(method="Referrers.getWebsites", flat=1, filter_limit=-1, **where)
    assert value["Referrers_distinctWebsitesUrls"] == len(urls)


@pytest.mark.anyio
async def test_page_performance_averages_the_live_page_timings() -> None:
    """PagePerformance.get: the day's timed page views (Live's pageLoadTimeMilliseconds)
    averaged; API.get has their count and total."""
    _, actions = _live_day(_DAY)
    loads = [a["pageLoadTimeMilliseconds"] for _, a in actions if "pageLoadTimeMilliseconds" in a]
    assert loads
    value = await recorded_json(method="PagePerformance.get", **_ON_DAY)
    assert value["avg_page_load_time"] == round(sum(loads) / len(loads) / 1000, 2)
    merged = await recorded_json(method="API.get", **_ON_DAY)
    assert merged["PagePerformance_pageload_hits"] == len(loads)
    assert merged["PagePerformance_pageload_time"] == round(sum(loads) / 1000, 3)
    assert merged["PagePerformance_network_hits"] == len(loads)


@pytest.mark.anyio
async def test_page_performance_agrees_with_the_page_report() -> None:
    """Each average is the page rows' averages weighted by their timed hits."""
    value = await recorded_json(method="PagePerformance.get", **_MONTH)
    rows = await recorded_json(method="Actions.getPageUrls", flat=1, filter_limit=-1, **_MONTH)
    timed = [r for r in rows if r.get("nb_hits_with_time_server")]
    hits = sum(int(r["nb_hits_with_time_server"]) for r in timed)
    weighted = sum(r["avg_time_server"] * int(r["nb_hits_with_time_server"]) for r in timed)
    assert value["avg_time_server"] == pytest.approx(weighted / hits, abs=0.006)


@pytest.mark.anyio
async def test_page_performance_without_timings_is_zero() -> None:
    """The blog's pages are never timed: every average is 0."""
    value = await recorded_json(method="PagePerformance.get", **{**_MONTH, "idSite": 2})
    assert set(value.values()) == {0}


@pytest.mark.anyio
@pytest.mark.parametrize("where", [_MONTH, _ON_DAY])
async def test_api_get_merges_the_other_reports(where: dict[str, Any]) -> None:
    """API.get's values are those of VisitsSummary, VisitFrequency, Referrers, PagePerformance,
    Goals and Actions; no visit is an AI agent's, so the human figures are VisitsSummary's."""
    merged = await recorded_json(method="API.get", **where)
    parts: dict[str, Any] = {}
    for method in (
        "VisitFrequency.get",
        "Referrers.get",
        "PagePerformance.get",
        "Goals.get",
        "Actions.get",
        "VisitsSummary.get",
    ):
        parts.update(await recorded_json(method=method, **where))
    shared = [k for k in merged if k in parts]
    assert len(shared) > 60
    assert {k: merged[k] for k in shared} == {k: parts[k] for k in shared}
    assert merged["nb_visits_human"] == parts["nb_visits"]
    assert merged["nb_visits_ai_agent"] == 0
    only = await recorded_json(method="API.get", columns="nb_visits", **where)
    assert only == {"value": parts["nb_visits"]}


# -- Live.getMostRecentVisitorId -------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("segment", [None, "visitorType==new", "referrerType==campaign"])
async def test_most_recent_visitor_is_lives_first_row(segment: str | None) -> None:
    """Live.getMostRecentVisitorId is the visitorId of Live's latest visit (of the segment)."""
    extra = {"segment": segment} if segment else {}
    live = await recorded_json(
        method="Live.getLastVisitsDetails", idSite=1, filter_limit=1, **extra
    )
    value = await recorded_json(method="Live.getMostRecentVisitorId", idSite=1, **extra)
    assert value == {"value": live[0]["visitorId"]}


@pytest.mark.anyio
async def test_most_recent_visitor_of_a_site_without_visits_is_false() -> None:
    """A site without visits answers false, as Matomo does."""
    assert await recorded_json(method="Live.getMostRecentVisitorId", idSite=3) == {"value": False}


# -- UserId / UserCountry.getCity -------------------------------------------------------------


@pytest.mark.anyio
async def test_users_are_the_live_visits_with_a_user_id() -> None:
    """UserId.getUsers: a day's visits per user id as Live shows them, with the visitorId of
    the user's latest visit and a segment that selects them."""
    visits, _ = _live_day(_DAY)
    by_user: dict[str, list[dict[str, Any]]] = {}
    for v in visits:
        if v["userId"] is not None:
            by_user.setdefault(v["userId"], []).append(v)
    assert by_user
    rows = await recorded_json(method="UserId.getUsers", filter_limit=-1, **_ON_DAY)
    assert {r["label"]: r["nb_visits"] for r in rows} == {u: len(vs) for u, vs in by_user.items()}
    for row in rows:
        latest = max(by_user[row["label"]], key=lambda v: (v["lastActionTimestamp"], v["idVisit"]))
        assert row["idvisitor"] == latest["visitorId"]
        summary = await recorded_json(method="VisitsSummary.get", segment=row["segment"], **_ON_DAY)
        assert summary["nb_visits"] == row["nb_visits"]
        assert summary["nb_actions"] == row["nb_actions"]


@pytest.mark.anyio
async def test_users_of_a_month_add_up_to_the_visits_with_a_user() -> None:
    """Over a month the users' visits are VisitsSummary's visits that have a user id."""
    rows = await recorded_json(method="UserId.getUsers", filter_limit=-1, **_MONTH)
    with_user = await recorded_json(method="VisitsSummary.get", segment="userId!=", **_MONTH)
    assert sum(r["nb_visits"] for r in rows) == with_user["nb_visits"]
    assert await recorded_json(method="UserId.getUsers", **{**_MONTH, "idSite": 2}) == []


@pytest.mark.anyio
@pytest.mark.parametrize("where", [_MONTH, _ON_DAY, {**_MONTH, "idSite": 2}])
async def test_the_unknown_city_holds_every_visit(where: dict[str, Any]) -> None:
    """UserCountry.getCity: one Unknown row (Live's city is null) with VisitsSummary's visits
    and UserCountry.getCountry's conversions."""
    (row,) = await recorded_json(method="UserCountry.getCity", **where)
    summary = await recorded_json(method="VisitsSummary.get", **where)
    for key in ("nb_visits", "nb_actions", "bounce_count", "sum_visit_length", "max_actions"):
        assert row[key] == summary[key]
    countries = await recorded_json(method="UserCountry.getCountry", filter_limit=-1, **where)
    assert row["nb_conversions"] == sum(r.get("nb_conversions", 0) for r in countries)
    assert row["revenue"] == pytest.approx(sum(r.get("revenue", 0) for r in countries))
    if where["period"] == "day":
        assert row["nb_uniq_visitors"] == summary["nb_uniq_visitors"]


# -- site search --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_site_search_keywords_are_the_live_searches_of_the_day() -> None:
    """Keyword rows count the day's Live search actions (hits and visits); keywords without
    results are those Live shows with siteSearchCount 0; categories group the searches."""
    _, actions = _live_day(_DAY)
    searches = [(v, a) for v, a in actions if a["type"] == "search"]
    assert searches
    hits = Counter(a["siteSearchKeyword"] for _, a in searches)
    visits = Counter(k for k, _ in {(a["siteSearchKeyword"], v["idVisit"]) for v, a in searches})
    rows = await recorded_json(method="Actions.getSiteSearchKeywords", filter_limit=-1, **_ON_DAY)
    assert {r["label"]: r["nb_hits"] for r in rows} == dict(hits)
    assert {r["label"]: r["nb_visits"] for r in rows} == dict(visits)
    empty = {a["siteSearchKeyword"] for _, a in searches if a["siteSearchCount"] == 0}
    none = await recorded_json(
        method="Actions.getSiteSearchNoResultKeywords", filter_limit=-1, **_ON_DAY
    )
    assert {r["label"] for r in none} == empty
    categories = Counter(a["siteSearchCategory"] for _, a in searches if a["siteSearchCategory"])
    rows = await recorded_json(method="Actions.getSiteSearchCategories", filter_limit=-1, **_ON_DAY)
    assert {r["label"]: r["nb_actions"] for r in rows} == dict(categories)


@pytest.mark.anyio
@pytest.mark.parametrize("where", [_MONTH, {**_MONTH, "idSite": 2}])
async def test_site_search_keywords_add_up_to_actions_get(where: dict[str, Any]) -> None:
    """Keyword hits add up to Actions.get's nb_searches, their number is its nb_keywords."""
    rows = await recorded_json(method="Actions.getSiteSearchKeywords", filter_limit=-1, **where)
    actions = await recorded_json(method="Actions.get", **where)
    assert sum(r["nb_hits"] for r in rows) == actions["nb_searches"]
    assert len(rows) == actions["nb_keywords"]
    for row in rows:
        assert row["nb_pages_per_search"] == round(row["nb_hits"] / row["nb_visits"], 1)
        assert row["avg_time_on_page"] == round(row["sum_time_spent"] / row["nb_hits"])


@pytest.mark.anyio
async def test_site_search_segments_select_the_searching_visits() -> None:
    """A keyword row's segment selects the visits that searched it."""
    rows = await recorded_json(method="Actions.getSiteSearchKeywords", **_ON_DAY)
    for row in rows:
        summary = await recorded_json(method="VisitsSummary.get", segment=row["segment"], **_ON_DAY)
        assert summary["nb_visits"] >= 1
    for row in await recorded_json(method="Actions.getSiteSearchCategories", **_MONTH):
        summary = await recorded_json(method="VisitsSummary.get", segment=row["segment"], **_MONTH)
        assert summary["nb_visits"] >= 1


# -- Goals.getDaysToConversion -------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("where", [_MONTH, _ON_DAY])
async def test_days_to_conversion_adds_up_to_goals_get(where: dict[str, Any]) -> None:
    """Without idGoal the ranges hold every goal's conversions but the ecommerce ones (as
    recorded); with idGoal those of that goal."""
    rows = await recorded_json(method="Goals.getDaysToConversion", **where)
    goals = [
        (await recorded_json(method="Goals.get", idGoal=g, **where))["nb_conversions"]
        for g in (1, 2)
    ]
    assert sum(r["nb_conversions"] for r in rows) == sum(goals)
    for id_goal in ("1", "ecommerceOrder", "ecommerceAbandonedCart"):
        rows = await recorded_json(method="Goals.getDaysToConversion", idGoal=id_goal, **where)
        goal = await recorded_json(method="Goals.get", idGoal=id_goal, **where)
        assert sum(r["nb_conversions"] for r in rows) == goal["nb_conversions"], id_goal


@pytest.mark.anyio
async def test_days_to_conversion_reads_lives_days_since_first_visit() -> None:
    """The day's goal conversions fall in the range of their visit's daysSinceFirstVisit."""
    _, actions = _live_day(_DAY)
    days = [v["daysSinceFirstVisit"] for v, a in actions if a["type"] == "goal"]
    assert days
    rows = await recorded_json(method="Goals.getDaysToConversion", **_ON_DAY)
    counts = {r["label"]: r["nb_conversions"] for r in rows}
    assert counts["0 days"] == sum(1 for d in days if d == 0)
    assert counts["31-60 days"] == sum(1 for d in days if 31 <= d <= 60)
    assert sum(counts.values()) == len(days)


# -- metadata -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_report_metadata_lists_the_new_reports_as_recorded() -> None:
    """API.getReportMetadata lists the new reports with the recorded entries, in order, and
    each listed entry answers."""
    request, body = load_case(146)
    recorded = json.loads(body)
    actual = await recorded_json(**request["params"])
    by_id = {r["uniqueId"]: r for r in recorded}
    ids = [r["uniqueId"] for r in actual]
    for uid in _NEW_METADATA:
        entry = next(r for r in actual if r["uniqueId"] == uid)
        assert {k: v for k, v in entry.items() if not k.startswith("imageGraph")} == {
            k: v for k, v in by_id[uid].items() if not k.startswith("imageGraph")
        }
        assert entry["imageGraphUrl"] == by_id[uid]["imageGraphUrl"]
    order = [i for i in ids if i in by_id]
    assert order == [i for i in by_id if i in set(order)]
