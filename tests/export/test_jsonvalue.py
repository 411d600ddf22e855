"""`jsonvalue.dumps`: what orjson writes, also for the values orjson refuses to write."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matomo_client.export import jsonvalue
from matomo_client.export.jsonvalue import _dumps_slowly

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.datetimes(timezones=st.just(timezone.utc))
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)
_OPTIONS = st.sampled_from(
    [
        0,
        orjson.OPT_SORT_KEYS,
        orjson.OPT_UTC_Z,
        orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z,
        orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE,
    ]
)


@settings(max_examples=300)
@given(_VALUES, _OPTIONS)
def test_the_slow_writer_writes_what_orjson_writes(value: Any, option: int) -> None:
    """Byte for byte, for every value and option orjson can write."""
    assert _dumps_slowly(value, option) == orjson.dumps(value, option=option)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = [value, 2**70] if i % 2 else {"k": value, "é": None}
    return value


@pytest.mark.parametrize("depth", [254, 255, 600, 1024])
def test_nesting_deeper_than_orjson_writes(depth: int) -> None:
    """Nesting orjson reads (up to 1024 levels) is written back, with its wide integers as
    the floats orjson reads them as."""
    value = _nested(depth)
    text = jsonvalue.dumps(value)
    assert text.count(b"[") == depth // 2
    assert text.count(b"1.1805916207174113e+21") == depth // 2
    assert text.count(b'"\xc3\xa9":null') == (depth + 1) // 2
    back = orjson.loads(text)  # orjson reads it: the nesting is exactly `depth` levels
    for _ in range(depth):
        back = back["k"] if isinstance(back, dict) else back[0]
    assert back == "leaf"


def test_wide_integers_are_written_as_orjson_reads_them() -> None:
    """Beyond 64 bits, an integer is the float orjson would read; beyond a double, its digits."""
    value = {"a": [2**64 - 1, 2**64, -(2**63) - 1], "b": 10**400}
    assert json.loads(jsonvalue.dumps(value)) == {
        "a": [2**64 - 1, float(2**64), float(-(2**63) - 1)],
        "b": str(10**400),
    }


def test_options_apply_to_the_slow_path() -> None:
    """A value only the slow path writes still gets the caller's options."""
    when = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
    value = {"z": when, "a": 2**70}
    got = jsonvalue.dumps(
        value, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
    )
    assert got == b'{"a":1.1805916207174113e+21,"z":"2026-11-29T12:00:00Z"}\n'
