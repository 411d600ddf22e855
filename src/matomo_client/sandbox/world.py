"""The synthetic world: sites and their visits, generated lazily and deterministically.

A day's visits are drawn (`generate.py`) only when someone asks for that day, so a year
of 5,000 visits a day costs nothing until it is read; recently used days stay in a cache
bounded by its number of visits. Visits are compact `Visit` records (`records.py`);
`render.py` turns them into the dicts Matomo's Live API returns, `aggregates.py` sums
them into reports.

A visit belongs to the site-local day of its *last* action (as Matomo archives and as the
Live day window filters); a few visits start just before midnight of the previous day, and
their earlier actions count in that day's action reports (`early_visits`).
A `cutoff` instant hides what has not happened yet: visits that start later are invisible,
visits in progress show only their actions so far. It is the real clock when no `today`
is configured, and a virtual clock advancing per request in `live_traffic` mode.
"""

from __future__ import annotations

import gc
import random
from bisect import bisect_left
from collections import OrderedDict
from datetime import date, timedelta
from operator import itemgetter
from typing import Any

from . import catalog as c
from .extra_sites import MAX_EXTRA_SITES, extra_sites
from .generate import generate_day
from .records import Visit, gc_paused, local_midnight

__all__ = ["World"]

#: visits kept generated in memory (about 0.8 KB each): ten days of 5,000 visits; the day
#: just generated is kept whatever its size (a Live page or a segment reads it again)
DEFAULT_CACHED_VISITS = 50_000
#: from this many visits, a generated day is moved out of the cyclic GC's reach (gc.freeze)
FREEZE_VISITS = 20_000
#: idVisit blocks are numbered by days since this date, not since the first day: a day's
#: ids stay the same whatever `days` and `today` are (a sandbox restarted the next day)
_ID_EPOCH = date(1970, 1, 1)
#: a visit lasts less than this many seconds (`generate.py`)
_LONGEST_VISIT = 8192
#: days whose early visits are kept (a few visits each)
_EARLY_DAYS = 4096
#: extra sites' idVisit blocks come after those of the given sites' days up to this many days
#: after `_ID_EPOCH` (the year 2243), so no two sites share an idVisit
_EXTRA_ID_DAYS = 100_000


class _Day:
    """A generated site-day: visits by idVisit, the latest last action, Live's order."""

    __slots__ = ("by_last_action", "latest", "visits")

    def __init__(self, visits: tuple[Visit, ...]) -> None:
        self.visits = visits
        self.latest = max(map(_LAST_TS, visits), default=0)
        self.by_last_action: tuple[Visit, ...] | None = None


_LAST_TS = itemgetter(Visit._fields.index("last_ts"))
_FIRST_TS = itemgetter(Visit._fields.index("first_ts"))


def _live_key(v: Visit) -> tuple[int, int]:
    return v.last_ts, v.id_visit


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
        extra_sites: int = 0,
        max_cached_visits: int = DEFAULT_CACHED_VISITS,
    ) -> None:
        self.seed = seed
        self.days = days
        self.visits_per_day = visits_per_day
        self.today = today
        self.first_day = today - timedelta(days=days - 1)
        if self.first_day < _ID_EPOCH:
            raise ValueError(f"days={days} reaches before {_ID_EPOCH} (today is {today})")
        # the given sites number their idVisit blocks as ever; extra sites after all of them
        self._n_sites = len(sites)
        self._extra_first = max((s.id for s in sites), default=0) + 1
        sites = (*sites, *_extra(seed, extra_sites, self._extra_first))
        self.sites = {s.id: s for s in sites}
        # site -> the first day it has visits (created inside the days), if not `first_day`
        self._first_data = {
            s.id: self.first_day + timedelta(days=int(days * s.created_at))
            for s in sites
            if s.created_at is not None
        }
        self.cutoff: int | None = None
        self.max_cached_visits = max_cached_visits
        # id range per (site, day): ids grow with the day and stay unique in the world; they
        # depend on the day, the site and visits_per_day only
        self._id_block: int = 10 ** max(3, len(str(visits_per_day * 4)))
        self._pool = {s.id: max(40, int(visits_per_day * s.volume * 5)) for s in sites}
        # (site, day) -> generated day, least recently used first
        self._cache: OrderedDict[tuple[int, date], _Day] = OrderedDict()
        self._cached_visits = 0
        # site -> its own date at the real clock, where it differs from `today` (UTC)
        self._local_today: dict[int, date] = {}
        # (site, day) -> the day's visits begun the day before (`early_visits`)
        self._early: dict[tuple[int, date], tuple[Visit, ...]] = {}

    # -- sites -------------------------------------------------------------------------
    def site(self, id_site: int) -> c.SiteInfo:
        """The site with this id (KeyError if unknown)."""
        return self.sites[id_site]

    def created(self, id_site: int) -> str:
        """`ts_created` of a site: a week before its first day of data, or for an extra site
        created inside the days the midnight (UTC) of its first day of data."""
        first = self._first_data.get(id_site)
        if first is None:
            first = self.first_day - timedelta(days=7)
        return first.strftime("%Y-%m-%d 00:00:00")

    def first_data_day(self, id_site: int) -> date:
        """The first day a site can have visits: `first_day`, or its creation day."""
        return self._first_data.get(id_site, self.first_day)

    def site_today(self, id_site: int) -> date:
        """Today's date in the site's timezone: the configured today, or on the real clock
        the site's own date (Berlin's new day begins at 23:00 UTC)."""
        return self._local_today.get(id_site, self.today)

    def set_local_today(self, id_site: int, day: date) -> None:
        """Move a site's own today to `day` (the real clock in its timezone); its days past
        the old today were generated empty and are drawn again."""
        old = self.site_today(id_site)
        if day > old:
            for key in [k for k in self._cache if k[0] == id_site and k[1] > old]:
                self._cached_visits -= len(self._cache.pop(key).visits)
            for key in [k for k in self._early if k[0] == id_site and k[1] > old]:
                del self._early[key]
        if day == self.today:
            self._local_today.pop(id_site, None)
        else:
            self._local_today[id_site] = day

    def extend_to(self, today: date) -> None:
        """Move today forward to `today` (the real clock passed midnight), keeping the first
        day: the days already there keep their visits and ids, the new ones are added."""
        if today > self.today:
            # generated empty (a site whose own date was ahead has its new day already)
            for key in [k for k in self._cache if k[1] > self.site_today(k[0])]:
                self._cached_visits -= len(self._cache.pop(key).visits)
            for key in [k for k in self._early if k[1] > self.site_today(k[0])]:
                del self._early[key]
            self.today = today
            self.days = (today - self.first_day).days + 1

    # -- visits ------------------------------------------------------------------------
    def day_visits(self, id_site: int, day: date) -> tuple[Visit, ...]:
        """Compact visits whose last action falls on `day` (site-local), sorted by idVisit."""
        generated = self._generated(id_site, day)
        full = generated.visits
        cutoff = self.cutoff
        if cutoff is None or generated.latest <= cutoff:
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

    def live_order(self, id_site: int, day: date) -> tuple[Visit, ...]:
        """`day_visits` sorted by (last action time, idVisit), the order Live pages in."""
        generated = self._generated(id_site, day)
        cutoff = self.cutoff
        if cutoff is None or generated.latest <= cutoff:
            if generated.by_last_action is None:
                generated.by_last_action = tuple(sorted(generated.visits, key=_live_key))
            return generated.by_last_action
        return tuple(sorted(self.day_visits(id_site, day), key=_live_key))

    def day_is_final(self, id_site: int, day: date) -> bool:
        """Whether `day` can no longer change (safe to cache its aggregates): its actions
        include those of the next day's visits begun before midnight."""
        if self.cutoff is None:
            return True
        tz = self.sites[id_site].timezone
        return local_midnight(day + timedelta(days=1), tz) + _LONGEST_VISIT <= self.cutoff

    def early_visits(self, id_site: int, day: date) -> tuple[Visit, ...]:
        """`day_visits` that began before the day's midnight (their early actions are the
        previous day's). A day not in memory is drawn for them; a big one is not kept (it
        would push out the day asked for), only these few visits are."""
        key = (id_site, day)
        early = self._early.get(key)
        if early is None:
            hit = self._cache.get(key)
            if hit is not None:
                self._keep_early(key, hit.visits)
            elif 2 * self.visit_count(id_site, day) <= self.max_cached_visits:
                self._generated(id_site, day)  # keeps them too
            else:
                self._keep_early(key, self._generate(id_site, day))
            early = self._early[key]
        cutoff = self.cutoff
        if cutoff is None or not early:
            return early
        start = local_midnight(day, self.sites[id_site].timezone)
        seen = (v.until(cutoff) for v in early)
        return tuple(v for v in seen if v is not None and v.last_ts >= start)

    def _keep_early(self, key: tuple[int, date], visits: tuple[Visit, ...]) -> None:
        """Remember a drawn day's visits begun the day before: a prefix, as ids follow the
        first action's time."""
        start = local_midnight(key[1], self.sites[key[0]].timezone)
        self._early[key] = visits[: bisect_left(visits, start, key=_FIRST_TS)]
        if len(self._early) > _EARLY_DAYS:
            del self._early[next(iter(self._early))]

    def visits(self, id_site: int, day: date) -> list[dict[str, Any]]:
        """The visits of one site-local day as Matomo Live dicts, ordered by idVisit."""
        from .render import render_visit

        site = self.sites[id_site]
        return [
            render_visit(v, site, self.seed, with_actions=True)
            for v in self.day_visits(id_site, day)
        ]

    def cached_days(self) -> list[tuple[int, date]]:
        """The (site, day) pairs whose visits are in memory, least recently used first."""
        return list(self._cache)

    def _generated(self, id_site: int, day: date) -> _Day:
        key = (id_site, day)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        hit = _Day(self._generate(id_site, day))
        self._keep_early(key, hit.visits)
        self._cache[key] = hit
        self._cached_visits += len(hit.visits)
        # keep at least the day just generated, however big
        while self._cached_visits > self.max_cached_visits and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached_visits -= len(dropped.visits)
        return hit

    def visit_count(self, id_site: int, day: date) -> int:
        """How many visits the full day has (before any cutoff)."""
        site = self.sites.get(id_site)
        if site is None or site.volume == 0:
            return 0
        if not self._first_data.get(id_site, self.first_day) <= day <= self.site_today(id_site):
            return 0
        tz = site.timezone
        if local_midnight(day + timedelta(days=1), tz) <= local_midnight(day, tz):
            return 0  # a day its timezone skipped (Pacific/Apia, 2011-12-30): no visits
        rng = random.Random(f"count/{self.seed}/{id_site}/{day.isoformat()}")
        weekday = 0.85 if day.weekday() >= 5 else 1.0
        return max(1, round(self.visits_per_day * site.volume * weekday * rng.uniform(0.8, 1.2)))

    # -- generation --------------------------------------------------------------------
    def _generate(self, id_site: int, day: date) -> tuple[Visit, ...]:
        n = self.visit_count(id_site, day) if self.visits_per_day else 0
        if n == 0:
            return ()
        site = self.sites[id_site]
        day_index = (day - _ID_EPOCH).days
        big = n >= FREEZE_VISITS
        if big and gc.isenabled():
            gc.collect()  # garbage cycles left now would be frozen with the day, never freed
        with gc_paused():
            visits = generate_day(
                seed=self.seed,
                site=site,
                day=day,
                n=n,
                start=local_midnight(day, site.timezone),
                end=local_midnight(day + timedelta(days=1), site.timezone),
                first_id=self._first_id(id_site, day_index),
                pool=self._pool[id_site],
                visits_per_day=self.visits_per_day,
            )
            if big:
                # a big day's records are named tuples, which the cyclic GC never untracks:
                # each later collection walked all of them (about 2 s for 350,000 visits).
                # They hold no cycles, so reference counting frees them once the day is dropped.
                gc.freeze()
        return visits

    def _first_id(self, id_site: int, day_index: int) -> int:
        block = self._id_block
        extra = id_site - self._extra_first
        if extra < 0:  # a given site: blocks interleaved by day
            return (day_index * self._n_sites + (id_site - 1)) * block + 1
        above = _EXTRA_ID_DAYS * self._n_sites  # past every given site's block
        return (above + day_index * MAX_EXTRA_SITES + extra) * block + 1


def _extra(seed: int, count: int, first_id: int) -> tuple[c.SiteInfo, ...]:
    return extra_sites(seed, count, first_id) if count else ()
