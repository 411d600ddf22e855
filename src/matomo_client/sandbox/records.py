"""Compact records of the synthetic world: visits, their actions, orders and referrers.

Records are named tuples (cheap to build by the thousand, immutable, hashable) with the
facts reports need precomputed once (first/last action time, counted actions, goal
conversions). `render.py` turns a `Visit` into the dict Matomo's Live API returns;
`aggregates.py` sums visits into reports. Timestamps are UTC seconds.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote
from zoneinfo import ZoneInfo

from . import catalog as c

__all__ = [
    "CART",
    "COUNTED",
    "DOWNLOAD",
    "EVENT",
    "GOAL",
    "ORDER",
    "OUTLINK",
    "PAGE",
    "SEARCH",
    "Action",
    "Order",
    "Referrer",
    "Visit",
    "gc_paused",
    "local_date",
    "local_midnight",
    "make_visit",
    "now_utc",
    "page_url",
    "utc_offset",
]

PAGE, DOWNLOAD, OUTLINK, SEARCH, EVENT, GOAL, ORDER, CART = range(8)
#: kinds that Matomo counts in a visit's `actions`
COUNTED = frozenset({PAGE, DOWNLOAD, OUTLINK, SEARCH, EVENT})
_new = tuple.__new__


class Order(NamedTuple):
    """An ecommerce order or abandoned cart: items are (product index, quantity)."""

    order_id: str
    items: tuple[tuple[int, int], ...]
    subtotal: float
    tax: float
    shipping: float
    discount: float
    revenue: float  # grand total as Matomo computes it
    quantity: int  # number of items (sum of quantities)


class Action(NamedTuple):
    """One entry of a visit's action log."""

    kind: int
    ts: int
    ref: int  # page / download / outlink / search keyword / event index, or goal id
    position: int  # pageview position this action belongs to
    query: str = ""  # campaign query string on the landing page
    perf: tuple[int, int, int, int, int, int] | None = None  # page timings, milliseconds
    order: Order | None = None


class Referrer(NamedTuple):
    """How a visit arrived: type is direct/search/website/campaign/social."""

    type: str
    name: str
    keyword: str
    url: str | None


class Visit(NamedTuple):
    """A compact visit; Matomo's presentation fields are derived when it is rendered."""

    id_site: int
    id_visit: int
    visitor: int
    user_id: str | None
    returning: bool
    referrer: Referrer
    device: int
    browser: str
    country: int
    language: int
    actions: tuple[Action, ...]
    first_ts: int  # UTC timestamp of the first action
    last_ts: int  # UTC timestamp of the last action (Matomo's visit_last_action_time)
    n_actions: int  # Matomo's `actions`: pageviews, downloads, outlinks, searches, events
    conversions: int  # goal conversions including ecommerce orders

    @property
    def duration(self) -> int:
        """Matomo's `visitDuration` in seconds."""
        return self.last_ts - self.first_ts

    def until(self, cutoff: int) -> Visit | None:
        """This visit as seen at `cutoff`: later actions hidden, None if not started yet."""
        if self.last_ts <= cutoff:
            return self
        if self.first_ts > cutoff:
            return None
        return make_visit(self[:_HEAD], tuple(a for a in self.actions if a.ts <= cutoff))


_HEAD = len(Visit._fields) - 5  # fields before `actions`


def make_visit(head: tuple[object, ...], actions: tuple[Action, ...]) -> Visit:
    """A `Visit` from its fields before `actions` and its actions, derived counters filled in."""
    counted = 0
    conversions = 0
    for a in actions:
        kind = a[0]
        if kind < GOAL:
            counted += 1
        elif kind != CART:
            conversions += 1
    return _new(Visit, (*head, actions, actions[0][1], actions[-1][1], counted, conversions))


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=8192)
def local_midnight(day: date, tz: str) -> int:
    """UTC timestamp of 00:00 of `day` in the timezone `tz`."""
    return int(datetime(day.year, day.month, day.day, tzinfo=_zone(tz)).timestamp())


def utc_offset(ts: int, tz: str) -> int:
    """Seconds east of UTC of `tz` at instant `ts`."""
    offset = datetime.fromtimestamp(ts, _zone(tz)).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def local_date(ts: int, tz: str) -> date:
    """The date in `tz` at UTC instant `ts`."""
    return datetime.fromtimestamp(ts, _zone(tz)).date()


def now_utc() -> int:
    """The real clock, in one place so the world never reads it elsewhere."""
    return int(datetime.now(timezone.utc).timestamp())


def page_url(site: c.SiteInfo, index: int, query: str = "") -> str:
    """Percent-encoded absolute URL of a page, as Matomo stores it."""
    key = (site.main_url, site.pages[index].path)
    base = _PAGE_URLS.get(key)
    if base is None:
        base = _PAGE_URLS[key] = site.main_url + quote(site.pages[index].path, safe="/")
    return base + query


_PAGE_URLS: dict[tuple[str, str], str] = {}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while a day is built or summed: many small acyclic containers.

    Otherwise each burst of allocations triggers collections that walk every cached visit.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
