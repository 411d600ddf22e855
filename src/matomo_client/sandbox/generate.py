"""Draw one site-day of visits: the hot loop behind every cold report and Live page.

`generate_day` draws from `random.Random("visits/seed/site/day")` only what reports
aggregate (times, actions, referrer, device, country, goals, orders); what only the Live
API shows (IP, resolution, visitor id, page view ids, visit counts) is derived from the
seed and the idVisit when a visit is rendered (`render.py`). Draws are plain
`random()` floats looked up in precomputed cumulative tables (one draw per weighted
choice), and records are built as named tuples directly, so a day of 5,000 visits takes
a few tens of milliseconds.
"""

from __future__ import annotations

import random
from bisect import bisect
from datetime import date
from functools import lru_cache
from itertools import accumulate
from math import log
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


def _timings(bits: int) -> tuple[int, int, int, int, int, int]:
    """Six page timings from 60 random bits, 10 bits each scaled into `_PERF_RANGES`."""
    return (
        5 + ((bits & 1023) * 116 >> 10),
        40 + ((bits >> 10 & 1023) * 861 >> 10),
        5 + ((bits >> 20 & 1023) * 196 >> 10),
        100 + ((bits >> 30 & 1023) * 1401 >> 10),
        50 + ((bits >> 40 & 1023) * 651 >> 10),
        5 + ((bits >> 50 & 1023) * 76 >> 10),
    )


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
        self.contact = paths.index("/contact") if site.id == 1 else -1
        self.posts = {i for i, k in enumerate(kinds) if k == "post"} if site.id == 2 else set()
        self.newsletter = {i for i, e in enumerate(c.EVENTS) if e[0] == "Newsletter"}
        self.shop = site.id == 1
        self.checkout: tuple[int, ...] = ()
        self.cart = -1
        if site.ecommerce:
            self.checkout = tuple(
                paths.index(p) for p in ("/cart", "/checkout", "/checkout/thank-you")
            )
            self.cart = paths.index("/cart")
        self.ecommerce = site.ecommerce
        self.devices = [(len(d[6]), d[6]) for d in c.DEVICES]


@lru_cache(maxsize=16)
def _plan(site: c.SiteInfo) -> _SitePlan:
    return _SitePlan(site)


def _hour_cum(span_hours: int) -> list[int]:
    weights = list(_HOUR_WEIGHTS)
    while len(weights) < span_hours:  # 25-hour DST day
        weights.append(weights[-1])
    return list(accumulate(weights[:span_hours]))


def _order(rng: random.Random, day: date, i: int) -> Order:
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
    order_id = f"ORD-{day.strftime('%y%m%d')}-{i:05d}"
    return Order(
        order_id,
        tuple(sorted(items.items())),
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
    hour_cum = _hour_cum((end - start) // 3600)
    hour_total = hour_cum[-1]
    id_site = site.id
    ordinal = day.toordinal()
    same_day_pool = max(3, visits_per_day // 8)
    new_base = pool + 100_000 * ordinal
    drafts: list[tuple[int, int, tuple[object, ...]]] = []
    last_prev = start + 1
    for i in range(n):
        # -- when the visit ends
        if i > 0 and r() < 0.12:
            last = last_prev  # several visits end in the same second (real traffic does)
        elif r() < 0.02:
            last = start + 1 + int(r() * 900)  # started just before midnight, ended after
        else:
            hour = bisect(hour_cum, r() * hour_total)
            last = start + hour * 3600 + int(r() * 3600)
        if last >= end:
            last = end - 1
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
            times = [last]
        else:
            gaps = [5 + int(r() * 296) for _ in range(n_steps - 1)]
            t = last - sum(gaps)
            times = [t]
            for g in gaps:
                t += g
                times.append(t)
        query = _CAMPAIGN_QUERIES[int(r() * 9)] if referrer.type == "campaign" else ""
        actions: list[Action] = []
        position = 0
        posts_read = 0
        counted = 0
        conversions = 0
        goals_done = 0  # bit 1: goal 1, bit 2: goal 2
        for j in range(n_steps):
            kind, ref = steps[j]
            ts = times[j]
            if kind == PAGE:
                position += 1
                counted += 1
                perf = None
                if timed[ref] and r() < 0.5:
                    bits = getrandbits(60)
                    perf = _timings(bits)
                actions.append(_new(Action, (PAGE, ts, ref, position, query, perf, None)))
                query = ""
                if ref == plan.contact and not goals_done & 1:
                    goals_done |= 1
                    conversions += 1
                    actions.append(_new(Action, (GOAL, ts, 1, position, "", None, None)))
                elif ref in plan.posts:
                    posts_read += 1
                    if posts_read == 3:
                        conversions += 1
                        actions.append(_new(Action, (GOAL, ts, 1, position, "", None, None)))
            elif kind == EVENT:
                counted += 1
                actions.append(_new(Action, (EVENT, ts, ref, position, "", None, None)))
                if plan.shop and ref in plan.newsletter and not goals_done & 2:
                    goals_done |= 2
                    conversions += 1
                    actions.append(_new(Action, (GOAL, ts, 2, position, "", None, None)))
            elif kind >= GOAL:  # ORDER or CART
                if kind == ORDER:
                    conversions += 1
                order = _order(rng, day, i)
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
        head = (
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
            last,
            counted,
            conversions,
        )
        drafts.append((times[0], last, head))
    # idVisit grows with the first action time within the day
    drafts.sort(key=_draft_order)
    return tuple(
        _new(Visit, (id_site, first_id + rank, *head)) for rank, (_, _, head) in enumerate(drafts)
    )


def _draft_order(draft: tuple[int, int, tuple[object, ...]]) -> tuple[int, int]:
    return draft[0], draft[1]
