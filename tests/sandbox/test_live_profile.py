"""Live.getCounters and Live.getVisitorProfile: the recorded shapes (cases 061-063, 065, 165,
226, 227), counts that agree with Live.getLastVisitsDetails over the same minutes, and profiles
that add up that visitor's Live visits."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sandbox_support import (
    RECORDED_TODAY,
    api,
    api_json,
    client_for,
    load_case,
    recorded_config,
    recorded_json,
    recorded_sandbox,
    shape_mismatches,
)

from matomo_client.sandbox import Sandbox
from matomo_client.sandbox.live import live_visits
from matomo_client.sandbox.live_profile import live_counters
from matomo_client.sandbox.render import visitor_hex

_COUNTER_CASES = [61, 62, 165, 227]
# every recorded Live visit: one profile's visits show few action types (as test_sandbox_fidelity)
_LIVE_REFERENCE = [
    visit
    for n in [*range(49, 61), 228]
    for visit in json.loads(load_case(n)[1])
    if isinstance(visit, dict)
]
_ACTION_TYPES = {"action", "download", "outlink", "search", "event"}
_CONVERSION_TYPES = {"goal", "ecommerceOrder", "ecommerceAbandonedCart"}
_RECORDED_PROFILE = json.loads(load_case(63)[1])


def _end_of_today(tz: str) -> int:
    """The recorded sandbox's `now` for a site: the midnight after its today (no clock runs)."""
    day = RECORDED_TODAY
    return int(datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).timestamp()) + 86400


async def _all_live(id_site: int, **params: Any) -> list[dict[str, Any]]:
    """Every Live visit of a site (all days), newest first."""
    visits: list[dict[str, Any]] = await recorded_json(
        method="Live.getLastVisitsDetails", idSite=id_site, filter_limit=-1, **params
    )
    return visits


# -- Live.getCounters ---------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("number", _COUNTER_CASES)
async def test_counters_answer_in_the_recorded_shape(number: int) -> None:
    """Each recorded getCounters request answers one row with the recorded keys, in order, as ints."""
    request, body = load_case(number)
    recorded = json.loads(body)
    actual = await recorded_json(**request["params"])
    assert shape_mismatches(recorded, actual) == []
    assert len(actual) == 1
    assert list(actual[0]) == list(recorded[0])
    assert all(type(v) is int for v in actual[0].values())


@pytest.mark.anyio
@pytest.mark.parametrize(("id_site", "tz"), [(1, "UTC"), (2, "Europe/Berlin"), (3, "UTC")])
@pytest.mark.parametrize("minutes", [30, 180, 1440, 2880])
async def test_counters_agree_with_live_over_the_same_minutes(
    id_site: int, tz: str, minutes: int
) -> None:
    """visits, visitors, actions and conversions are those of the Live visits whose last action
    is in the last `minutes` before the end of today (actions and conversions from then on)."""
    start = _end_of_today(tz) - minutes * 60
    live = await _all_live(id_site, minTimestamp=start - 1)  # Live's minTimestamp is strict
    actions = [a for v in live for a in v["actionDetails"] if a["timestamp"] >= start]
    expected = {
        "visits": len(live),
        "actions": sum(a["type"] in _ACTION_TYPES for a in actions),
        "visitors": len({v["visitorId"] for v in live}),
        "visitsConverted": sum(a["type"] in _CONVERSION_TYPES for a in actions),
    }
    counters = await recorded_json(method="Live.getCounters", idSite=id_site, lastMinutes=minutes)
    assert counters == [expected]
    if id_site != 3 and minutes >= 1440:  # not vacuous: a day holds visits (site 3 none)
        assert expected["visits"] > 0
        assert expected["actions"] > 0


def test_counters_count_back_from_the_sandbox_clock() -> None:
    """With a running clock (`World.cutoff`), now is the clock: visits not yet begun are not
    counted, and the counts are those of the Live visits seen at that instant."""
    world = Sandbox(recorded_config()).world
    now = _end_of_today("UTC") - 6 * 3600  # 18:00 on the recorded day
    world.cutoff = now
    start = now - 120 * 60
    live = live_visits(world, [1], {"minTimestamp": str(start - 1), "filter_limit": "-1"})
    assert all(v["lastActionTimestamp"] <= now for v in live)
    actions = [a for v in live for a in v["actionDetails"] if a["timestamp"] >= start]
    counters = live_counters(world, [1], {"lastMinutes": "120"})
    assert counters[0]["visits"] == len(live) > 0
    assert counters[0]["actions"] == sum(a["type"] in _ACTION_TYPES for a in actions)
    assert counters[0]["visitors"] == len({v["visitorId"] for v in live})


@pytest.mark.anyio
async def test_counters_of_a_day_count_that_days_visits() -> None:
    """Over 1440 minutes site 1 (UTC) counts exactly the Live visits last active today."""
    live = await _all_live(1, doNotFetchActions=1)
    today = [v for v in live if v["serverDate"] == RECORDED_TODAY.isoformat()]
    counters = await recorded_json(method="Live.getCounters", idSite=1, lastMinutes=1440)
    assert counters[0]["visits"] == len(today) > 0
    assert counters[0]["visitors"] == len({v["visitorId"] for v in today})


@pytest.mark.anyio
async def test_counters_follow_the_segment() -> None:
    """With a segment, the counts are those of the Live visits in that segment."""
    segment = "visitorType==new"
    start = _end_of_today("UTC") - 2880 * 60
    live = await _all_live(1, minTimestamp=start - 1, segment=segment)
    counters = await recorded_json(
        method="Live.getCounters", idSite=1, lastMinutes=2880, segment=segment
    )
    everyone = await recorded_json(method="Live.getCounters", idSite=1, lastMinutes=2880)
    assert counters[0]["visits"] == len(live)
    assert 0 < counters[0]["visits"] < everyone[0]["visits"]


@pytest.mark.anyio
async def test_counters_show_and_hide_columns() -> None:
    """showColumns keeps the named counters and hideColumns drops them, as Live\\API does."""
    full = (await recorded_json(method="Live.getCounters", idSite=1, lastMinutes=600))[0]
    shown = await recorded_json(
        method="Live.getCounters", idSite=1, lastMinutes=600, showColumns="visitors,visits"
    )
    hidden = await recorded_json(
        method="Live.getCounters", idSite=1, lastMinutes=600, hideColumns="visitsConverted,visitors"
    )
    assert shown == [{"visits": full["visits"], "visitors": full["visitors"]}]
    assert hidden == [{"visits": full["visits"], "actions": full["actions"]}]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("minutes", "status", "message"),
    [
        ("0", 200, "lastMinutes only accepts values between 1 and 2880"),
        ("2881", 200, "lastMinutes only accepts values between 1 and 2880"),
        ("", 400, "Please specify a value for 'lastMinutes'."),
    ],
)
async def test_counters_refuse_minutes_out_of_range(
    minutes: str, status: int, message: str
) -> None:
    """lastMinutes outside 1..2880 or missing gets Matomo's error."""
    async with client_for(recorded_sandbox()) as client:
        response = await api(client, method="Live.getCounters", idSite=1, lastMinutes=minutes)
    assert response.status_code == status
    assert response.json() == {"result": "error", "message": message}


# -- Live.getVisitorProfile -----------------------------------------------------------------


def _optional_keys_in_place(profile: dict[str, Any]) -> list[str]:
    """The profile's keys without those Matomo adds only when there is something to show
    (`totalRevenueByGoal`, page timing averages), after checking where they stand."""
    keys = list(profile)
    if "averagePageLoadTime" in keys:
        assert profile["totalPageViewsWithLoadTime"] > 0
        assert keys[keys.index("averagePageLoadTime") - 1] == "visitedPages"
    else:
        assert profile["totalPageViewsWithLoadTime"] == 0
    if "totalRevenueByGoal" in keys:
        assert keys[keys.index("totalRevenueByGoal") + 1] == "lastVisits"
    optional = {"averagePageLoadTime", "averagePageGenerationTime", "totalRevenueByGoal"}
    return [k for k in keys if k not in optional]


def _like_recorded(profile: dict[str, Any]) -> bool:
    """A profile in the recorded situation: nothing that adds optional keys or goal maps."""
    return (
        profile["totalPageViewsWithLoadTime"] == 0
        and profile["totalConversionsByGoal"] == []
        and profile["totalEcommerceItems"] == 0
        and profile["totalAbandonedCartsItems"] == 0
        and isinstance(profile["nextVisitorId"], str)
        and "customDimensions" in profile
    )


@pytest.mark.anyio
async def test_profile_answers_in_the_recorded_shape() -> None:
    """A profile like the recorded one has its 37 keys in the recorded order and kinds, and
    its lastVisits are Live visits in the recorded shape (the adjacent visitor ids are a
    visitorId or false: the recorded visitor, the latest, had no later one)."""
    today = await _all_live(1, period="day", date=RECORDED_TODAY.isoformat())
    profile = None
    for visit in today:  # newest first: the recorded visitor was the most recent one
        candidate = await recorded_json(
            method="Live.getVisitorProfile", idSite=1, visitorId=visit["visitorId"]
        )
        if _like_recorded(candidate):
            profile = candidate
            break
    assert profile is not None
    assert list(profile) == list(_RECORDED_PROFILE)
    skip = {"lastVisits", "previousVisitorId"}
    top = {k: v for k, v in _RECORDED_PROFILE.items() if k not in skip}
    assert shape_mismatches(top, {k: v for k, v in profile.items() if k not in skip}) == []
    assert re.fullmatch("[0-9a-f]{16}", profile["previousVisitorId"] or profile["nextVisitorId"])
    assert shape_mismatches(_LIVE_REFERENCE, profile["lastVisits"]) == []
    assert list(profile["firstVisit"]) == list(_RECORDED_PROFILE["firstVisit"])


@pytest.mark.anyio
async def test_default_profile_is_the_most_recent_visitors() -> None:
    """Without visitorId the profile is that of Live.getMostRecentVisitorId, keys as recorded
    (plus the optional ones where Matomo puts them), and no later visitor exists."""
    latest = await recorded_json(method="Live.getMostRecentVisitorId", idSite=1)
    profile = await recorded_json(method="Live.getVisitorProfile", idSite=1)
    assert profile["visitorId"] == latest["value"]
    assert _optional_keys_in_place(profile) == list(_RECORDED_PROFILE)
    assert profile["previousVisitorId"] is False
    live = await _all_live(1, doNotFetchActions=1)
    others = [v["visitorId"] for v in live if v["visitorId"] != profile["visitorId"]]
    assert profile["nextVisitorId"] == others[0]


@pytest.mark.anyio
async def test_profile_totals_add_up_the_visitors_live_visits() -> None:
    """The most frequent visitor's totals are sums over their Live visits, all of them shown."""
    live = await _all_live(1)
    per_visitor = Counter(v["visitorId"] for v in live)
    visitor_id, count = per_visitor.most_common(1)[0]
    assert count > 3
    mine = [v for v in live if v["visitorId"] == visitor_id]
    profile = await recorded_json(method="Live.getVisitorProfile", idSite=1, visitorId=visitor_id)
    actions = [a for v in mine for a in v["actionDetails"]]
    pages = [a["url"] for a in actions if a["type"] == "action"]
    assert profile["visitorId"] == visitor_id
    assert profile["hasMoreVisits"] is False
    assert profile["totalVisits"] == len(mine)
    assert profile["totalActions"] == sum(v["actions"] for v in mine)
    assert profile["totalVisitDuration"] == sum(v["visitDuration"] for v in mine)
    assert profile["totalPageViews"] == len(pages)
    assert profile["totalUniquePageViews"] == len(set(pages))
    assert profile["totalRevisitedPages"] == sum(n > 1 for n in Counter(pages).values())
    assert profile["visitedPages"] == sorted(
        ({"url": u, "count": n} for u, n in Counter(pages).items()),
        key=lambda p: (-p["count"], p["url"]),
    )
    assert profile["totalEvents"] == sum(a["type"] == "event" for a in actions)
    assert profile["totalDownloads"] == sum(a["type"] == "download" for a in actions)
    assert profile["totalOutlinks"] == sum(a["type"] == "outlink" for a in actions)
    assert profile["totalGoalConversions"] == sum(v["goalConversions"] for v in mine)
    orders = sum(v["totalEcommerceConversions"] for v in mine)
    assert profile["totalEcommerceConversions"] == orders
    assert [v["idVisit"] for v in profile["lastVisits"]] == [v["idVisit"] for v in mine]
    assert profile["lastVisits"] == mine
    assert profile["visitsAggregated"] == len(mine)
    assert profile["firstVisit"]["date"] == mine[-1]["firstActionTimestamp"]
    assert profile["lastVisit"]["date"] == mine[0]["firstActionTimestamp"]
    assert profile["lastVisit"]["daysAgo"] == 0 or mine[0]["serverDate"] != "2026-11-29"
    assert sum(d["count"] for d in profile["devices"]) == len(mine)
    assert sum(c["nb_visits"] for c in profile["countries"]) == len(mine)
    assert sum(c["nb_visits"] for c in profile["continents"]) == len(mine)
    assert [c["nb_visits"] for c in profile["countries"]] == sorted(
        c["nb_visits"] for c in profile["countries"]
    )
    visit_dims = profile["customDimensions"]["visit"][0]["values"]
    assert sum(d["count"] for d in visit_dims) == len(mine)


@pytest.mark.anyio
async def test_limit_visits_shows_fewer_but_sums_all() -> None:
    """limitVisits shortens lastVisits (and visitsAggregated, as Matomo counts it) only."""
    profile = await recorded_json(method="Live.getVisitorProfile", idSite=1)
    short = await recorded_json(
        method="Live.getVisitorProfile",
        idSite=1,
        visitorId=profile["visitorId"],
        limitVisits=1,
    )
    assert short["lastVisits"] == profile["lastVisits"][:1]
    assert short["visitsAggregated"] == 1
    assert short["totalVisits"] == profile["totalVisits"]
    assert short["firstVisit"] == profile["firstVisit"]


@pytest.mark.anyio
async def test_a_visitor_with_over_100_visits_has_more_visits() -> None:
    """Matomo aggregates a visitor's 100 most recent visits (`hasMoreVisits` beyond) and shows
    the 10 most recent; firstVisit is then the oldest of those 100."""
    sb = Sandbox(recorded_config(days=5200, visits_per_day=4))  # a small pool over 14 years
    world = sb.world
    days = [world.first_day + timedelta(days=i) for i in range(world.days)]
    visits = [v for day in days for v in world.day_visits(1, day)]
    regular, count = Counter(v.visitor for v in visits).most_common(1)[0]
    assert count > 100
    theirs = sorted(
        (v for v in visits if v.visitor == regular), key=lambda v: (v.last_ts, v.id_visit)
    )[::-1][:100]
    async with client_for(sb) as client:
        profile = await api_json(
            client,
            method="Live.getVisitorProfile",
            idSite=1,
            visitorId=visitor_hex(world.seed, 1, regular),
        )
    assert profile["hasMoreVisits"] is True
    assert profile["totalVisits"] == 100
    assert profile["totalActions"] == sum(v.n_actions for v in theirs)
    assert [v["idVisit"] for v in profile["lastVisits"]] == [v.id_visit for v in theirs[:10]]
    assert profile["firstVisit"]["date"] == theirs[-1].first_ts


@pytest.mark.anyio
async def test_profile_of_a_site_without_ecommerce_has_no_ecommerce_totals() -> None:
    """Site 2 (no ecommerce, no custom dimensions) leaves those keys out, as Matomo does."""
    profile = await recorded_json(method="Live.getVisitorProfile", idSite=2)
    assert "totalEcommerceRevenue" not in profile
    assert "customDimensions" not in profile
    assert profile["totalVisits"] >= 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "params",
    [
        {"idSite": 1, "visitorId": "0000000000000000"},  # recorded 065
        {"idSite": 1, "visitorId": "not-a-visitor"},
        {"idSite": 3},  # no visits at all
    ],
)
async def test_unknown_visitor_is_an_empty_list(params: dict[str, Any]) -> None:
    """A visitor without visits gets `[]`, as recorded in case 065."""
    request, body = load_case(65)
    assert json.loads(body) == []
    assert await recorded_json(method="Live.getVisitorProfile", **params) == []
    assert await recorded_json(**request["params"]) == []


@pytest.mark.anyio
async def test_visits_log_disabled() -> None:
    """With site 2's visits log off, the profile is refused with the recorded error (226) and
    the counters still answer a counters row (227): Matomo's getCounters does not check it."""
    sb = Sandbox(recorded_config(live_disabled_sites=frozenset({2})))
    profile_request, profile_body = load_case(226)
    counters_request, counters_body = load_case(227)
    async with client_for(sb) as client:
        refused = await api(client, **profile_request["params"])
        counted = await api(client, **counters_request["params"])
        other = await api(client, method="Live.getVisitorProfile", idSite=1)
    assert refused.status_code == profile_request["status"] == 200
    assert refused.json() == json.loads(profile_body)
    assert counted.status_code == 200
    assert shape_mismatches(json.loads(counters_body), counted.json()) == []
    assert other.json()["totalVisits"] >= 1


def test_end_of_today_is_the_midnight_after_the_recorded_day() -> None:
    """The test's clock helper: site 1's today ends at 2026-11-30 00:00 UTC."""
    assert _end_of_today("UTC") == int(datetime(2026, 11, 30, tzinfo=timezone.utc).timestamp())
