"""The synthetic world: sites and their visits, generated lazily and deterministically.

A day's visits are drawn from `random.Random("seed/site/day")` only when someone asks for
that day, so a year of 5,000 visits a day costs nothing until it is read. Visits are kept
as compact `Visit` records (actions with UTC timestamps); `render.py` turns them into the
dicts Matomo's Live API returns, `aggregates.py` sums them into reports.

A visit belongs to the site-local day of its *last* action (as Matomo archives and as the
Live day window filters); a few visits start just before midnight of the previous day.
A `cutoff` instant hides what has not happened yet: visits that start later are invisible,
visits in progress show only their actions so far. It is the real clock when no `today`
is configured, and a virtual clock advancing per request in `live_traffic` mode.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, timedelta
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
    local_midnight,
    make_visit,
)

__all__ = ["World"]

_HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 8, 8, 8, 9, 10, 9, 7, 5, 3)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _hex(*parts: object) -> str:
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).hexdigest()


class World:
    """Sites and their visits for one configuration; days are generated on demand."""

    def __init__(
        self,
        *,
        seed: int,
        days: int,
        visits_per_day: int,
        today: date,
        sites: tuple[c.SiteInfo, ...] = c.SITES,
    ) -> None:
        self.seed = seed
        self.days = days
        self.visits_per_day = visits_per_day
        self.today = today
        self.first_day = today - timedelta(days=days - 1)
        self.sites = {s.id: s for s in sites}
        self.cutoff: int | None = None
        # id range per (site, day): ids grow with the day and stay unique in the world
        self._id_block = 10 ** max(3, len(str(visits_per_day * 4)))
        self._pool = {s.id: max(40, int(visits_per_day * s.volume * 5)) for s in sites}
        self._cache: dict[tuple[int, date], tuple[Visit, ...]] = {}

    # -- sites -------------------------------------------------------------------------
    def site(self, id_site: int) -> c.SiteInfo:
        """The site with this id (KeyError if unknown)."""
        return self.sites[id_site]

    def created(self, id_site: int) -> str:
        """`ts_created` of a site: a week before its first day of data."""
        del id_site
        return (self.first_day - timedelta(days=7)).strftime("%Y-%m-%d 00:00:00")

    def site_today(self, id_site: int) -> date:
        """Today's date in the site's timezone (the configured today)."""
        del id_site
        return self.today

    # -- visits ------------------------------------------------------------------------
    def day_visits(self, id_site: int, day: date) -> tuple[Visit, ...]:
        """Compact visits whose last action falls on `day` (site-local), sorted by idVisit."""
        full = self._generated(id_site, day)
        cutoff = self.cutoff
        if cutoff is None or self._closed(full):
            return full
        tz = self.sites[id_site].timezone
        start = local_midnight(day, tz)
        out = []
        for v in full:
            seen = v.until(cutoff)
            # a visit cut before midnight would belong to the previous day: not visible yet
            if seen is not None and seen.last_ts >= start:
                out.append(seen)
        return tuple(out)

    def _closed(self, visits: tuple[Visit, ...]) -> bool:
        cutoff = self.cutoff
        return cutoff is None or not visits or max(v.last_ts for v in visits) <= cutoff

    def day_is_final(self, id_site: int, day: date) -> bool:
        """Whether `day` can no longer change (safe to cache its aggregates)."""
        if self.cutoff is None:
            return True
        tz = self.sites[id_site].timezone
        return local_midnight(day + timedelta(days=1), tz) <= self.cutoff

    def visits(self, id_site: int, day: date) -> list[dict[str, Any]]:
        """The visits of one site-local day as Matomo Live dicts, ordered by idVisit."""
        from .render import render_visit

        site = self.sites[id_site]
        return [render_visit(v, site, with_actions=True) for v in self.day_visits(id_site, day)]

    def _generated(self, id_site: int, day: date) -> tuple[Visit, ...]:
        key = (id_site, day)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._generate(id_site, day)
            if len(self._cache) > 4096:  # bound memory for long exports
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def visit_count(self, id_site: int, day: date) -> int:
        """How many visits the full day has (before any cutoff)."""
        site = self.sites.get(id_site)
        if site is None or site.volume == 0 or not self.first_day <= day <= self.today:
            return 0
        rng = random.Random(f"count/{self.seed}/{id_site}/{day.isoformat()}")
        weekday = 0.85 if day.weekday() >= 5 else 1.0
        return max(1, round(self.visits_per_day * site.volume * weekday * rng.uniform(0.8, 1.2)))

    # -- generation --------------------------------------------------------------------
    def _generate(self, id_site: int, day: date) -> tuple[Visit, ...]:
        n = self.visit_count(id_site, day) if self.visits_per_day else 0
        if n == 0:
            return ()
        site = self.sites[id_site]
        rng = random.Random(f"visits/{self.seed}/{id_site}/{day.isoformat()}")
        start = local_midnight(day, site.timezone)
        end = local_midnight(day + timedelta(days=1), site.timezone)
        span_hours = (end - start) // 3600
        hours = rng.choices(range(span_hours), weights=_hour_weights(span_hours), k=n)
        drafts: list[tuple[int, list[Action], dict[str, Any]]] = []
        last_prev = start + 1
        for i in range(n):
            if i > 0 and rng.random() < 0.12:
                last = last_prev  # several visits end in the same second (real traffic does)
            elif rng.random() < 0.02:
                last = start + rng.randint(1, 900)  # started just before midnight, ended after
            else:
                last = start + hours[i] * 3600 + rng.randint(0, 3599)
            last = min(max(last, start + 1), end - 1)
            last_prev = last
            actions, extras = self._draft_actions(rng, site, last, day, i)
            drafts.append((last, actions, extras))
        # idVisit grows with the first action time within the day
        drafts.sort(key=lambda d: (d[1][0].ts, d[0]))
        day_index = (day - self.first_day).days
        base = (day_index * len(self.sites) + (id_site - 1)) * self._id_block
        return tuple(
            make_visit(
                (
                    id_site,
                    base + rank + 1,
                    extras["visitor"],
                    extras["user_id"],
                    extras["returning"],
                    extras["visit_count"],
                    extras["days_since_first"],
                    extras["days_since_last"],
                    extras["referrer"],
                    extras["device"],
                    extras["browser"],
                    extras["country"],
                    extras["language"],
                    extras["resolution"],
                    extras["ip"],
                    extras["visitor_id"],
                    extras["fingerprint"],
                ),
                tuple(actions),
            )
            for rank, (_, actions, extras) in enumerate(drafts)
        )

    def _draft_actions(
        self, rng: random.Random, site: c.SiteInfo, last: int, day: date, i: int
    ) -> tuple[list[Action], dict[str, Any]]:
        referrer = _referrer(rng)
        kinds = _action_plan(rng, site)
        gaps = [rng.randint(5, 300) for _ in kinds[1:]]
        first = last - sum(gaps)
        times = [first]
        for g in gaps:
            times.append(times[-1] + g)
        actions: list[Action] = []
        position = 0
        posts_read = 0
        query = ""
        if referrer.type == "campaign":
            query = "?mtm_source={}&mtm_medium={}".format(
                rng.choice(("google", "newsletter", "facebook")),
                rng.choice(("cpc", "email", "social")),
            )
        pages = site.pages
        for j, (kind, ref) in enumerate(kinds):
            ts = times[j]
            if kind == PAGE:
                position += 1
                perf = None
                # page timings come from the shop's JS tracker, not on product/checkout pages
                if (
                    site.id == 1
                    and pages[ref].kind not in ("product", "checkout")
                    and (rng.random() < 0.5)
                ):
                    perf = (
                        rng.randint(5, 120),
                        rng.randint(40, 900),
                        rng.randint(5, 200),
                        rng.randint(100, 1500),
                        rng.randint(50, 700),
                        rng.randint(5, 80),
                    )
                actions.append(
                    Action(
                        PAGE,
                        ts,
                        ref,
                        position,
                        query if j == 0 else "",
                        perf,
                        idpageview=_pv_id(rng),
                    )
                )
                page = pages[ref]
                if site.id == 1 and page.path == "/contact" and not _has_goal(actions, 1):
                    actions.append(Action(GOAL, ts, 1, position, idpageview=actions[-1].idpageview))
                if site.id == 2 and page.kind == "post":
                    posts_read += 1
                    if posts_read == 3:
                        actions.append(
                            Action(GOAL, ts, 1, position, idpageview=actions[-1].idpageview)
                        )
            elif kind == EVENT:
                actions.append(Action(EVENT, ts, ref, position))
                if site.id == 1 and c.EVENTS[ref][0] == "Newsletter" and not _has_goal(actions, 2):
                    actions.append(Action(GOAL, ts, 2, position))
            elif kind in (ORDER, CART):
                actions.append(Action(kind, ts, 0, position, order=_order(rng, day, i)))
            elif kind == SEARCH:
                actions.append(Action(SEARCH, ts, ref, position, idpageview=_pv_id(rng)))
            else:
                actions.append(Action(kind, ts, ref, position))
        returning = rng.random() < 0.4
        pool = self._pool[site.id]
        if not returning:
            visitor = pool + i + 100_000 * day.toordinal()
        elif rng.random() < 0.5:  # came back the same day
            visitor = -(day.toordinal() * 1000 + rng.randrange(max(3, self.visits_per_day // 8)))
        else:
            visitor = rng.randrange(pool)
        user_id = None
        if returning and site.id == 1 and visitor % 6 == 0:
            user_id = f"customer-{1000 + visitor % 997}"
            if visitor % 4 == 0:
                user_id += "@example.com"
        device = rng.randrange(len(c.DEVICES))
        dev = c.DEVICES[device]
        country = rng.randrange(len(c.COUNTRIES))
        language = country if rng.random() < 0.8 else rng.randrange(len(c.LANGUAGES))
        visit_count = rng.randint(2, 12) if returning else 1
        since_first = rng.randint(1, 60) if returning else 0
        extras: dict[str, Any] = {
            "visitor": visitor,
            "visitor_id": _hex("visitor", self.seed, site.id, visitor),
            "user_id": user_id,
            "returning": returning,
            "visit_count": visit_count,
            "days_since_first": since_first,
            "days_since_last": min(since_first, rng.randint(0, 30)) if returning else 0,
            "referrer": referrer,
            "device": device,
            "browser": rng.choice(dev[6]),
            "country": country,
            "language": language,
            "resolution": rng.choice(c.RESOLUTIONS[dev[0]]),
            "ip": f"{rng.randint(2, 223)}.{rng.randint(0, 255)}.0.0",
            "fingerprint": _hex("fp", self.seed, site.id, visitor, device),
        }
        return actions, extras


def _hour_weights(span_hours: int) -> list[int]:
    weights = list(_HOUR_WEIGHTS)
    while len(weights) < span_hours:  # 25-hour DST day
        weights.append(weights[-1])
    return weights[:span_hours]


def _pv_id(rng: random.Random) -> str:
    bits = rng.getrandbits(36)
    chars = []
    for _ in range(6):
        bits, digit = divmod(bits, 62)
        chars.append(_ALNUM[digit])
    return "".join(chars)


def _has_goal(actions: list[Action], goal: int) -> bool:
    return any(a.kind == GOAL and a.ref == goal for a in actions)


def _referrer(rng: random.Random) -> Referrer:
    kind = rng.choices(
        ("direct", "search", "website", "campaign", "social"), weights=(30, 30, 10, 12, 18)
    )[0]
    if kind == "search":
        name, _, _ = rng.choice(c.SEARCH_ENGINES)
        keyword = rng.choice(c.SEARCH_KEYWORDS)
        host = "https://www." + name.lower().replace(" ", "") + ".com/"
        url = host + ("search?q=" + quote(keyword, safe="").replace("%20", "+") if keyword else "")
        return Referrer("search", name, keyword or "Keyword not defined", url)
    if kind == "website":
        url = rng.choice(c.WEBSITES)
        return Referrer("website", url.split("/")[2], "", url)
    if kind == "campaign":
        name, keyword = rng.choice(c.CAMPAIGNS)
        return Referrer("campaign", name, keyword, None)
    if kind == "social":
        name, _ = rng.choice(c.SOCIALS)
        return Referrer("social", name, "", c.SOCIAL_URLS[name])
    return Referrer("direct", "", "", None)


def _action_plan(rng: random.Random, site: c.SiteInfo) -> list[tuple[int, int]]:
    """Kinds and catalogue indexes of a visit's actions, the first always a pageview."""
    n_pages = len(site.pages)
    plan: list[tuple[int, int]] = [(PAGE, rng.randrange(n_pages))]
    if rng.random() < 0.45:
        return plan
    length = min(15, 1 + int(rng.expovariate(1 / 3.5)) + 1)
    for _ in range(length - 1):
        kind = rng.choices((PAGE, DOWNLOAD, OUTLINK, SEARCH, EVENT), weights=(70, 6, 6, 6, 8))[0]
        if kind == PAGE:
            plan.append((PAGE, rng.randrange(n_pages)))
        elif kind == DOWNLOAD:
            plan.append((DOWNLOAD, rng.randrange(len(site.downloads))))
        elif kind == OUTLINK:
            plan.append((OUTLINK, rng.randrange(len(site.outlinks))))
        elif kind == SEARCH:
            plan.append((SEARCH, rng.randrange(len(c.SITE_SEARCH_KEYWORDS))))
        else:
            plan.append((EVENT, rng.randrange(len(c.EVENTS))))
    if site.ecommerce:
        roll = rng.random()
        paths = [p.path for p in site.pages]
        if roll < 0.12:
            for path in ("/cart", "/checkout", "/checkout/thank-you"):
                plan.append((PAGE, paths.index(path)))
            plan.append((ORDER, 0))
        elif roll < 0.2:
            plan.append((PAGE, paths.index("/cart")))
            plan.append((CART, 0))
    return plan


def _order(rng: random.Random, day: date, i: int) -> Order:
    items: dict[int, int] = {}
    for _ in range(rng.randint(1, 3)):
        p = rng.randrange(len(c.PRODUCTS))
        items[p] = items.get(p, 0) + rng.choice((1, 1, 1, 2))
    subtotal = round(sum(c.PRODUCTS[p].price * q for p, q in items.items()), 2)
    tax = round(subtotal * 0.19, 2)
    shipping = 0.0 if subtotal > 100 else 4.95
    discount = rng.choice((0.0, 0.0, 0.0, 10.0))
    order_id = f"ORD-{day.strftime('%y%m%d')}-{i:05d}"
    revenue = round(subtotal + tax + shipping - discount, 2)
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
