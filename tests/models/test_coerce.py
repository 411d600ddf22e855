"""The loose-JSON types turn each Matomo quirk into one Python value, and refuse the rest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from matomo_client.models import (
    Fraction,
    FractionOrNone,
    LooseBool,
    LooseBoolOrNone,
    LooseDict,
    LooseFloat,
    LooseFloatOrNone,
    LooseInt,
    LooseIntOrNone,
    LooseList,
    LooseStr,
    LooseStrOrNone,
    Seconds,
    UtcDateTime,
    UtcDateTimeOrNone,
)

UTC = timezone.utc


def check(annotation: Any, raw: Any, expected: Any) -> None:
    """``raw`` validates to exactly ``expected`` (same type too)."""
    value = TypeAdapter(annotation).validate_python(raw)
    assert value == expected
    assert type(value) is type(expected)


def refuse(annotation: Any, raw: Any) -> None:
    """``raw`` is refused with a ValidationError."""
    with pytest.raises(ValidationError):
        TypeAdapter(annotation).validate_python(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (23, 23),
        ("23", 23),
        (" 23 ", 23),
        (23.0, 23),
        ("23.0", 23),
        ("1,234", 1234),
        ("-1,234,567", -1234567),
        (10**30, 10**30),
        (str(10**30), 10**30),
        (True, 1),
    ],
)
def test_loose_int_accepts(raw: Any, expected: int) -> None:
    """Numbers as strings, integral floats, thousands separators and big ints become ints."""
    check(LooseInt, raw, expected)


@pytest.mark.parametrize(
    "raw", ["", None, "1.5", 1.5, "1,2", "abc", "12,34", [], {}, "inf", "1e999"]
)
def test_loose_int_refuses(raw: Any) -> None:
    """Fractions, lists like "1,2", text and blanks are not integers."""
    refuse(LooseInt, raw)


@pytest.mark.parametrize(("raw", "expected"), [("", None), (None, None), ("7", 7), (0, 0)])
def test_loose_int_or_none(raw: Any, expected: int | None) -> None:
    """``null`` and ``""`` are "no value"; 0 stays 0."""
    check(LooseIntOrNone, raw, expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1.5, 1.5), ("0.0050", 0.005), (3, 3.0), ("1,234.5", 1234.5), ("-0.25", -0.25)],
)
def test_loose_float_accepts(raw: Any, expected: float) -> None:
    """Numbers and numeric strings (Matomo's ``min_time_*``) become floats."""
    check(LooseFloat, raw, expected)


@pytest.mark.parametrize("raw", ["nan", "inf", float("nan"), float("inf"), "", None, "1.5s"])
def test_loose_float_refuses(raw: Any) -> None:
    """Non-finite numbers, blanks and units are refused."""
    refuse(LooseFloat, raw)


def test_loose_float_or_none() -> None:
    """``max_time_*`` may be null or a string; both decode."""
    check(LooseFloatOrNone, None, None)
    check(LooseFloatOrNone, "", None)
    check(LooseFloatOrNone, "0.1200", 0.12)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("46%", 0.46),
        ("0%", 0.0),
        ("100%", 1.0),
        ("18.42%", 0.1842),
        ("4,214.3%", 42.143),
        ("-12.5%", -0.125),
        (0.65, 0.65),
        ("0.65", 0.65),
        (1, 1.0),
    ],
)
def test_fraction(raw: Any, expected: float) -> None:
    """Percent strings become fractions; bare numbers are already fractions."""
    check(Fraction, raw, expected)


@pytest.mark.parametrize("raw", ["%", "abc%", "nan%", None, ""])
def test_fraction_refuses(raw: Any) -> None:
    """Rates without a number are refused."""
    refuse(Fraction, raw)


def test_fraction_or_none() -> None:
    """A missing rate is None."""
    check(FractionOrNone, None, None)
    check(FractionOrNone, "", None)
    check(FractionOrNone, "5%", 0.05)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (1, True), ("1", True), ("true", True), (0, False), ("0", False), ("", False)],
)
def test_loose_bool(raw: Any, expected: bool) -> None:
    """PHP's booleans in all their JSON spellings ("" is PHP's false)."""
    check(LooseBool, raw, expected)


@pytest.mark.parametrize("raw", [2, "maybe", None, 0.5])
def test_loose_bool_refuses(raw: Any) -> None:
    """Values that are not a boolean spelling are refused."""
    refuse(LooseBool, raw)


def test_loose_bool_or_none() -> None:
    """A missing flag is None."""
    check(LooseBoolOrNone, None, None)
    check(LooseBoolOrNone, "1", True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-29 04:39:00", datetime(2026, 11, 29, 4, 39, tzinfo=UTC)),
        (1795927140, datetime(2026, 11, 29, 4, 39, tzinfo=UTC)),
        ("1795927140", datetime(2026, 11, 29, 4, 39, tzinfo=UTC)),
        ("2026-11-29T05:39:00+01:00", datetime(2026, 11, 29, 4, 39, tzinfo=UTC)),
        (datetime(2026, 11, 29, 4, 39), datetime(2026, 11, 29, 4, 39, tzinfo=UTC)),
    ],
)
def test_utc_datetime(raw: Any, expected: datetime) -> None:
    """Matomo's UTC text, unix timestamps and offsets all give the same aware UTC moment."""
    value = TypeAdapter(UtcDateTime).validate_python(raw)
    assert value == expected
    assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01 00:00:00", 10**20, True, []])
def test_utc_datetime_refuses(raw: Any) -> None:
    """Text that is no time and timestamps out of range are refused."""
    refuse(UtcDateTime, raw)


def test_utc_datetime_or_none() -> None:
    """A missing time is None."""
    check(UtcDateTimeOrNone, None, None)
    check(UtcDateTimeOrNone, "", None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (137, 137),
        ("137", 137),
        (136.6, 137),
        ("2 min 17s", 137),
        ("0s", 0),
        ("1 h 2 min", 3720),
        ("2 hours 1 min", 7260),
        ("1 days 2 hours", 93600),
        ("0:02:17", 137),
    ],
)
def test_seconds(raw: Any, expected: int) -> None:
    """Durations come as seconds or as Matomo's English pretty text (format_metrics=1)."""
    check(Seconds, raw, expected)


@pytest.mark.parametrize("raw", ["2 Minuten", "soon", "", "17s later", "1" * 400 + " days"])
def test_seconds_refuses(raw: Any) -> None:
    """Durations that cannot be read back exactly are refused, not guessed."""
    refuse(Seconds, raw)


def test_strings_keep_empty_and_stringify_numbers() -> None:
    """``""`` is kept (it differs from null); numeric labels become their text."""
    check(LooseStrOrNone, "", "")
    check(LooseStrOrNone, None, None)
    check(LooseStr, 7, "7")
    check(LooseStr, "日本語", "日本語")
    refuse(LooseStr, True)
    refuse(LooseStr, {"a": 1})


def test_empty_php_arrays() -> None:
    """``[]`` is an empty object; an object with numeric keys is a list in key order."""
    check(LooseDict, [], {})
    check(LooseDict, {"a": 1}, {"a": 1})
    check(LooseList, {}, [])
    check(LooseList, {"2": "c", "0": "a", "10": "z"}, ["a", "c", "z"])
    refuse(LooseDict, [1])
    refuse(LooseList, {"a": 1})
