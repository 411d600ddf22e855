"""The pure keyset pager of Live visits (`_core/paging.py`): `Cursor` and `advance`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matomo_client import Cursor, Date, DateRange, DecodeError, Limit, Period
from matomo_client._core.paging import advance, visit_key

DAY = Period.day(dt.date(2026, 11, 28))


def page(*keys: tuple[int, int]) -> list[dict[str, Any]]:
    """Raw visits with these (lastActionTimestamp, idVisit) keys, as Matomo sends them."""
    return [{"idVisit": vid, "lastActionTimestamp": ts, "idSite": 1} for ts, vid in keys]


def test_first_cursor_asks_ascending_from_the_start() -> None:
    """The first page asks for `limit` visits, ascending, offset 0, without minTimestamp."""
    params = dict(Cursor(1, DAY, Limit(50)).params().items())
    assert params == {
        "idSite": "1",
        "period": "day",
        "date": "2026-11-28",
        "filter_limit": "50",
        "filter_offset": "0",
        "filter_sort_order": "asc",
    }


def test_cursor_params_carry_segment_and_min_timestamp() -> None:
    """A later cursor sends minTimestamp, the segment, and a page grown by the visits it skips."""
    cursor = Cursor(2, DAY, Limit(10), "browserCode==FF", 1_700_000_000, (5, 6, 7))
    params = dict(cursor.params().items())
    assert params["minTimestamp"] == "1700000000"
    assert params["segment"] == "browserCode==FF"
    assert params["filter_limit"] == "13"
    assert cursor.page_size == 13


def test_empty_page_ends() -> None:
    """An empty page yields nothing and ends paging (no next cursor)."""
    assert advance(Cursor(1, DAY, Limit(5)), []) == ([], None)


def test_short_page_is_not_the_end() -> None:
    """A short page yields its visits; the next cursor is caught up but still asks from its
    newest second, skipping the visits of that second it has (one may still arrive in it)."""
    fresh, nxt = advance(Cursor(1, DAY, Limit(5)), page((100, 1), (101, 2), (101, 3)))
    assert [v["idVisit"] for v in fresh] == [1, 2, 3]
    assert nxt is not None
    assert (nxt.min_timestamp, nxt.seen, nxt.page_size, nxt.caught_up) == (100, (2, 3), 7, True)


def test_a_visit_arriving_in_the_last_second_after_a_short_page_is_not_lost() -> None:
    """Visit 4 lands in second 101 after the short page was served: the next page brings it."""
    _, nxt = advance(Cursor(1, DAY, Limit(5)), page((100, 1), (101, 2), (101, 3)))
    assert nxt is not None
    fresh, following = advance(nxt, page((101, 2), (101, 3), (101, 4)))
    assert [v["idVisit"] for v in fresh] == [4]
    assert following is not None
    assert following.seen == (2, 3, 4)


def test_a_short_page_with_nothing_new_ends() -> None:
    """After a short page, a page holding only visits already yielded ends the paging."""
    _, nxt = advance(Cursor(1, DAY, Limit(5)), page((100, 1), (101, 2), (101, 3)))
    assert nxt is not None
    assert advance(nxt, page((101, 2), (101, 3))) == ([], None)


def test_a_full_page_is_not_caught_up() -> None:
    """Only a page shorter than asked says every visit came."""
    _, nxt = advance(Cursor(1, DAY, Limit(2)), page((100, 1), (101, 2)))
    assert nxt is not None
    assert not nxt.caught_up


def test_full_page_overlaps_the_last_second() -> None:
    """A full page asks again from its newest second and remembers the visits of that second."""
    fresh, nxt = advance(Cursor(1, DAY, Limit(4)), page((100, 1), (101, 2), (102, 7), (102, 9)))
    assert len(fresh) == 4
    assert nxt is not None
    assert (nxt.min_timestamp, nxt.seen) == (101, (7, 9))
    assert nxt.page_size == 6


def test_seen_visits_are_not_yielded_again() -> None:
    """Visits of the boundary second that were already yielded are dropped from the next page."""
    cursor = Cursor(1, DAY, Limit(4), min_timestamp=101, seen=(7, 9))
    fresh, nxt = advance(cursor, page((102, 7), (102, 9), (102, 11), (103, 4)))
    assert [v["idVisit"] for v in fresh] == [11, 4]
    assert nxt is not None
    assert (nxt.min_timestamp, nxt.seen, nxt.caught_up) == (102, (4,), True)


def test_page_of_one_second_grows_the_page() -> None:
    """A full page that is all one second grows the next page instead of skipping the second."""
    cursor = Cursor(1, DAY, Limit(3))
    fresh, nxt = advance(cursor, page((500, 1), (500, 2), (500, 3)))
    assert len(fresh) == 3
    assert nxt is not None
    assert (nxt.min_timestamp, nxt.seen, nxt.page_size) == (499, (1, 2, 3), 6)
    fresh, nxt2 = advance(nxt, page(*((500, i) for i in range(1, 7))))
    assert [v["idVisit"] for v in fresh] == [4, 5, 6]
    assert nxt2 is not None
    assert (nxt2.min_timestamp, nxt2.page_size) == (499, 9)


def test_repeated_page_means_min_timestamp_is_ignored() -> None:
    """A server answering visits at or before minTimestamp is a DecodeError, not an endless loop."""
    cursor = Cursor(1, DAY, Limit(3), min_timestamp=101, seen=(7,))
    with pytest.raises(DecodeError, match="minTimestamp") as info:
        advance(cursor, page((100, 1), (101, 2), (102, 7)))
    assert info.value.method == "Live.getLastVisitsDetails"


def test_descending_page_is_refused() -> None:
    """A page in descending order (filter_sort_order ignored) is a DecodeError."""
    with pytest.raises(DecodeError, match="filter_sort_order"):
        advance(Cursor(1, DAY, Limit(5)), page((103, 1), (101, 2)))


def test_visit_key_coerces_matomo_strings() -> None:
    """visit_key reads ids and seconds sent as strings."""
    assert visit_key({"idVisit": "12", "lastActionTimestamp": "1700000000"}) == (1700000000, 12)


@pytest.mark.parametrize(
    "visit",
    [{"idVisit": 1}, {"lastActionTimestamp": 1}, {"idVisit": "x", "lastActionTimestamp": 1}],
)
def test_visit_key_needs_both_fields(visit: dict[str, Any]) -> None:
    """A visit without a usable idVisit or lastActionTimestamp is a ValueError."""
    with pytest.raises(ValueError, match="lastActionTimestamp/idVisit"):
        visit_key(visit)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id_site": 0}, "positive"),
        ({"id_site": -3}, "positive"),
        ({"id_site": True}, "site id"),
        ({"id_site": "all"}, "one positive site id"),
        ({"id_site": [1, 2]}, "one positive site id"),
        ({"period": "day"}, "must be a Period"),
        ({"limit": 0}, "at least 1"),
        ({"min_timestamp": -1}, "min_timestamp"),
        ({"min_timestamp": "12"}, "min_timestamp"),
        ({"min_timestamp": 1.5}, "min_timestamp"),
        ({"seen": [1, 2]}, "seen must be a tuple"),
        ({"seen": ("1",)}, "seen must be a tuple"),
    ],
)
def test_invalid_cursor_is_refused(kwargs: dict[str, Any], message: str) -> None:
    """A cursor for no single valid site, a non-Period, a zero limit or a negative second fails."""
    args: dict[str, Any] = {"id_site": 1, "period": DAY, "limit": Limit(5), **kwargs}
    with pytest.raises(ValueError, match=message):
        Cursor(**args)


def test_cursor_is_immutable() -> None:
    """A cursor cannot be changed in place."""
    cursor = Cursor(1, DAY, Limit(5))
    with pytest.raises(AttributeError):
        cursor.min_timestamp = 3  # type: ignore[misc]


def test_cursor_repr_is_short() -> None:
    """A cursor's repr names the site, the period and where it stands."""
    assert repr(Cursor(1, DAY, Limit(5), min_timestamp=9)) == (
        "Cursor(site=1, Period(day, 2026-11-28), limit=5, after=9, skipping=0)"
    )
    # Cursors of two segments (checkpoints per segment) tell themselves apart.
    assert repr(Cursor(1, DAY, Limit(5), segment="deviceType==tablet")) == (
        "Cursor(site=1, Period(day, 2026-11-28), limit=5, segment='deviceType==tablet', "
        "after=None, skipping=0)"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"v": 2, "id_site": 1}',
        '{"v": 1, "id_site": 1}',
        '{"v": 1, "id_site": 1, "period": {"unit": "day", "date": "x"}, "limit": 5}',
        '{"v": 1, "id_site": 1, "period": {"unit": "day", "date": "2024-01-01"}, "limit": 0}',
        '{"v": 1, "id_site": 0, "period": {"unit": "day", "date": "2024-01-01"}, "limit": 5}',
        '{"v": 1, "id_site": 1, "period": {"unit": "day", "date": "2024-01-01"}, "limit": 5,'
        ' "seen": "12"}',
        '{"v": 1, "id_site": 1, "period": {"unit": "day", "date": "2024-01-01"}, "limit": 5,'
        ' "min_timestamp": "9"}',
        # Numbers that would be truncated, and a segment that is not text.
        '{"v": 1, "id_site": 1.9, "period": {"unit": "day", "date": "2024-01-01"}, "limit": 5}',
        '{"v": 1, "id_site": 1, "period": {"unit": "day", "date": "2024-01-01"}, "limit": 5.5}',
        '{"v": 1, "id_site": 1, "period": {"unit": "day", "date": "2024-01-01"}, "limit": 5,'
        ' "seen": [3.7]}',
        '{"v": 1, "id_site": 1, "period": {"unit": "day", "date": "2024-01-01"}, "limit": 5,'
        ' "segment": 7}',
    ],
)
def test_malformed_saved_cursor_is_value_error(text: str) -> None:
    """Cursor.from_json refuses anything that is not a saved cursor with ValueError."""
    with pytest.raises(ValueError, match=r"Cursor|cursor|date|Limit|idSite|positive"):
        Cursor.from_json(text)


_dates = st.dates(min_value=dt.date(1991, 8, 6), max_value=dt.date(2100, 1, 1))
_periods = st.one_of(
    st.builds(Period.day, st.one_of(_dates, st.just(Date.TODAY), st.just(Date.YESTERDAY))),
    st.builds(Period.week, _dates),
    st.builds(Period.month, _dates),
    st.builds(Period.year, _dates),
    st.builds(Period.range, st.builds(DateRange.last, st.integers(1, 1825))),
    st.builds(
        lambda a, n: Period.range(DateRange.between(a, a + dt.timedelta(days=n))),
        _dates,
        st.integers(0, 400),
    ),
)
_cursors = st.builds(
    Cursor,
    id_site=st.integers(1, 10_000),
    period=_periods,
    limit=st.builds(Limit, st.integers(1, 1_000_000)),
    segment=st.one_of(st.none(), st.text(min_size=1).filter(lambda s: "\x00" not in s)),
    min_timestamp=st.one_of(st.none(), st.integers(0, 2**40)),
    seen=st.lists(st.integers(1, 2**40), max_size=20).map(tuple),
    caught_up=st.booleans(),
)


@given(_cursors)
def test_cursor_json_round_trip(cursor: Cursor) -> None:
    """Any cursor survives to_json/from_json unchanged, and asks for the same page after."""
    back = Cursor.from_json(cursor.to_json())
    assert back == cursor
    assert back.caught_up == cursor.caught_up  # not part of ==
    assert back.params() == cursor.params()
    assert Cursor.from_json(cursor.to_json().encode()) == cursor
