"""Matomo's loose JSON, coerced once.

Matomo builds its JSON from PHP arrays and MySQL rows, so the same metric can arrive as
``23``, ``"23"`` or ``23.0``; rates as ``"46%"`` (or ``0.46`` with ``format_metrics=0``);
empty results as ``[]`` where an object is expected (an empty PHP array encodes as a list);
booleans as ``1``/``0``/``"1"``/``"0"``/``true``; datetimes as ``"2026-11-29 04:39:00"`` (UTC)
or as unix timestamps. Every one of those quirks is handled here, in one place, as
``Annotated`` types with a ``BeforeValidator``, so the models stay declarative.

The validators are on the hot path (the exporter decodes 100k+ visits), so each checks the
common case first with an exact ``type(...) is`` test and keeps regexes off that path.

Naming: ``LooseX`` rejects ``null``; ``LooseXOrNone`` maps ``null`` and ``""`` to ``None``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AllowInfNan, BeforeValidator, Field

__all__ = [
    "Fraction",
    "FractionOrNone",
    "LooseBool",
    "LooseBoolOrNone",
    "LooseDict",
    "LooseFloat",
    "LooseFloatOrNone",
    "LooseInt",
    "LooseIntOrNone",
    "LooseList",
    "LooseStr",
    "LooseStrOrNone",
    "Seconds",
    "SecondsOrNone",
    "UtcDateTime",
    "UtcDateTimeOrNone",
    "to_bool",
    "to_float",
    "to_fraction",
    "to_int",
    "to_seconds",
    "to_utc_datetime",
]


def _number_text(value: str) -> str:
    """Strip blanks and thousands separators ("1,234.5" -> "1234.5"); leave "1,2" alone."""
    text = value.strip()
    if "," in text:
        head, *groups = text.split(",")
        tail = groups[-1].split(".", 1)[0]
        grouped = all(len(g) == 3 and g.isdigit() for g in [*groups[:-1], tail])
        if grouped and head.lstrip("+-").isdigit():
            text = text.replace(",", "")
    return text


def to_int(value: Any) -> int:
    """Coerce a Matomo integer: ``23``, ``"23"``, ``23.0``, ``"1,234"``; else ``ValueError``."""
    if type(value) is int:
        return value
    if isinstance(value, str):
        text = _number_text(value)
        try:
            return int(text)
        except ValueError:
            number = float(text)  # "23.0" from a SUM() over a float column
    elif isinstance(value, bool):
        return int(value)
    elif isinstance(value, float):
        number = value
    elif isinstance(value, int):  # an int subclass
        return int(value)
    else:
        raise ValueError(f"expected an integer, got {type(value).__name__}")
    if not math.isfinite(number) or number != int(number):
        raise ValueError("expected an integer, got a fractional number")
    return int(number)


def to_float(value: Any) -> float:
    """Coerce a Matomo number to ``float``: ``1.5``, ``"1.5"``, ``"0.0050"``, ``"1,234.5"``."""
    if type(value) is float:
        number = value
    elif isinstance(value, str):
        number = float(_number_text(value))
    elif isinstance(value, (int, float)):  # ints, bools and subclasses
        try:
            number = float(value)
        except OverflowError as exc:
            raise ValueError("number too large for a float") from exc
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def to_fraction(value: Any) -> float:
    """Coerce a Matomo rate to a fraction: ``"46%"`` -> 0.46, ``"4,214.3%"`` -> 42.143.

    A bare number is already a fraction (``format_metrics=0`` sends ``0.46``).
    """
    if type(value) is str and value.endswith("%"):
        text = _number_text(value[:-1])
        percent = float(text)
        if not math.isfinite(percent):
            raise ValueError("expected a finite percentage")
        decimals = len(text) - text.index(".") - 1 if "." in text else 0
        # round to the digits actually sent, so "18.42%" is 0.1842 and not 0.18420000000000003
        return round(percent / 100, decimals + 2)
    return to_float(value)


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})  # PHP casts false to ""


def to_bool(value: Any) -> bool:
    """Coerce a Matomo boolean: ``true``, ``1``, ``"1"``, ``"0"``, ``""`` (PHP false)..."""
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"expected a boolean, got {value!r:.40}")


def to_utc_datetime(value: Any) -> datetime:
    """Coerce a Matomo time to an aware UTC datetime.

    Accepts ``"2026-11-29 04:39:00"`` (Matomo stores and sends UTC), ISO strings with an
    offset, unix timestamps as numbers or numeric strings, and ``datetime`` objects.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return _from_timestamp(int(text))
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return _from_timestamp(to_float(text))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_timestamp(value)
    else:
        raise ValueError(f"expected a datetime, got {type(value).__name__}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError as exc:
        raise ValueError("datetime out of range") from exc


def _from_timestamp(seconds: float) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError("timestamp out of range") from exc


_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(years?|days?|hours?|h|min|s)\b", flags=re.IGNORECASE
)
_UNIT_SECONDS = {"year": 365 * 86400, "day": 86400, "hour": 3600, "h": 3600, "min": 60, "s": 1}


def to_seconds(value: Any) -> int:
    """Coerce a duration in whole seconds: ``137``, ``"137"``, or the pretty ``"2 min 17s"``.

    ``format_metrics=1`` makes Matomo send durations as English text ("2 min 17s",
    "1 h 3 min", "0:02:17"); those are parsed back. Other languages raise ``ValueError``.
    """
    if type(value) is int:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return round(value)  # Matomo rounds averages to whole seconds; keep that contract
    if isinstance(value, str) and not _number_text(value).lstrip("-").replace(".", "", 1).isdigit():
        return _parse_pretty_duration(value)
    return round(to_float(value))


def _parse_pretty_duration(text: str) -> int:
    stripped = text.strip()
    if stripped.count(":") == 2:
        hours, minutes, seconds = stripped.split(":")
        if hours.isdigit() and minutes.isdigit() and seconds.isdigit():
            return int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    total = 0.0
    end = 0
    for match in _DURATION_PART.finditer(stripped):
        if stripped[end : match.start()].strip():
            break
        unit = match.group(2).lower().rstrip("s") or "s"
        total += float(match.group(1)) * _UNIT_SECONDS[unit]
        end = match.end()
    if end == 0 or stripped[end:].strip() or not math.isfinite(total):
        raise ValueError(f"expected a duration in seconds, got {text!r:.40}")
    return round(total)


def to_str(value: Any) -> str:
    """Coerce a label-like value to ``str``: numbers become their text (label ``0`` -> ``"0"``)."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        raise ValueError("expected a string, got a boolean")
    if isinstance(value, (int, float)):
        return str(value)
    raise ValueError(f"expected a string, got {type(value).__name__}")


def to_dict(value: Any) -> Any:
    """An empty PHP array is JSON ``[]``: read it as ``{}`` where an object is expected."""
    if type(value) is list and not value:
        return {}
    return value


def to_list(value: Any) -> Any:
    """PHP arrays with gaps in their keys encode as objects: ``{"0": a, "2": b}`` -> ``[a, b]``."""
    if type(value) is dict:
        if not value:
            return []
        if all(type(k) is str and k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
    return value


def _str_or_none(value: Any) -> str | None:
    if type(value) is str or value is None:
        return value  # "" stays "": for text, empty and missing are different facts
    return to_str(value)


def _or_none(convert: Any) -> Any:
    def convert_or_none(value: Any) -> Any:
        if value is None or value == "":
            return None
        return convert(value)

    convert_or_none.__name__ = f"{convert.__name__}_or_none"
    return convert_or_none


def _int_or_none(value: Any) -> int | None:
    if type(value) is int:  # the common case, first and cheap
        return value
    if value is None or value == "":
        return None
    return to_int(value)


# Fast path first: pydantic-core's own lax parsing (in Rust) takes 23, "23", 23.0 and None;
# only what it refuses ("", "1,234", "2 min 17s") reaches the Python converters. A union
# tried left to right gives that, and type checkers still see plain ``int`` / ``int | None``.
_FIRST_MATCH = Field(union_mode="left_to_right")
_Finite = Annotated[float, AllowInfNan(False)]

# (``None`` comes second in the nullable unions on purpose: ``null`` is common in Live output
# and must be matched before the Python fallback is tried.)
LooseInt = Annotated[int | Annotated[int, BeforeValidator(to_int)], _FIRST_MATCH]
"""An integer sent as a number, a numeric string, or an integral float."""
LooseIntOrNone = Annotated[
    int | None | Annotated[int | None, BeforeValidator(_int_or_none)],  # noqa: RUF036
    _FIRST_MATCH,
]
"""A `LooseInt` where ``null`` and ``""`` mean "no value"."""
LooseFloat = Annotated[_Finite | Annotated[float, BeforeValidator(to_float)], _FIRST_MATCH]
"""A finite number sent as a number or a numeric string ("0.0050")."""
LooseFloatOrNone = Annotated[
    _Finite | None | Annotated[float | None, BeforeValidator(_or_none(to_float))],  # noqa: RUF036
    _FIRST_MATCH,
]
"""A `LooseFloat` where ``null`` and ``""`` mean "no value" (``min_time_*``, ``max_time_*``)."""
Fraction = Annotated[float, BeforeValidator(to_fraction)]
"""A rate as a fraction: ``"46%"`` -> 0.46; a bare number is taken as a fraction already."""
FractionOrNone = Annotated[float | None, BeforeValidator(_or_none(to_fraction))]
"""A `Fraction` where ``null`` and ``""`` mean "no value"."""
LooseBool = Annotated[bool | Annotated[bool, BeforeValidator(to_bool)], _FIRST_MATCH]
"""A boolean sent as ``true``/``false``, ``1``/``0``, ``"1"``/``"0"`` or ``""`` (false)."""
LooseBoolOrNone = Annotated[
    bool | None | Annotated[bool | None, BeforeValidator(_or_none(to_bool))],  # noqa: RUF036
    _FIRST_MATCH,
]
"""A `LooseBool` where ``null`` means "no value" (``""`` is also ``None`` here)."""
UtcDateTime = Annotated[datetime, BeforeValidator(to_utc_datetime)]
"""An aware UTC datetime from ``"2026-11-29 04:39:00"`` or a unix timestamp."""
UtcDateTimeOrNone = Annotated[datetime | None, BeforeValidator(_or_none(to_utc_datetime))]
"""A `UtcDateTime` where ``null`` and ``""`` mean "no value"."""
Seconds = Annotated[int | Annotated[int, BeforeValidator(to_seconds)], _FIRST_MATCH]
"""A duration in whole seconds, also parsed from ``format_metrics=1`` text ("2 min 17s")."""
SecondsOrNone = Annotated[
    int | None | Annotated[int | None, BeforeValidator(_or_none(to_seconds))],  # noqa: RUF036
    _FIRST_MATCH,
]
"""A `Seconds` where ``null`` and ``""`` mean "no value"."""
LooseStr = Annotated[str | Annotated[str, BeforeValidator(to_str)], _FIRST_MATCH]
"""A string; numbers are turned into their text (numeric labels such as hour ``"0"``)."""
LooseStrOrNone = Annotated[
    str | None | Annotated[str | None, BeforeValidator(_str_or_none)],  # noqa: RUF036
    _FIRST_MATCH,
]
"""A `LooseStr` or ``null``; ``""`` stays ``""`` (an empty keyword is not a missing one)."""
LooseDict = Annotated[dict[str, Any], BeforeValidator(to_dict)]
"""An object that Matomo sends as ``[]`` when it is empty."""
LooseList = Annotated[list[Any], BeforeValidator(to_list)]
"""A list that Matomo may send as an object with numeric keys."""
