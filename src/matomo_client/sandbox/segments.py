"""A small subset of Matomo segments, evaluated on compact visits.

`;` is AND, `,` is OR (OR binds tighter, as in Matomo; `\\;` and `\\,` are literal); operators
`==`, `!=`, `=@`, `!@`, `=^`, `=$`, `>`, `<`, `>=`, `<=`. Decoded as Matomo's `Segment` does: the
definition is read URL-decoded unless that splits it into fewer valid conditions, then each
condition and each value is URL-decoded once more (`+` is a space). Dimensions of actions
(`pageUrl`...) match a visit with a matching action. The custom dimensions of the sites that
have them (`settings.py`) are `dimension1` (visit scope: `new` or `returning`, as the Live visits
say) and `dimension2` (action scope: the kind of a page viewed, as the Live actions say). Matomo's
CustomDimensions plugin registers them only when both the segment's sites (`id_sites`: exactly one)
and the HTTP request's site (`idSite`, else a single `idSites`: see `request_site`) have them, so
elsewhere they are unsupported, as in a bulk sub-request or over several sites. Unknown dimensions
and malformed conditions fail with Matomo's texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from urllib.parse import unquote, unquote_plus

from . import catalog as c
from .dates import ApiFailure
from .records import CART, DOWNLOAD, ORDER, OUTLINK, PAGE, SEARCH, Visit, page_url

__all__ = [
    "CUSTOM_DIMENSION_SEGMENTS",
    "has_custom_dimensions",
    "parse_segment",
    "request_has_custom_dimensions",
    "request_site",
]

VisitFilter = Callable[[Visit], bool]
Sites = Mapping[int, c.SiteInfo]

#: the default world's sites, for a segment parsed without the world's own
_SITES: Sites = {s.id: s for s in c.SITES}
#: the segments of the custom dimensions, which exist only for the sites that have them
CUSTOM_DIMENSION_SEGMENTS = frozenset({"dimension1", "dimension2"})
# the HTTP request's site as the CustomDimensions plugin reads it (0: none); unset outside a request
_REQUEST_SITE: ContextVar[int | None] = ContextVar("request_site", default=None)


def _site_number(raw: str | None) -> int:
    text = (raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() else 0


@contextmanager
def request_site(params: Mapping[str, str]) -> Iterator[None]:
    """Run an HTTP request's method with its site set (the outermost request only: a bulk
    sub-request keeps it), as CustomDimensions::getIdSite reads `$_GET`: `idSite` if it is one
    number, else `idSites` if it is one number, else none."""
    if _REQUEST_SITE.get() is not None:
        yield
        return
    token = _REQUEST_SITE.set(
        _site_number(params.get("idSite")) or _site_number(params.get("idSites"))
    )
    try:
        yield
    finally:
        _REQUEST_SITE.reset(token)


def has_custom_dimensions(sites: Sites, id_sites: Collection[int]) -> bool:
    """Whether the custom dimension segments exist for a segment over `id_sites` in the current
    request: one site with custom dimensions, and a request site with them (if in a request)."""
    ids = set(id_sites)
    if len(ids) != 1 or not _has(sites, next(iter(ids))):
        return False
    current = _REQUEST_SITE.get()
    return current is None or _has(sites, current)


def request_has_custom_dimensions(sites: Sites) -> bool:
    """Whether the current HTTP request's site has custom dimensions (False outside one)."""
    current = _REQUEST_SITE.get()
    return current is not None and _has(sites, current)


def _has(sites: Sites, id_site: int) -> bool:
    site = sites.get(id_site)
    return site is not None and site.custom_dimensions


def _visitor_type(v: Visit, sites: Sites) -> str:
    # As the Live rows say: a returning visitor of a shop every fifth is a returning customer.
    if not v.returning:
        return "new"
    if sites[v.id_site].ecommerce and v.visitor % 5 == 0:
        return "returningCustomer"
    return "returning"


def _customer_type(v: Visit, sites: Sites) -> str:
    # custom dimension 1, "Customer Type" (visit scope), as the Live visits carry it
    if not sites[v.id_site].custom_dimensions:
        return ""
    return "returning" if v.returning else "new"


def _page_categories(v: Visit, sites: Sites) -> list[str]:
    # custom dimension 2, "Page Category" (action scope): set on page views only, as in Live
    site = sites[v.id_site]
    if not site.custom_dimensions:
        return []
    return [site.pages[a.ref].kind for a in v.actions if a.kind == PAGE]


def _ecommerce_status(v: Visit) -> str:
    orders = any(a.kind == ORDER for a in v.actions)
    carts = any(a.kind == CART for a in v.actions)
    if orders and carts:
        return "orderedThenAbandonedCart"
    return "ordered" if orders else "abandonedCart" if carts else "none"


_DIMENSIONS: dict[str, Callable[[Visit], str]] = {
    "deviceType": lambda v: c.DEVICES[v.device][0].lower(),
    "referrerType": lambda v: v.referrer.type,
    "referrerName": lambda v: v.referrer.name,
    # Matomo stores no keyword where its reports say "Keyword not defined" (`referrerKeyword==`).
    "referrerKeyword": lambda v: (
        "" if v.referrer.keyword == "Keyword not defined" else v.referrer.keyword
    ),
    "referrerUrl": lambda v: v.referrer.url or "",
    "countryCode": lambda v: c.COUNTRIES[v.country][3],
    "browserCode": lambda v: v.browser,
    "userId": lambda v: v.user_id or "",
    "visitId": lambda v: str(v.id_visit),
    "visitEcommerceStatus": _ecommerce_status,
    "visitConverted": lambda v: "1" if v.conversions else "0",
    "languageCode": lambda v: c.LANGUAGES[v.language],
}


def _urls(
    kind: int, url: Callable[[c.SiteInfo, int, str], str]
) -> Callable[[Visit, Sites], list[str]]:
    """The URLs of a visit's actions of one kind, as stored and decoded (a report row's
    segment carries the decoded URL)."""

    def get(v: Visit, sites: Sites) -> list[str]:
        site = sites[v.id_site]
        found = [url(site, a.ref, a.query) for a in v.actions if a.kind == kind]
        return found + [unquote(u) for u in found]

    return get


# Dimensions of actions: a visit matches when one of its actions does; `!=` and `!@` when none
# does (Matomo 4 and later).
_ACTION_DIMENSIONS: dict[str, Callable[[Visit, Sites], list[str]]] = {
    "pageUrl": _urls(PAGE, page_url),
    "pageTitle": lambda v, sites: [
        sites[v.id_site].pages[a.ref].title for a in v.actions if a.kind == PAGE
    ],
    "downloadUrl": _urls(DOWNLOAD, lambda site, ref, _: site.downloads[ref]),
    "outlinkUrl": _urls(OUTLINK, lambda site, ref, _: site.outlinks[ref]),
    "siteSearchKeyword": lambda v, _: [
        c.SITE_SEARCH_KEYWORDS[a.ref][0] for a in v.actions if a.kind == SEARCH
    ],
    "siteSearchCategory": lambda v, _: [
        c.SITE_SEARCH_KEYWORDS[a.ref][1] for a in v.actions if a.kind == SEARCH
    ],
    "dimension2": _page_categories,
}
# Matomo's operators in the order its pattern tries them; the name is anything before the first.
_CONDITION = re.compile(r"^(.+?)(==|!=|>=|>|<=|<|=@|!@|=\^|=\$)(.*)$", re.DOTALL)


def _condition(text: str, sites: Sites, custom: bool) -> VisitFilter:
    text = unquote_plus(text)  # Matomo urldecode()s each condition before reading it
    m = _CONDITION.match(text)
    if m is None:
        raise ApiFailure(f"The segment condition '{text}' is not valid.")
    name, op, raw = m.groups()
    getter = _DIMENSIONS.get(name)
    if name == "visitorType":
        getter = partial(_visitor_type, sites=sites)
    elif name == "dimension1":
        getter = partial(_customer_type, sites=sites)
    many = _ACTION_DIMENSIONS.get(name)
    if name in CUSTOM_DIMENSION_SEGMENTS and not custom:
        getter = many = None
    if getter is None and many is None:
        raise ApiFailure(f"Segment '{name}' is not a supported segment.")
    value = unquote_plus(raw).lower()  # and then the value once more: `+` is a space
    if value == "" and op not in ("==", "!="):
        raise ApiFailure(
            f"The segment '{text}' has no value specified. You can leave this value empty only "
            "when you use the operators: != (is not) or == (is)"
        )
    ops: dict[str, Callable[[str], bool]] = {
        "==": lambda x: x == value,
        "!=": lambda x: x != value,
        "=@": lambda x: value in x,
        "!@": lambda x: value not in x,
        "=^": lambda x: x.startswith(value),
        "=$": lambda x: x.endswith(value),
        ">": lambda x: _num(x) > _num(value),
        "<": lambda x: _num(x) < _num(value),
        ">=": lambda x: _num(x) >= _num(value),
        "<=": lambda x: _num(x) <= _num(value),
    }
    if many is not None:
        negated = {"!=": "==", "!@": "=@"}.get(op)
        test = ops[negated or op]
        if negated:
            return lambda v: not any(test(x.lower()) for x in many(v, sites))
        return lambda v: any(test(x.lower()) for x in many(v, sites))
    assert getter is not None
    one = getter
    test = ops[op]
    return lambda v: test(one(v).lower())


def _num(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _split(text: str) -> list[list[str]]:
    """AND groups of OR'ed conditions; a backslash before `;` or `,` makes it literal."""
    groups: list[list[str]] = [[]]
    part: list[str] = []
    for ch in text:
        if ch in ";," and part and part[-1] == "\\":
            part[-1] = ch
            continue
        if ch in ";,":
            groups[-1].append("".join(part))
            part = []
            if ch == ";":
                groups.append([])
            continue
        part.append(ch)
    groups[-1].append("".join(part))
    return groups


def _parse(text: str, sites: Sites, custom: bool) -> list[list[VisitFilter]]:
    return [[_condition(p, sites, custom) for p in alternatives] for alternatives in _split(text)]


def parse_segment(
    text: str | None, sites: Sites | None = None, id_sites: Collection[int] = ()
) -> VisitFilter | None:
    """A predicate over visits for a segment definition, or None for no segment; `sites`
    are the world's sites by id (default: sites 1-3), `id_sites` those the segment is used with."""
    sites = _SITES if sites is None else sites
    if not text:
        return None
    custom = has_custom_dimensions(sites, id_sites)
    # Matomo reads the definition URL-decoded unless the text as sent has more valid
    # conditions: `a%3D%3D1%3Bb%3D%3D2` is two conditions, `a==x%3By` one with the value `x;y`.
    decoded = unquote_plus(text)
    groups: list[list[VisitFilter]] | None = None
    if decoded != text:
        try:
            groups = _parse(decoded, sites, custom)
        except ApiFailure:
            groups = None
    try:
        raw = _parse(text, sites, custom)
    except ApiFailure:
        raw = None
    if raw is not None and (groups is None or sum(map(len, raw)) > sum(map(len, groups))):
        groups = raw
    if groups is None:
        groups = _parse(
            decoded, sites, custom
        )  # neither reads: Matomo's error for the decoded text
    found = groups

    def matches(v: Visit) -> bool:
        return all(any(cond(v) for cond in alts) for alts in found)

    return matches
