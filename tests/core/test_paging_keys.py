"""`advance` reads each visit's (last action second, idVisit) the same way on every path."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from matomo_client import Cursor, Limit, Period
from matomo_client._core.paging import _keys, advance, visit_key


def test_plain_int_keys_match_visit_key() -> None:
    """The no-call path for all-int pages gives exactly visit_key's pairs."""
    page = [{"lastActionTimestamp": 10 + i, "idVisit": 100 - i, "x": i} for i in range(5)]
    assert _keys(page) == [visit_key(v) for v in page]


@pytest.mark.parametrize(
    "page",
    [
        [{"lastActionTimestamp": "10", "idVisit": 1}, {"lastActionTimestamp": 11, "idVisit": "2"}],
        [{"lastActionTimestamp": True, "idVisit": 1}],
        [{"lastActionTimestamp": 10, "idVisit": 1.0}],
    ],
)
def test_other_types_are_converted_like_visit_key(page: list[dict[str, Any]]) -> None:
    """Strings, bools and floats take visit_key's int() conversion."""
    assert _keys(page) == [visit_key(v) for v in page]
    assert all(type(a) is int and type(b) is int for a, b in _keys(page))


@pytest.mark.parametrize(
    "page",
    [[{"idVisit": 1}], [{"lastActionTimestamp": 1}], [{"lastActionTimestamp": "x", "idVisit": 1}]],
)
def test_unusable_keys_still_raise(page: list[dict[str, Any]]) -> None:
    """A visit without a usable key makes advance raise ValueError, as before."""
    cursor = Cursor(1, Period.day(date(2024, 5, 1)), Limit(10))
    with pytest.raises(ValueError, match="usable lastActionTimestamp"):
        advance(cursor, page)
