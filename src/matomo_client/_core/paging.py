"""Complete, duplicate-free paging of raw visits (`Live.getLastVisitsDetails`).

Offset paging alone loses or repeats visits on a live site (matomo-api-notes.md §9, §10). We page
in ascending order of last action time with a `minTimestamp` keyset:

* Matomo's `minTimestamp` is strict (`>`), so the next page asks for `T - 1`, where T is the newest
  last-action second seen, and drops the visits of second T it already yielded (`Cursor.seen`).
* The page asked for is `limit + len(seen)`: even when a whole page shares one second, every
  request brings up to `limit` new visits, so paging never stalls and never steps past a second.
* A page shorter than asked means every visit after the cursor's second had come: the next
  cursor says so (`caught_up`), but still asks from T - 1, skipping what it saw, since a visit
  can still arrive within second T after the query. A short page is not the end: the stream ends
  on a page with nothing new in it (an empty one, or one of the visits already yielded only).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TypeVar

from matomo_client._core.params import Params, site_param
from matomo_client._core.periods import Limit, Period
from matomo_client.errors import DecodeError

__all__ = ["Cursor", "advance", "keys_of", "step", "visit_key"]

VisitT = TypeVar("VisitT", bound=Mapping[str, Any])


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a Live export stands; immutable and serialisable (`to_json` / `from_json`).

    Build the first one with `Cursor(id_site, period, Limit(n), segment=None)`, then pass each
    cursor to `live.next_page`, which returns the next one, or None when the data ran out.
    `caught_up` is true when the page before it was shorter than asked: every visit of the
    period there was then had come, so a period that is over can stop here (a live one goes on
    until a page brings nothing new).
    """

    id_site: int
    period: Period
    limit: Limit
    segment: str | None = None
    min_timestamp: int | None = None
    seen: tuple[int, ...] = ()
    caught_up: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        # One site per cursor: "all" or a list would interleave sites in one keyset.
        if isinstance(self.id_site, bool) or not isinstance(self.id_site, (int, str)):
            raise ValueError(f"Cursor id_site must be one positive site id, got {self.id_site!r}")
        site = site_param(self.id_site)
        if not site.isdigit():
            raise ValueError(f"Cursor id_site must be one positive site id, got {self.id_site!r}")
        object.__setattr__(self, "id_site", int(site))
        if not isinstance(self.period, Period):
            raise ValueError("Cursor period must be a Period, e.g. Period.day(date(2024, 5, 1))")
        if not isinstance(self.limit, Limit):
            object.__setattr__(self, "limit", Limit(self.limit))
        if self.segment is not None and not isinstance(self.segment, str):
            raise ValueError(f"Cursor segment must be a str or None, got {self.segment!r}")
        if self.min_timestamp is not None and (
            isinstance(self.min_timestamp, bool)
            or not isinstance(self.min_timestamp, int)
            or self.min_timestamp < 0
        ):
            raise ValueError(
                f"Cursor min_timestamp must be a whole number >= 0, got {self.min_timestamp!r}"
            )
        if not isinstance(self.seen, tuple) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in self.seen
        ):
            raise ValueError(f"Cursor seen must be a tuple of visit ids, got {self.seen!r}")

    @property
    def page_size(self) -> int:
        """How many visits the next request asks for."""
        return self.limit.n + len(self.seen)

    def params(self) -> Params:
        """The Live.getLastVisitsDetails parameters of the next page."""
        p = (
            Params()
            .id_site(self.id_site)
            .period(self.period)
            .segment(self.segment)
            .set("filter_limit", self.page_size)
            .set("filter_offset", 0)
            .set("filter_sort_order", "asc")
        )
        if self.min_timestamp is not None:
            p = p.set("minTimestamp", self.min_timestamp)
        return p

    def to_json(self) -> str:
        """A JSON text that `Cursor.from_json` turns back into this cursor."""
        return json.dumps(
            {
                "v": 1,
                "id_site": self.id_site,
                "period": self.period.to_json(),
                "limit": self.limit.n,
                "segment": self.segment,
                "min_timestamp": self.min_timestamp,
                "seen": list(self.seen),
                "caught_up": self.caught_up,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Cursor:
        """Rebuild a cursor saved with `to_json`; a malformed text raises ValueError."""
        try:
            data = json.loads(text)
            version = data.get("v")
            if type(version) is not int or version != 1:  # not `true` or `1.0`, which equal 1
                raise ValueError(f"unsupported cursor version {version!r}")
            seen = data.get("seen", [])
            if not isinstance(seen, list):
                raise ValueError(f"seen must be a list of visit ids, not {seen!r}")
            return cls(
                id_site=data["id_site"],
                period=Period.from_json(data["period"]),
                limit=Limit(data["limit"]),
                segment=data.get("segment"),
                min_timestamp=data.get("min_timestamp"),
                seen=tuple(seen),
                caught_up=data.get("caught_up") is True,
            )
        except KeyError as exc:
            raise ValueError(f"not a saved Cursor: it has no {exc.args[0]!r}") from None
        except (TypeError, AttributeError, ValueError) as exc:
            # json.JSONDecodeError is a ValueError too.
            raise ValueError(f"not a saved Cursor: {exc}") from None

    def __repr__(self) -> str:
        segment = f", segment={self.segment!r}" if self.segment else ""
        return (
            f"Cursor(site={self.id_site}, {self.period!r}, limit={self.limit.n}{segment}, "
            f"after={self.min_timestamp}, skipping={len(self.seen)})"
        )


def visit_key(visit: Mapping[str, Any]) -> tuple[int, int]:
    """(last action second, idVisit) of a raw visit, whatever types Matomo sent them as."""
    try:
        return int(visit["lastActionTimestamp"]), int(visit["idVisit"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _unusable(exc) from None


def _unusable(exc: Exception) -> ValueError:
    return ValueError(f"a visit lacks a usable lastActionTimestamp/idVisit: {exc}")


def _keys(page: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """`visit_key` of each visit; without a Python call per visit when both are plain ints."""
    try:
        ts = list(map(itemgetter("lastActionTimestamp"), page))
        ids = list(map(itemgetter("idVisit"), page))
    except (KeyError, TypeError):
        return [visit_key(v) for v in page]
    return keys_of(ts, ids)


def keys_of(ts: Sequence[Any], ids: Sequence[Any]) -> list[tuple[int, int]]:
    """`visit_key` of each visit, from its raw `lastActionTimestamp` and `idVisit` values."""
    if set(map(type, ts)) == {int} and set(map(type, ids)) == {int}:
        return list(zip(ts, ids, strict=True))
    try:
        return [(int(t), int(i)) for t, i in zip(ts, ids, strict=True)]
    except (TypeError, ValueError) as exc:
        raise _unusable(exc) from None


def _check_page(cursor: Cursor, keys: Sequence[tuple[int, int]]) -> None:
    """Refuse a page that breaks the two promises keyset paging relies on.

    A server that ignores `minTimestamp` (an old Matomo, a proxy cache, a fake) would make the
    pager read the same visits forever; one that ignores `filter_sort_order=asc` would make it
    step past visits. Either would lose data silently, so it is an error instead.
    """
    if cursor.min_timestamp is not None and any(ts <= cursor.min_timestamp for ts, _ in keys):
        raise DecodeError(
            "Live.getLastVisitsDetails",
            f"the server returned visits at or before minTimestamp={cursor.min_timestamp}: "
            "it ignores minTimestamp",
        )
    if any(a[0] > b[0] for a, b in itertools.pairwise(keys)):
        raise DecodeError(
            "Live.getLastVisitsDetails",
            "the visits are not in ascending order of lastActionTimestamp: "
            "the server ignores filter_sort_order=asc",
        )


def advance(cursor: Cursor, page: Sequence[VisitT]) -> tuple[list[VisitT], Cursor | None]:
    """The visits of `page` not yielded before, and the cursor of the next page (None: done)."""
    if not page:
        return [], None
    fresh, nxt = step(cursor, _keys(page))
    return [page[i] for i in fresh], nxt


def step(cursor: Cursor, keys: Sequence[tuple[int, int]]) -> tuple[list[int], Cursor | None]:
    """`advance` by the pages' `visit_key`s: the positions of the visits not yielded before,
    and the cursor of the next page (None: done)."""
    if not keys:
        return [], None
    seen = set(cursor.seen)
    _check_page(cursor, keys)
    fresh = [i for i, (_, vid) in enumerate(keys) if vid not in seen]
    short = len(keys) < cursor.page_size
    if short and not fresh:
        return [], None  # every visit there is came before: the stream is over
    newest = max(ts for ts, _ in keys)
    boundary = tuple(sorted(vid for ts, vid in keys if ts == newest))
    nxt = Cursor(
        cursor.id_site, cursor.period, cursor.limit, cursor.segment, newest - 1, boundary, short
    )
    if not fresh and nxt == cursor:
        # Only a server that ignores minTimestamp can repeat a page exactly; stopping quietly
        # could lose visits, so say so instead.
        raise DecodeError(
            "Live.getLastVisitsDetails",
            "the server repeated a page that was already read: it ignores minTimestamp",
        )
    return fresh, nxt
