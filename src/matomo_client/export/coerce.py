"""Coercing raw Matomo values to the declared column types, a column at a time.

Matomo's JSON is loose: numbers arrive as numbers or as strings (`"4"`, `"46%"`, `""`), and a
plugin can put anything anywhere. A column whose values already have its type passes through
(a type check done in C); otherwise each value is coerced, and one that cannot be becomes NULL
with the original kept in its record's `extra`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from .jsonvalue import as_orjson_reads
from .schema import DATE, FLOAT, INT, JSON, TEXT, TS, VISITS, ColumnType

__all__ = ["as_number", "convert_columns"]

_INT64 = (-(2**63), 2**63 - 1)
# The Unix seconds a datetime holds (years 1 to 9999); the sinks write timestamps as datetimes.
_TS_RANGE = (-62_135_596_800, 253_402_300_799)


def _fits(values: Sequence[Any], type_: ColumnType) -> bool:
    """Whether the integers among `values` are in range for an INT or TIMESTAMP column."""
    lo, hi = _TS_RANGE if type_ is TS else _INT64
    ints = [v for v in values if type(v) is int]
    return not ints or (lo <= min(ints) and max(ints) <= hi)


def _to_int(x: Any) -> int | None:
    if x is None or x == "":
        return None
    if isinstance(x, bool):
        return int(x)
    x = as_orjson_reads(x)  # an integer beyond 64 bits: as orjson reads it, a float
    if isinstance(x, int):
        v = x
    else:
        try:
            v = int(x)
        except (TypeError, ValueError):
            x = float(x)  # "12.0"; a non-number raises and is kept in `extra`
        if isinstance(x, float):
            if not x.is_integer():  # 12.5 is not the integer 12: kept in `extra`
                raise ValueError("not an integer")
            v = int(x)
    if not _INT64[0] <= v <= _INT64[1]:
        raise OverflowError("beyond a 64-bit integer")  # kept in `extra`
    return v


def _to_ts(x: Any) -> int | None:
    v = _to_int(x)
    if v is not None and not _TS_RANGE[0] <= v <= _TS_RANGE[1]:
        raise OverflowError("not a time between the years 1 and 9999")  # kept in `extra`
    return v


def _to_float(x: Any) -> float | None:
    if x is None or x == "":
        return None
    if isinstance(x, (int, float)):
        return float(x)
    s = str(x).strip()
    if s.endswith("%"):
        try:
            v = float(s[:-1] + "e-2")  # "22.58%": 0.2258, where 22.58 / 100 is 0.22579999...
        except ValueError:
            v = float(s[:-1]) / 100.0
    else:
        v = float(s)
    if not math.isfinite(v):  # "nan", "inf", "1e400": no JSON number, kept in `extra`
        raise ValueError("not a finite number")
    return v


def _to_text(x: Any) -> str | None:
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, (dict, list, bool)):  # a boolean is not the text "True": kept in `extra`
        raise ValueError("nested or boolean value in a text column")
    return str(as_orjson_reads(x))


def _to_date(x: Any) -> date | None:
    if x is None or x == "":
        return None
    if isinstance(x, date):
        return x
    return date.fromisoformat(str(x)[:10])


def _to_json(x: Any) -> Any:
    return x


_COERCE = {
    INT: _to_int,
    TS: _to_ts,
    FLOAT: _to_float,
    TEXT: _to_text,
    DATE: _to_date,
    JSON: _to_json,
}
_NUMBER_TYPES = frozenset({int, float, type(None)})
_FAST_TYPES: dict[ColumnType, frozenset[type]] = {
    INT: frozenset({int, type(None)}),
    TS: frozenset({int, type(None)}),
    FLOAT: frozenset({float, type(None)}),
    TEXT: frozenset({str, type(None)}),
}


_INT_OR_STR = frozenset({int, str, type(None)})
_FLOAT_OR_STR = frozenset({int, float, str, type(None)})


def _coerce_fast(values: list[Any], type_: ColumnType, types: set[type]) -> list[Any] | None:
    """The coerced column when a C-speed conversion gives exactly what `_COERCE` gives, or None."""
    try:
        if type_ is INT or type_ is TS:
            if types <= _INT_OR_STR:  # "" and "12.0" raise here and take the slow path
                return [int(x) if type(x) is str else x for x in values]
        elif type_ is FLOAT:
            if types <= _FLOAT_OR_STR:  # "" and "46%" raise here and take the slow path
                out = [x if x is None or type(x) is float else float(x) for x in values]
                # A JSON number is finite; "nan" and "inf" are not numbers: the slow path.
                if str not in types or all(x is None or math.isfinite(x) for x in out):
                    return out
        elif type_ is DATE and types <= {str}:
            # Usually one distinct value per window: convert each distinct string once.
            converted = {s: date.fromisoformat(s[:10]) for s in set(values) if s}
            if len(converted) == len(set(values)):
                return list(map(converted.__getitem__, values))
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def _coerce_column(
    values: list[Any], type_: ColumnType, key: str, extras: list[dict[str, Any] | None]
) -> list[Any]:
    """Coerce one column; a value that cannot be coerced becomes NULL and goes to extra."""
    if type_ is JSON:
        return values
    types = set(map(type, values))
    fast = _FAST_TYPES.get(type_)
    ranged = type_ is INT or type_ is TS
    if fast is not None and types <= fast and (not ranged or _fits(values, type_)):
        return values
    out = _coerce_fast(values, type_, types)
    if out is not None and (not ranged or _fits(out, type_)):
        return out
    coerce = _COERCE[type_]
    out = []
    append = out.append
    for i, x in enumerate(values):
        try:
            append(coerce(x))
        except (TypeError, ValueError, OverflowError):
            append(None)
            # `extra` keeps its keys sorted (README), this one's among the undeclared ones.
            extras[i] = dict(sorted({**(extras[i] or {}), key: x}.items()))
    return out


# Columns Arrow can take as they come when their values already have the declared type.
_ARROW_FIRST = frozenset({INT, TS, FLOAT, TEXT})
_FieldSpec = tuple[tuple[str, str, ColumnType], ...]
_ARROW_PLANS: dict[int, tuple[_FieldSpec, list[Any]]] = {}


def _arrow_plan(fields: _FieldSpec) -> list[Any]:
    """Per field, the Arrow type to try its raw values as (None: always coerce in Python).

    Worked out once per field list, not for every page (it was ~0.35 ms a page: a third of
    the encoding of a 10-visit page). The visits' keys stay Python values: the builder repeats
    them for the actions rows.
    """
    known = _ARROW_PLANS.get(id(fields))
    if known is not None and known[0] is fields:
        return known[1]
    from .sinks.arrow import arrow_type

    plan = [
        arrow_type(type_) if type_ in _ARROW_FIRST and name not in VISITS.key else None
        for _, name, type_ in fields
    ]
    _ARROW_PLANS[id(fields)] = (fields, plan)
    return plan


def convert_columns(
    raw: Sequence[Sequence[Any]],
    extras: list[dict[str, Any] | None],
    fields: _FieldSpec,
    arrow: bool = False,
) -> dict[str, Any]:
    """The declared columns of the uncoerced `raw` ones (in `fields` order); a value that cannot
    be coerced becomes NULL and goes to its record's `extras` entry.

    With `arrow`, a column whose values Arrow accepts as they are (ints, floats, bools for
    floats, strings, None: Arrow checks each value's type in C) is converted at once; that
    gives what `_coerce_column` would, so only a column with other values (a numeric string,
    an empty string, a nested value) goes through coercion.
    """
    cols: dict[str, Any] = {}
    if arrow:
        import pyarrow as pa

        plan = _arrow_plan(fields)
    else:
        pa, plan = None, [None] * len(fields)
    for (src, name, type_), values, arrow_type in zip(fields, raw, plan, strict=True):
        # Arrow would cut a float down to an int64 or a timestamp (12.5: 12) without a word.
        ints = type_ is INT or type_ is TS
        if (
            arrow_type is not None
            and (type_ is not TS or _fits(values, TS))
            and not (ints and float in map(type, values))
        ):
            try:
                cols[name] = pa.array(values, arrow_type)
                continue
            except (TypeError, ValueError, OverflowError):  # Arrow's errors derive from these
                pass
        cols[name] = _coerce_column(list(values), type_, src, extras)
    return cols


def as_number(x: Any) -> float | None:
    """A metric value as a number, or None when it is not numeric."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        try:
            return _to_float(x)
        except ValueError:
            return None
    return None
