"""`Live.getCounters` and `Live.getVisitorProfile` over a `World`, from the visits Live serves.

Counters follow `plugins/Live/Model.php` (`getLastMinutesCounterForQuery`): visits whose last
action is at or after `now - lastMinutes`, the distinct visitors among them, their tracked
actions (log_link_visit_action rows) and conversions (log_conversion rows: goals, orders and
abandoned carts) at or after that instant. `now` is the sandbox's clock (`World.cutoff`) or,
with a fixed `today` and no clock, the end of the site's today (every visit of today is seen).

The profile follows `plugins/Live/VisitorProfile.php` and each plugin's `VisitorDetails`
(`initProfile`, `handleProfileVisit`/`handleProfileAction`, `finalizeProfile`), whose order
fixes the key order: it is built from the visitor's 100 most recent visits as Live renders
them, shows the 10 most recent (`limitVisits`), and names the adjacent visitors by last action
within a day (`Model::queryAdjacentVisitorId`). An unknown visitor is `[]` (recorded 065).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date, timedelta
from functools import cmp_to_key, lru_cache
from typing import Any

from .dates import ApiFailure
from .formats import ICONS, money, pretty_duration
from .live import live_visits, live_window
from .records import CART, COUNTED, GOAL, ORDER, Visit, local_midnight, utc_offset
from .render import render_visit, visitor_hex
from .segments import parse_segment
from .settings import configured_custom_dimensions
from .world import World

__all__ = ["live_counters", "live_now", "visitor_profile"]

_INT = re.compile(r"^\s*[+-]?[0-9]+\s*$")
_COUNTERS = ("visits", "actions", "visitors", "visitsConverted")
#: `live_visitor_profile_max_visits_to_aggregate` (config/global.ini.php)
_MAX_AGGREGATED = 100
#: `VisitorProfile::VISITOR_PROFILE_MAX_VISITS_TO_SHOW`
_VISITS_SHOWN = 10
_CONVERSIONS = frozenset({GOAL, ORDER, CART})
_DAY = 86400


def live_now(world: World, ids: list[int]) -> int:
    """The sandbox's `now` for Live: its clock, or the end of today (latest of the sites)."""
    if world.cutoff is not None:
        return world.cutoff
    return max(
        local_midnight(world.site_today(i) + timedelta(days=1), world.site(i).timezone) for i in ids
    )


def live_counters(world: World, ids: list[int], params: Mapping[str, str]) -> list[dict[str, int]]:
    """`Live.getCounters`: one row of the last `lastMinutes` minutes' counts over sites `ids`.

    `showColumns`/`hideColumns` drop counters as `API::shouldColumnBePresentInResponse` does.
    """
    raw = params.get("lastMinutes")
    if raw is None or raw.strip() == "":
        raise ApiFailure("Please specify a value for 'lastMinutes'.", 400)
    minutes = int(raw) if _INT.match(raw) else 0
    if not 1 <= minutes <= 2880:
        raise ApiFailure("lastMinutes only accepts values between 1 and 2880")
    start = live_now(world, ids) - minutes * 60
    segment = parse_segment(params.get("segment"), world.sites, ids)
    visits = actions = conversions = 0
    visitors: set[tuple[int, int]] = set()
    for id_site in ids:
        for visit in _visits_since(world, id_site, start):
            if segment is not None and not segment(visit):
                continue
            visits += 1
            visitors.add((id_site, visit.visitor))
            for action in visit.actions:
                if action.ts >= start:
                    actions += action.kind in COUNTED
                    conversions += action.kind in _CONVERSIONS
    counts = dict(zip(_COUNTERS, (visits, actions, len(visitors), conversions), strict=True))
    shown = [c for c in (params.get("showColumns") or "").split(",") if c]
    hidden = set((params.get("hideColumns") or "").split(","))
    return [{k: v for k, v in counts.items() if (not shown or k in shown) and k not in hidden}]


def _visits_since(world: World, id_site: int, start: int) -> Iterator[Visit]:
    """The site's visible visits whose last action is at or after `start`, newest day first."""
    tz = world.site(id_site).timezone
    days, _, _ = live_window(world, id_site, None, None)
    for day in reversed(days):
        if local_midnight(day + timedelta(days=1), tz) <= start:
            break
        yield from (v for v in world.live_order(id_site, day) if v.last_ts >= start)


def visitor_profile(world: World, id_site: int, params: Mapping[str, str]) -> Any:
    """`Live.getVisitorProfile` of `visitorId` (default: the most recent visitor) on a site,
    or `[]` when that visitor has no visits."""
    segment_text = params.get("segment") or ""
    visitor_id = (params.get("visitorId") or "").strip()
    if not visitor_id:  # API::getMostRecentVisitorId
        query = {"idSite": str(id_site), "filter_limit": "1", "doNotFetchActions": "1"}
        if segment_text:
            query["segment"] = segment_text
        latest = live_visits(world, [id_site], query)
        if not latest:
            return []
        visitor_id = latest[0]["visitorId"]
    raw_limit = (params.get("limitVisits") or "").strip()
    shown = int(raw_limit) if _INT.match(raw_limit) and int(raw_limit) > 0 else _VISITS_SHOWN
    segment = parse_segment(segment_text or None, world.sites, [id_site])
    found = _visitor_visits(world, id_site, visitor_id, segment, _MAX_AGGREGATED + 1)
    if not found:
        return []
    site = world.site(id_site)
    aggregated = found[:_MAX_AGGREGATED]
    visits = [render_visit(v, site, world.seed, with_actions=True) for v in aggregated]
    profile = _Profile(world, id_site, visits)
    out = profile.start(visitor_id, has_more=len(found) > _MAX_AGGREGATED)
    out["lastVisits"] = visits[:shown]
    out["nextVisitorId"], out["previousVisitorId"] = _adjacent_visitors(
        world, id_site, visitor_id, aggregated[0].last_ts, segment
    )
    profile.finish(out, len(out["lastVisits"]))
    return out


def _visitor_visits(
    world: World,
    id_site: int,
    visitor_id: str,
    segment: Callable[[Visit], bool] | None,
    wanted: int,
) -> list[Visit]:
    """Up to `wanted` visits of a visitor, latest last action first (Live's order)."""
    if not re.fullmatch(r"[0-9a-fA-F]{16}", visitor_id):
        return []
    visitor_id = visitor_id.lower()
    days, _, _ = live_window(world, id_site, None, None)
    seed = world.seed
    out: list[Visit] = []
    for day in reversed(days):
        for visit in reversed(world.live_order(id_site, day)):
            if _hex_of(seed, id_site, visit.visitor) != visitor_id:
                continue
            if segment is None or segment(visit):
                out.append(visit)
                if len(out) >= wanted:
                    return out
    return out


@lru_cache(maxsize=65536)
def _hex_of(seed: int, id_site: int, visitor: int) -> str:
    return visitor_hex(seed, id_site, visitor)


def _adjacent_visitors(
    world: World,
    id_site: int,
    visitor_id: str,
    latest: int,
    segment: Callable[[Visit], bool] | None,
) -> tuple[str | bool, str | bool]:
    """`nextVisitorId` and `previousVisitorId`: among other visitors' latest last actions
    within a day of `latest`, the latest one at or before it and the earliest at or after."""
    lo, hi = latest - _DAY, latest + _DAY
    tz = world.site(id_site).timezone
    days, _, _ = live_window(world, id_site, None, None)
    last_action: dict[str, int] = {}
    for day in days:
        if local_midnight(day + timedelta(days=1), tz) <= lo or local_midnight(day, tz) > hi:
            continue
        for visit in world.live_order(id_site, day):
            if not lo <= visit.last_ts <= hi or (segment is not None and not segment(visit)):
                continue
            hex_id = _hex_of(world.seed, id_site, visit.visitor)
            if hex_id != visitor_id and visit.last_ts >= last_action.get(hex_id, 0):
                last_action[hex_id] = visit.last_ts
    before = [(ts, h) for h, ts in last_action.items() if ts <= latest]
    after = [(ts, h) for h, ts in last_action.items() if ts >= latest]
    return (max(before)[1] if before else False), (min(after)[1] if after else False)


class _Profile:
    """The profile's sums over rendered visits (latest first), in Matomo's plugin order."""

    def __init__(self, world: World, id_site: int, visits: list[dict[str, Any]]) -> None:
        self.world = world
        self.site = world.site(id_site)
        self.visits = visits

    def start(self, visitor_id: str, *, has_more: bool) -> dict[str, Any]:
        """The keys set before `lastVisits`: every visit's and action's totals."""
        visits = self.visits
        actions = [a for v in visits for a in v["actionDetails"]]
        pages = [a for a in actions if a["type"] == "action"]
        page_urls: dict[str, int] = {}
        for action in pages:
            if action.get("url"):
                page_urls[action["url"]] = page_urls.get(action["url"], 0) + 1
        self.page_urls = page_urls
        keywords: dict[str, int] = {}
        for action in actions:
            if "siteSearchKeyword" in action:
                word = action["siteSearchKeyword"]
                keywords[word] = keywords.get(word, 0) + 1
        self.keywords = keywords
        self.load_times = [
            a["pageLoadTimeMilliseconds"] for a in actions if "pageLoadTimeMilliseconds" in a
        ]
        self.generation_times = [
            a["generationTimeMilliseconds"] for a in actions if "generationTimeMilliseconds" in a
        ]
        out: dict[str, Any] = {
            "visitorId": visitor_id,
            "hasMoreVisits": has_more,
            "totalVisits": len(visits),
            "totalVisitDuration": sum(v["visitDuration"] for v in visits),
            "totalActions": sum(v["actions"] for v in visits),
            "totalOutlinks": sum(a["type"] == "outlink" for a in actions),
            "totalDownloads": sum(a["type"] == "download" for a in actions),
            "totalSearches": len(keywords),  # distinct keywords, as Matomo counts them
            "totalPageViews": len(pages),
            "totalUniquePageViews": len(page_urls),
            "totalRevisitedPages": sum(n >= 2 for n in page_urls.values()),
            "totalPageViewsWithTiming": len(self.generation_times),
            "totalPageViewsWithLoadTime": len(self.load_times),
            "searches": [],
            "totalGoalConversions": sum(v["goalConversions"] for v in visits),
        }
        by_goal: dict[str, int] = {}
        revenue_by_goal: dict[str, float] = {}
        for action in actions:
            if action["type"] == "goal" and action.get("goalId"):
                key = f"idgoal={action['goalId']}"
                by_goal[key] = by_goal.get(key, 0) + 1
                if action.get("revenue"):
                    revenue_by_goal[key] = revenue_by_goal.get(key, 0) + action["revenue"]
        out["totalConversionsByGoal"] = by_goal or []
        if self.site.ecommerce:  # a visitor's lifetime totals (Ecommerce\VisitorDetails)
            items = sum(int(v["totalEcommerceItems"]) for v in visits)
            cart_items = sum(int(v["totalAbandonedCartsItems"]) for v in visits)
            out["totalEcommerceRevenue"] = money(sum(v["totalEcommerceRevenue"] for v in visits))
            out["totalEcommerceConversions"] = sum(v["totalEcommerceConversions"] for v in visits)
            out["totalEcommerceItems"] = str(items) if items else 0
            out["totalAbandonedCarts"] = sum(v["totalAbandonedCarts"] for v in visits)
            out["totalAbandonedCartsRevenue"] = money(
                sum(v["totalAbandonedCartsRevenue"] for v in visits)
            )
            out["totalAbandonedCartsItems"] = str(cart_items) if cart_items else 0
        out["totalEvents"] = sum(a["type"] == "event" for a in actions)
        out["hasLatLong"] = any(v.get("latitude") is not None for v in visits)
        if revenue_by_goal:  # set while actions are handled: after every initial key
            out["totalRevenueByGoal"] = {k: money(v) for k, v in revenue_by_goal.items()}
        return out

    def finish(self, out: dict[str, Any], shown: int) -> None:
        """The keys `finalizeProfile` adds after the adjacent visitors, in plugin order."""
        visits = self.visits
        out["totalVisitDurationPretty"] = pretty_duration(out["totalVisitDuration"])
        out["userId"] = visits[-1]["userId"] or False
        out["firstVisit"] = self._summary(visits[-1])
        out["lastVisit"] = self._summary(visits[0])
        out["visitsAggregated"] = shown  # rows left after `limitVisits`, as Matomo counts
        ordered = sorted(self.page_urls.items(), key=lambda kv: (-kv[1], kv[0]))
        out["visitedPages"] = [{"url": url, "count": n} for url, n in ordered]
        out["searches"] = [
            {"keyword": k, "searches": n}
            for k, n in sorted(self.keywords.items(), key=lambda kv: -kv[1])
        ]
        if self.generation_times:
            out["averagePageGenerationTime"] = round(
                sum(self.generation_times) / (1000 * len(self.generation_times)), 3
            )
        if self.load_times:
            out["averagePageLoadTime"] = round(
                sum(self.load_times) / (1000 * len(self.load_times)), 3
            )
        out["devices"] = _devices(visits)
        continents: dict[str, list[Any]] = {}
        countries: dict[str, list[Any]] = {}
        for v in visits:
            continents.setdefault(v["continentCode"], [0, v["continent"]])[0] += 1
            countries.setdefault(v["countryCode"], [0, v["country"]])[0] += 1
        out["continents"] = [
            {"continent": code, "nb_visits": n, "prettyName": name}
            for code, (n, name) in sorted(continents.items(), key=lambda kv: kv[1][0])
        ]
        out["countries"] = [
            {
                "country": code,
                "nb_visits": n,
                "flag": f"{ICONS}flags/{code}.png",
                "prettyName": name,
            }
            for code, (n, name) in sorted(countries.items(), key=lambda kv: kv[1][0])
        ]
        dimensions = self._custom_dimensions()
        if dimensions:
            out["customDimensions"] = dimensions

    def _summary(self, visit: dict[str, Any]) -> dict[str, Any]:
        """`firstVisit`/`lastVisit`: Live\\VisitorDetails::getVisitorProfileVisitSummary."""
        first = visit["firstActionTimestamp"]
        tz = self.site.timezone
        today: date = self.world.site_today(self.site.id)
        # Date::factory('today', tz) and Date::factory($ts, tz): local wall clocks as UTC
        local_today = local_midnight(today, "UTC")
        days_ago = int((local_today - (first + utc_offset(first, tz))) / _DAY)
        return {
            "date": first,
            "prettyDate": visit["serverDatePrettyFirstAction"],
            "daysAgo": days_ago,
            "referrerType": visit["referrerType"],
            "referrerUrl": visit["referrerUrl"] or "",
            "referralSummary": _referral_summary(visit),
        }

    def _custom_dimensions(self) -> dict[str, list[dict[str, Any]]]:
        """Values counted per configured dimension, action scope first, most frequent first."""
        counts: dict[str, dict[str, dict[str, int]]] = {"action": {}, "visit": {}}
        dims = configured_custom_dimensions(self.site)
        for dim in dims:
            key, scope = f"dimension{dim['idcustomdimension']}", dim["scope"]
            rows = (
                self.visits
                if scope == "visit"
                else [a for v in self.visits for a in v["actionDetails"]]
            )
            for row in rows:
                value = row.get(key)
                if value:
                    values = counts[scope].setdefault(dim["name"], {})
                    values[value] = values.get(value, 0) + 1
        return {
            scope: [
                {
                    "name": name,
                    "values": [
                        {"value": value, "count": n}
                        for value, n in sorted(values.items(), key=lambda kv: -kv[1])
                    ],
                }
                for name, values in names.items()
            ]
            for scope, names in counts.items()
            if names
        }


def _devices(visits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Visits per device type and device name (DevicesDetection\\VisitorDetails)."""
    types: dict[str, dict[str, Any]] = {}
    for v in visits:
        brand, model = v["deviceBrand"], v["deviceModel"]
        name = model if brand == "Unknown" else f"{brand} {model}".strip()
        entry = types.setdefault(
            v["deviceType"], {"count": 0, "icon": v["deviceTypeIcon"], "devices": {}}
        )
        entry["count"] += 1
        entry["devices"][name] = entry["devices"].get(name, 0) + 1

    def order(a: str, b: str) -> int:
        # PHP's strcmp of the counts (as strings), then the type names
        ca, cb = str(types[a]["count"]), str(types[b]["count"])
        return (cb > ca) - (cb < ca) or (a > b) - (a < b)

    return [
        {
            "type": t,
            "count": types[t]["count"],
            "icon": types[t]["icon"],
            "devices": [{"name": n, "count": c} for n, c in types[t]["devices"].items()],
        }
        for t in sorted(types, key=cmp_to_key(order))
    ]


def _referral_summary(visit: dict[str, Any]) -> str:
    """Live\\VisitorDetails::getReferrerSummaryForVisit."""
    kind, name, keyword = visit["referrerType"], visit["referrerName"], visit["referrerKeyword"]
    if kind == "direct":
        return "Direct Entry"
    if kind == "search":
        return f"{name} ({keyword})" if keyword and keyword != "Keyword not defined" else name
    if kind == "campaign":
        return f"Campaign: {name} - {keyword}" if keyword else f"Campaign: {name}"
    return str(name)
