"""`Params`: an immutable, chainable set of Matomo request parameters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from urllib.parse import unquote_plus

from matomo_client._core.periods import Date, DateRange, Limit, Period

__all__ = ["MAX_SEGMENT_BYTES", "ParamValue", "Params", "SiteSelector", "site_param"]

#: A value `Params` renders: `Date`/`DateRange` (a `date=`) and `Limit` as Matomo writes them.
ParamValue = str | int | float | bool | dt.date | Date | DateRange | Limit
#: Matomo cuts a segment definition (as it reads it, URL-decoded) to its first 8192 bytes.
MAX_SEGMENT_BYTES = 8192
SiteSelector = int | str | Iterable[int]
# Longer digit strings are no site id (Python's `int()` refuses past 4,300 digits anyway).
_MAX_DIGITS = 20

# Set by the client itself; a caller setting them would split the request between
# the query string and the body, or move the token somewhere it must never be.
_RESERVED = frozenset({"module", "method", "format", "token_auth", "force_api_session"})


def _render(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Limit):
        return str(value.n)
    if isinstance(value, (Date, DateRange)):  # `date=today`, `date=last7` as `.period()` writes
        return value.to_param()
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"parameter {key!r} contains a NUL character")
        return value
    if isinstance(value, Period):
        raise ValueError(
            f"parameter {key!r}: a Period sets both period and date: use .period(), not .set()"
        )
    raise ValueError(f"parameter {key!r}: unsupported value type {type(value).__name__}")


def site_param(site: SiteSelector) -> str:
    """Render an `idSite` selector: a positive id, `"all"`, or several ids."""
    if isinstance(site, bool):
        raise ValueError(f"idSite must be a positive integer, 'all' or a list of ids, got {site!r}")
    if isinstance(site, int):
        if site < 1:
            raise ValueError(f"idSite must be a positive integer, got {site}")
        return str(site)
    if isinstance(site, str):
        if site == "all":
            return site
        # ASCII digits only: "²" is a digit to `isdigit` but not to `int` (nor to Matomo).
        if site.isascii() and site.isdigit() and len(site) <= _MAX_DIGITS and int(site) >= 1:
            return str(int(site))
        raise ValueError(f"idSite must be a positive integer, 'all' or a list of ids, got {site!r}")
    if not isinstance(site, Iterable):
        raise ValueError(f"idSite must be a positive integer, 'all' or a list of ids, got {site!r}")
    ids = [site_param(s) for s in site]
    if not ids or "all" in ids:
        raise ValueError("a list of sites must hold one or more positive ids")
    return ",".join(ids)


class Params:
    """Request parameters; every method returns a new `Params`, the original is unchanged.

    `Params().id_site(1).period(Period.day(Date.TODAY)).set("flat", 1)`
    """

    __slots__ = ("_items",)

    def __init__(self, items: Params | Mapping[str, ParamValue] | None = None) -> None:
        data: dict[str, str] = {}
        for key, value in (items or {}).items():
            data[self._check_key(key)] = _render(key, value)
        self._items = data

    @staticmethod
    def _check_key(key: str) -> str:
        if not isinstance(key, str) or not key:
            raise ValueError("parameter names must be non-empty strings")
        if key in _RESERVED:
            raise ValueError(
                f"parameter {key!r} is set by the client and cannot be passed in Params"
            )
        return key

    def _with(self, updates: Mapping[str, str]) -> Params:
        new = Params()
        new._items = {**self._items, **updates}
        return new

    def set(self, key: str, value: ParamValue) -> Params:
        """Any Matomo parameter by its Matomo name (`flat`, `idSubtable`, `showColumns`...)."""
        return self._with({self._check_key(key): _render(key, value)})

    def id_site(self, site: SiteSelector) -> Params:
        """`idSite`: a positive id, `"all"`, or a list of ids."""
        return self._with({"idSite": site_param(site)})

    def period(self, period: Period) -> Params:
        """`period` and `date` from a `Period`."""
        if not isinstance(period, Period):
            raise ValueError(
                f"period must be a Period, e.g. Period.day(date(2024, 5, 1)), not {period!r}"
            )
        return self._with(period.to_params())

    def segment(self, segment: str | None) -> Params:
        """A Matomo segment definition, e.g. `browserCode==FF` (omitted when None or empty)."""
        if not segment:
            return self
        if isinstance(segment, str) and len(unquote_plus(segment).encode()) > MAX_SEGMENT_BYTES:
            raise ValueError(
                f"segment too long: Matomo reads only its first {MAX_SEGMENT_BYTES:,} bytes and "
                "would silently apply a shorter segment; split it into several requests"
            )
        return self.set("segment", segment)

    def limit(self, limit: Limit | int) -> Params:
        """`filter_limit`: a `Limit`, or -1 for every row."""
        if isinstance(limit, int) and limit == -1:
            return self._with({"filter_limit": "-1"})
        lim = limit if isinstance(limit, Limit) else Limit(limit)
        return self._with({"filter_limit": str(lim.n)})

    def offset(self, offset: int) -> Params:
        """`filter_offset`: rows to skip, 0 or more."""
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"filter_offset must be a whole number >= 0, got {offset!r}")
        return self._with({"filter_offset": str(offset)})

    def without(self, *keys: str) -> Params:
        """A copy without the given parameters."""
        new = Params()
        new._items = {k: v for k, v in self._items.items() if k not in keys}
        return new

    def merge(self, other: Params | Mapping[str, ParamValue]) -> Params:
        """A copy with `other`'s parameters added; where both set one, `other`'s value wins."""
        extra = other if isinstance(other, Params) else Params(other)
        return self._with(extra._items)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The rendered value of one parameter."""
        return self._items.get(key, default)

    def keys(self) -> list[str]:
        """The parameter names, in insertion order (`dict(params)` works)."""
        return list(self._items)

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def items(self) -> list[tuple[str, str]]:
        """The parameters as (name, text) pairs, in insertion order."""
        return list(self._items.items())

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Params) and other._items == self._items

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items())))

    def __repr__(self) -> str:
        return f"Params({self._items!r})"
