"""The object-valued reports that merge other reports' figures: VisitFrequency.get,
Referrers.get, PagePerformance.get and API.get.

Each is computed from the `Facts` the other reports read, so it agrees with them:
VisitFrequency.get is VisitsSummary.get of the new and of the returning visits,
Referrers.get adds up Referrers.getReferrerType and counts the rows of the by-name
reports, PagePerformance.get averages the page reports' timings. Keys and their order
follow the recorded Matomo 5.11.2 answers (cases 047, 048, 105, 144).
"""

from __future__ import annotations

from typing import Any

from .aggregates import Facts
from .datatable import percent
from .formats import money

__all__ = [
    "FREQUENCY_SEGMENTS",
    "api_get_object",
    "frequency_object",
    "page_performance_object",
    "referrers_object",
]

#: VisitFrequency's visitor types and the segments Matomo narrows VisitsSummary with
FREQUENCY_SEGMENTS = {
    "new": "visitorType==new",
    "returning": "visitorType==returning,visitorType==returningCustomer",
}
# (referrer type, Referrers.get name), in the order of the visitorsFrom* keys
_TYPES = (
    ("search", "SearchEngines"),
    ("social", "SocialNetworks"),
    ("ai", "AIAssistants"),  # no AI assistant refers a synthetic visit
    ("direct", "DirectEntry"),
    ("website", "Websites"),
    ("campaign", "Campaigns"),
)
_PERCENT_ORDER = (
    "DirectEntry",
    "SearchEngines",
    "AIAssistants",
    "Campaigns",
    "SocialNetworks",
    "Websites",
)
# PagePerformance timings: (page report name, API.get record name, average's name)
_TIMINGS = (
    ("network", "network", "avg_time_network"),
    ("server", "servery", "avg_time_server"),  # sic: Matomo's record name (recorded 048)
    ("transfer", "transfer", "avg_time_transfer"),
    ("dom_processing", "domprocessing", "avg_time_dom_processing"),
    ("dom_completion", "domcompletion", "avg_time_dom_completion"),
    ("on_load", "onload", "avg_time_on_load"),
)
_FREQUENCY_KEYS_IN_API_GET = (
    "nb_visits",
    "nb_actions",
    "nb_uniq_visitors",
    "nb_users",
    "max_actions",
    "bounce_rate",
    "nb_actions_per_visit",
    "avg_time_on_site",
)
_BOT_TRACKING = (
    "BotTracking_AIChatbotsRequests",
    "BotTracking_AIChatbotsAcquiredVisits",
    "BotTracking_AIChatbotsNotFoundRequests",
    "BotTracking_AIChatbotsUniqueChatbots",
    "BotTracking_AIChatbotsServerErrorRequests",
)


def frequency_object(new: dict[str, Any], returning: dict[str, Any]) -> dict[str, Any]:
    """VisitFrequency.get from VisitsSummary.get of the new and of the returning visits."""
    out = {f"{key}_new": value for key, value in new.items()}
    out.update({f"{key}_returning": value for key, value in returning.items()})
    return out


def _rate(part: int, whole: int, format_metrics: str) -> Any:
    if format_metrics == "0":
        return round(part / whole, 2) if whole else 0
    return percent(part, whole)


def referrers_object(f: Facts, format_metrics: str = "bc") -> dict[str, Any]:
    """Referrers.get: visits per referrer type (getReferrerType's rows) and how many rows
    the search engine, social, keyword, website and campaign reports have."""
    visits: dict[str, int] = {}
    names: dict[str, set[str]] = {}
    details: dict[str, set[str]] = {}
    for (rtype, name, detail), acc in f.tables.get("referrer", {}).items():
        visits[rtype] = visits.get(rtype, 0) + acc["nb_visits"]
        names.setdefault(rtype, set()).add(name)
        details.setdefault(rtype, set()).add(detail)
    out: dict[str, Any] = {}
    for rtype, name in _TYPES:
        out[f"Referrers_visitorsFrom{name}"] = visits.get(rtype, 0)
    out["Referrers_distinctSearchEngines"] = len(names.get("search", ()))
    out["Referrers_distinctSocialNetworks"] = len(names.get("social", ()))
    out["Referrers_distinctAIAssistants"] = 0
    out["Referrers_distinctKeywords"] = len(details.get("search", ()))
    out["Referrers_distinctWebsites"] = len(names.get("website", ()))
    out["Referrers_distinctWebsitesUrls"] = len(details.get("website", ()))
    out["Referrers_distinctCampaigns"] = len(names.get("campaign", ()))
    total = sum(visits.values())
    by_name = {name: visits.get(rtype, 0) for rtype, name in _TYPES}
    for name in _PERCENT_ORDER:
        out[f"Referrers_visitorsFrom{name}_percent"] = _rate(by_name[name], total, format_metrics)
    return out


def _timing_sums(f: Facts) -> dict[str, tuple[float, int]]:
    """(seconds, timed hits) per timing over the page URL rows, page load time included."""
    sums = {name: [0.0, 0] for name, _, _ in _TIMINGS}
    for acc in f.tables.get("page", {}).values():
        for name, _, _ in _TIMINGS:
            n = acc.get(f"nb_hits_with_time_{name}", 0)
            if n:
                sums[name][0] += acc[f"sum_time_{name}"]
                sums[name][1] += n
    out = {name: (total, int(n)) for name, (total, n) in sums.items()}
    # a hit has all six timings or none: its load time is their sum
    out["pageload"] = (sum(t for t, _ in out.values()), out["network"][1])
    return out


def _average(total: float, hits: int) -> int | float:
    return money(total / hits) if hits else 0


def page_performance_object(f: Facts) -> dict[str, Any]:
    """PagePerformance.get: each timing's average over the timed page views, in seconds."""
    sums = _timing_sums(f)
    out: dict[str, Any] = {avg: _average(*sums[name]) for name, _, avg in _TIMINGS}
    out["avg_page_load_time"] = _average(*sums["pageload"])
    return out


def api_get_object(
    summary: dict[str, Any],
    frequency: dict[str, Any],
    f: Facts,
    goals: dict[str, Any],
    actions: dict[str, Any],
    format_metrics: str = "bc",
) -> dict[str, Any]:
    """API.get: the core metrics of every plugin merged, in Matomo's order (recorded 048);
    no synthetic visit is a bot's or an AI agent's."""
    out: dict[str, Any] = {}
    for key in (
        "nb_uniq_visitors",
        "nb_visits",
        "nb_users",
        "nb_actions",
        "max_actions",
        "bounce_count",
        "sum_visit_length",
    ):
        if key in summary:
            out[key] = summary[key]
    for suffix in ("_new", "_returning"):
        for key in _FREQUENCY_KEYS_IN_API_GET:
            if key + suffix in frequency:
                out[key + suffix] = frequency[key + suffix]
    referrers = referrers_object(f, format_metrics)
    out.update({k: v for k, v in referrers.items() if not k.endswith("_percent")})
    sums = _timing_sums(f)
    for name, record, _ in (*_TIMINGS, ("pageload", "pageload", "")):
        total, hits = sums[name]
        out[f"PagePerformance_{record}_time"] = round(total, 3) if hits else 0
        out[f"PagePerformance_{record.replace('servery', 'server')}_hits"] = hits
    out.update(page_performance_object(f))
    out.update(goals)
    out.update(dict.fromkeys(_BOT_TRACKING, 0))
    out.update(actions)
    zero_rate = _rate(0, 0, format_metrics)
    for key in _FREQUENCY_KEYS_IN_API_GET:
        out[f"{key}_ai_agent"] = zero_rate if key == "bounce_rate" else 0
    for key in _FREQUENCY_KEYS_IN_API_GET:
        if key in summary:
            out[f"{key}_human"] = summary[key]
    out.update({k: v for k, v in referrers.items() if k.endswith("_percent")})
    for key in ("bounce_rate", "nb_actions_per_visit", "avg_time_on_site"):
        out[key] = summary[key]
    out["BotTracking_AIChatbotsClickThroughRate"] = 0
    return out
