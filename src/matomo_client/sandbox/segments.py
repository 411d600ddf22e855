"""A small subset of Matomo segments, evaluated on compact visits.

`;` is AND, `,` is OR (OR binds tighter, as in Matomo); operators `==`, `!=`, `=@`, `!@`,
`=^`, `=$`. Unknown dimensions and malformed conditions fail with Matomo's texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote_plus

from . import catalog as c
from .dates import ApiFailure
from .records import CART, ORDER, Visit

__all__ = ["parse_segment"]

VisitFilter = Callable[[Visit], bool]


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
    "countryCode": lambda v: c.COUNTRIES[v.country][3],
    "browserCode": lambda v: v.browser,
    "visitorType": lambda v: "returning" if v.returning else "new",
    "userId": lambda v: v.user_id or "",
    "visitId": lambda v: str(v.id_visit),
    "visitEcommerceStatus": _ecommerce_status,
    "visitConverted": lambda v: "1" if v.conversions else "0",
    "languageCode": lambda v: c.LANGUAGES[v.language],
}
_CONDITION = re.compile(r"^([A-Za-z0-9_.]+)(==|!=|=@|!@|=\^|=\$|>=|<=|>|<)(.*)$")


def _condition(text: str) -> VisitFilter:
    m = _CONDITION.match(text)
    if m is None:
        raise ApiFailure(f"The segment condition '{text}' is not valid.")
    name, op, raw = m.groups()
    getter = _DIMENSIONS.get(name)
    if getter is None:
        raise ApiFailure(f"Segment '{name}' is not a supported segment.")
    if raw == "" and op not in ("==", "!="):
        raise ApiFailure(
            f"The segment '{text}' has no value specified. You can leave this value empty only "
            "when you use the operators: != (is not) or == (is)"
        )
    value = unquote_plus(raw).lower()  # Matomo urldecode()s values: `+` is a space
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
    test = ops[op]
    return lambda v: test(getter(v).lower())


def _num(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def parse_segment(text: str | None) -> VisitFilter | None:
    """A predicate over visits for a segment definition, or None for no segment."""
    if not text:
        return None
    groups = []
    for and_part in text.split(";"):
        alternatives = [_condition(p) for p in and_part.split(",")]
        groups.append(alternatives)

    def matches(v: Visit) -> bool:
        return all(any(cond(v) for cond in alts) for alts in groups)

    return matches
