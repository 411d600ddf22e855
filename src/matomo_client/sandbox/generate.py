"""Draw one site-day of visits: the hot loop behind every cold report and Live page.

`generate_day` draws from `random.Random("visits/seed/site/day")` only what reports
aggregate (times, actions, referrer, device, country, goals, orders); what only the Live
API shows (IP, resolution, visitor id, page view ids, visit counts) is derived from the
seed and the idVisit when a visit is rendered (`render.py`). Draws are plain
`random()` floats looked up in precomputed cumulative tables (one draw per weighted
choice), and records are built as named tuples directly, so a day of 5,000 visits takes
a few tens of milliseconds.

Big days (`--visits-per-day` in the hundreds of thousands) are bounded by memory: times are
drawn as offsets into the day, and from `_SHARED_SECONDS` visits on every visit of the day
shares one int object per second; page timings come from tables of shared ints; a visit is
built once with a placeholder id and rebuilt with its rank, each draft freed as it goes.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from itertools import accumulate
from math import log
from typing import Any
from urllib.parse import quote

from . import catalog as c
from .records import (
    CART,
    DOWNLOAD,
    EVENT,
    GOAL,
    ORDER,
    OUTLINK,
    PAGE,
    SEARCH,
    Action,
    Order,
    Referrer,
    Visit,
)

__all__ = ["generate_day"]

_new = tuple.__new__
_HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 8, 8, 8, 9, 10, 9, 7, 5, 3)
# (low, high) milliseconds of network, server, transfer, DOM processing, DOM completion, onload
_PERF_RANGES = ((5, 120), (40, 900), (5, 200), (100, 1500), (50, 700), (5, 80))


# each timing is 10 random bits scaled into its range: one table of shared ints per timing
_PERF_TABLES = tuple(
    tuple(low + (x * (high - low + 1) >> 10) for x in range(1024)) for low, high in _PERF_RANGES
)
# visits end after midnight and start at most 18 gaps of 300 s earlier: seconds are offsets
# from `_LEAD` seconds before midnight
_LEAD = 7200
# from this many visits a day, timestamps are shared int objects (one per second of the day)
_SHARED_SECONDS = 10_000
# (product, quantity) pairs of order items, shared between orders
_ITEM_PAIRS: dict[tuple[int, int], tuple[int, int]] = {}


_CAMPAIGN_QUERIES = tuple(
    f"?mtm_source={source}&mtm_medium={medium}"
    for source in ("google", "newsletter", "facebook")
    for medium in ("cpc", "email", "social")
)


def _search_referrer(engine: str, keyword: str) -> Referrer:
    host = "https://www." + engine.lower().replace(" ", "") + ".com/"
    url = host + ("search?q=" + quote_keyword(keyword) if keyword else "")
    return Referrer("search", engine, keyword or "Keyword not defined", url)


def quote_keyword(keyword: str) -> str:
    """A search keyword as it appears in a result page URL (spaces as '+')."""
    return quote(keyword, safe="").replace("%20", "+")


def _referrer_table() -> tuple[list[float], list[Referrer]]:
    """Every referrer with its share: direct 30, search 30, website 10, campaign 12, social 18."""
    kinds: list[tuple[float, list[Referrer]]] = [
        (30, [Referrer("direct", "", "", None)]),
        (30, [_search_referrer(e[0], k) for e in c.SEARCH_ENGINES for k in c.SEARCH_KEYWORDS]),
        (10, [Referrer("website", url.split("/")[2], "", url) for url in c.WEBSITES]),
        (12, [Referrer("campaign", name, keyword, None) for name, keyword in c.CAMPAIGNS]),
        (18, [Referrer("social", name, "", c.SOCIAL_URLS[name]) for name, _ in c.SOCIALS]),
    ]
    weights = [w / len(refs) for w, refs in kinds for _ in refs]
    return list(accumulate(weights)), [r for _, refs in kinds for r in refs]


_REF_CUM, _REFERRERS = _referrer_table()
_REF_TOTAL = _REF_CUM[-1]


class _SitePlan:
    """Per-site lookup tables for drawing actions."""

    def __init__(self, site: c.SiteInfo) -> None:
        self.n_pages = len(site.pages)
        # one weighted draw picks the kind and the catalogue entry of a follow-up action
        choices: list[tuple[int, int]] = []
        weights: list[float] = []
        for kind, weight, count in (
            (PAGE, 70, self.n_pages),
            (DOWNLOAD, 6, len(site.downloads)),
            (OUTLINK, 6, len(site.outlinks)),
            (SEARCH, 6, len(c.SITE_SEARCH_KEYWORDS)),
            (EVENT, 8, len(c.EVENTS)),
        ):
            for ref in range(count):
                choices.append((kind, ref))
                weights.append(weight / count)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]
        self.choices = choices
        kinds = [p.kind for p in site.pages]
        # page timings come from the shop's JS tracker, not on product/checkout pages
        self.timed = [site.id == 1 and k not in ("product", "checkout") for k in kinds]
        paths = [p.path for p in site.pages]
        # goals are triggered by name: a visit of /contact, three posts read, the newsletter
        goal_ids = {name: id_goal for id_goal, name, _ in site.goals}
        self.contact_goal = goal_ids.get("Visited contact page", 0)
        self.contact = paths.index("/contact") if self.contact_goal and "/contact" in paths else -1
        self.posts_goal = goal_ids.get("Read three posts", 0)
        self.posts = {i for i, k in enumerate(kinds) if k == "post" and self.posts_goal}
        self.newsletter = {i for i, e in enumerate(c.EVENTS) if e[0] == "Newsletter"}
        self.newsletter_goal = goal_ids.get("Newsletter signup", 0)
        self.checkout: tuple[int, ...] = ()
        self.cart = -1
        if site.ecommerce:
            self.checkout = tuple(
                paths.index(p) for p in ("/cart", "/checkout", "/checkout/thank-you")
            )
            self.cart = paths.index("/cart")
        self.ecommerce = site.ecommerce
        self.devices = [(len(d[6]), d[6]) for d in c.DEVICES]


@lru_cache(maxsize=1024)
def _plan(site: c.SiteInfo) -> _SitePlan:
    return _SitePlan(site)


def _hour_cum(span_hours: int) -> list[int]:
    weights = list(_HOUR_WEIGHTS)
    while len(weights) < span_hours:  # 25-hour DST day
        weights.append(weights[-1])
    return list(accumulate(weights[:span_hours]))


def _order(rng: random.Random, prefix: str, i: int) -> Order:
    r = rng.random
    items: dict[int, int] = {}
    for _ in range(1 + int(r() * 3)):
        p = int(r() * len(c.PRODUCTS))
        items[p] = items.get(p, 0) + (2 if r() < 0.25 else 1)
    subtotal = round(sum(c.PRODUCTS[p].price * q for p, q in items.items()), 2)
    tax = round(subtotal * 0.19, 2)
    shipping = 0.0 if subtotal > 100 else 4.95
    discount = 10.0 if r() < 0.25 else 0.0
    revenue = round(subtotal + tax + shipping - discount, 2)
    pairs = _ITEM_PAIRS
    return Order(
        f"{prefix}{i:05d}",
        tuple(pairs.setdefault(pair, pair) for pair in sorted(items.items())),
        subtotal,
        tax,
        shipping,
        discount,
        revenue,
        sum(items.values()),
    )


def generate_day(
    *,
    seed: int,
    site: c.SiteInfo,
    day: date,
    n: int,
    start: int,
    end: int,
    first_id: int,
    pool: int,
    visits_per_day: int,
) -> tuple[Visit, ...]:
    """The `n` visits of one site-local day [start, end), ids from `first_id` by first action."""
    rng = random.Random(f"visits/{seed}/{site.id}/{day.isoformat()}")
    r = rng.random
    getrandbits = rng.getrandbits
    plan = _plan(site)
    cum, total, choices = plan.cum, plan.total, plan.choices
    n_pages = plan.n_pages
    timed = plan.timed
    p0, p1, p2, p3, p4, p5 = _PERF_TABLES
    hour_cum = _hour_cum((end - start) // 3600)
    hour_total = hour_cum[-1]
    id_site = site.id
    ordinal = day.toordinal()
    same_day_pool = max(3, visits_per_day // 8)
    new_base = pool + 100_000 * ordinal
    order_prefix = f"ORD-{day.strftime('%y%m%d')}-"
    # times are offsets into `seconds` (UTC timestamps from _LEAD s before midnight): a big day
    # shares one int per second, a small one makes each as it goes (a range) instead
    span = end - start + _LEAD
    seconds: Sequence[int] = range(start - _LEAD, end)
    if n >= _SHARED_SECONDS:
        seconds = list(seconds)
    second = seconds.__getitem__
    # visits as drawn, idVisit 0 until ranked; sort keys: (first action, last action)
    drafts: list[Any] = []  # Visit, None once ranked
    keys: list[int] = []
    last_prev = 0
    for i in range(n):
        # -- when the visit ends
        if i > 0 and r() < 0.12:
            last = last_prev  # several visits end in the same second (real traffic does)
        elif r() < 0.02:
            last = _LEAD + 1 + int(r() * 900)  # started just before midnight, ended after
        else:
            hour = bisect(hour_cum, r() * hour_total)
            last = _LEAD + hour * 3600 + int(r() * 3600)
        if last >= span:
            last = span - 1
        last_prev = last
        referrer = _REFERRERS[bisect(_REF_CUM, r() * _REF_TOTAL)]
        # -- what the visit does: kinds and catalogue indexes, the first always a pageview
        steps = [(PAGE, int(r() * n_pages))]
        if r() >= 0.45:
            length = min(15, 2 + int(-log(1.0 - r()) * 3.5))
            for _ in range(length - 1):
                steps.append(choices[bisect(cum, r() * total)])
            if plan.ecommerce:
                roll = r()
                if roll < 0.12:
                    steps.extend((PAGE, p) for p in plan.checkout)
                    steps.append((ORDER, 0))
                elif roll < 0.2:
                    steps.append((PAGE, plan.cart))
                    steps.append((CART, 0))
        # -- when each step happens: 5 to 300 s apart, ending at `last`
        n_steps = len(steps)
        if n_steps == 1:
            first = last
            times = [second(last)]
        else:
            gaps = [5 + int(r() * 296) for _ in range(n_steps - 1)]
            first = last - sum(gaps)
            times = list(map(second, accumulate(gaps, initial=first)))
        query = _CAMPAIGN_QUERIES[int(r() * 9)] if referrer.type == "campaign" else ""
        actions: list[Action] = []
        position = 0
        posts_read = 0
        counted = 0
        conversions = 0
        goals_done = 0  # bit 1: the contact goal, bit 2: the newsletter goal
        for j in range(n_steps):
            kind, ref = steps[j]
            ts = times[j]
            if kind == PAGE:
                position += 1
                counted += 1
                perf = None
                if timed[ref] and r() < 0.5:
                    bits = getrandbits(60)
                    perf = (
                        p0[bits & 1023],
                        p1[bits >> 10 & 1023],
                        p2[bits >> 20 & 1023],
                        p3[bits >> 30 & 1023],
                        p4[bits >> 40 & 1023],
                        p5[bits >> 50],
                    )
                actions.append(_new(Action, (PAGE, ts, ref, position, query, perf, None)))
                query = ""
                if ref == plan.contact and not goals_done & 1:
                    goals_done |= 1
                    conversions += 1
                    goal = plan.contact_goal
                    actions.append(_new(Action, (GOAL, ts, goal, position, "", None, None)))
                elif ref in plan.posts:
                    posts_read += 1
                    if posts_read == 3:
                        conversions += 1
                        goal = plan.posts_goal
                        actions.append(_new(Action, (GOAL, ts, goal, position, "", None, None)))
            elif kind == EVENT:
                counted += 1
                actions.append(_new(Action, (EVENT, ts, ref, position, "", None, None)))
                if plan.newsletter_goal and ref in plan.newsletter and not goals_done & 2:
                    goals_done |= 2
                    conversions += 1
                    goal = plan.newsletter_goal
                    actions.append(_new(Action, (GOAL, ts, goal, position, "", None, None)))
            elif kind >= GOAL:  # ORDER or CART
                if kind == ORDER:
                    conversions += 1
                order = _order(rng, order_prefix, i)
                actions.append(_new(Action, (kind, ts, 0, position, "", None, order)))
            else:
                counted += 1
                actions.append(_new(Action, (kind, ts, ref, position, "", None, None)))
        # -- who the visitor is
        returning = r() < 0.4
        if not returning:
            visitor = new_base + i
        elif r() < 0.5:  # came back the same day
            visitor = -(ordinal * 1000 + int(r() * same_day_pool))
        else:
            visitor = int(r() * pool)
        user_id = None
        if returning and id_site == 1 and visitor % 6 == 0:
            user_id = f"customer-{1000 + visitor % 997}"
            if visitor % 4 == 0:
                user_id += "@example.com"
        device = int(r() * len(c.DEVICES))
        n_browsers, browsers = plan.devices[device]
        country = int(r() * len(c.COUNTRIES))
        language = country if r() < 0.8 else int(r() * len(c.LANGUAGES))
        drafts.append(
            _new(
                Visit,
                (
                    id_site,
                    0,
                    visitor,
                    user_id,
                    returning,
                    referrer,
                    device,
                    browsers[int(r() * n_browsers)],
                    country,
                    language,
                    tuple(actions),
                    times[0],
                    times[-1],
                    counted,
                    conversions,
                ),
            )
        )
        # a visit lasts under 8192 s: one small int orders by first, then last action
        keys.append(first * 8192 + last - first)
    # idVisit grows with the first action time within the day (a stable sort: ties keep the
    # order drawn); each draft is dropped as its ranked copy is made
    ranked = sorted(range(n), key=keys.__getitem__)
    del keys
    visits: list[Visit] = []
    for id_visit, k in zip(range(first_id, first_id + n), ranked, strict=True):
        draft = drafts[k]
        drafts[k] = None
        visits.append(_new(Visit, (id_site, id_visit, *draft[2:])))
    return tuple(visits)
