"""`Params`: immutable, chainable request parameters that refuse what the client must own."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from matomo_client import Limit, Params, Period
from matomo_client._core.params import site_param


def test_params_are_immutable() -> None:
    """Every method returns a new Params; the original is unchanged."""
    base = Params().id_site(1)
    more = base.set("flat", 1)
    assert base.items() == [("idSite", "1")]
    assert more.items() == [("idSite", "1"), ("flat", "1")]
    assert base.without("idSite").items() == []
    assert len(base) == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "1"),
        (False, "0"),
        (0, "0"),
        (-1, "-1"),
        (2.5, "2.5"),
        ("browserCode==FF;pageUrl=@/a&b", "browserCode==FF;pageUrl=@/a&b"),
        ("Bücher – 東京", "Bücher – 東京"),
        (dt.date(2024, 1, 31), "2024-01-31"),
        (dt.datetime(2024, 1, 31, 12, 0), "2024-01-31"),
    ],
)
def test_values_render_as_matomo_text(value: Any, text: str) -> None:
    """Booleans become 1/0, dates ISO days; strings stay as they are."""
    assert Params().set("x", value).get("x") == text
    assert Params({"x": value}).get("x") == text


def test_period_and_segment() -> None:
    """period() sets period and date; segment(None/'') sets nothing."""
    p = Params().period(Period.month(dt.date(2024, 5, 1))).segment(None).segment("")
    assert p.items() == [("period", "month"), ("date", "2024-05-01")]
    assert Params().segment("visitCount>1").get("segment") == "visitCount>1"


def test_limit_and_offset() -> None:
    """limit() takes a Limit, a positive int or -1 (all rows); offset() takes 0 or more."""
    assert Params().limit(Limit(500)).get("filter_limit") == "500"
    assert Params().set("filter_limit", Limit(3)).get("filter_limit") == "3"  # type: ignore[arg-type]
    assert Params().limit(7).get("filter_limit") == "7"
    assert Params().limit(-1).get("filter_limit") == "-1"
    assert Params().offset(0).get("filter_offset") == "0"
    assert Params().offset(20_000).get("filter_offset") == "20000"


@pytest.mark.parametrize("bad", [0, -2, 10**7, True])
def test_bad_limits(bad: Any) -> None:
    """limit() refuses 0, negatives other than -1, huge values and booleans."""
    with pytest.raises(ValueError, match="Limit"):
        Params().limit(bad)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "3"])
def test_bad_offsets(bad: Any) -> None:
    """offset() refuses negatives, booleans and non-integers."""
    with pytest.raises(ValueError, match="filter_offset"):
        Params().offset(bad)


@pytest.mark.parametrize(
    ("site", "text"),
    [(1, "1"), (12345, "12345"), ("all", "all"), ("7", "7"), ([1, 2, 3], "1,2,3"), ((4,), "4")],
)
def test_site_selectors(site: Any, text: str) -> None:
    """idSite takes a positive id, 'all', a numeric string or several ids."""
    assert site_param(site) == text
    assert Params().id_site(site).get("idSite") == text


@pytest.mark.parametrize(
    "bad", [0, -1, True, False, "abc", "0", "", [], [0], [1, "all"], [True], 1.5, None]
)
def test_bad_site_selectors(bad: Any) -> None:
    """Ids below 1, booleans, empty lists, 'all' in a list and non-ids are a ValueError."""
    with pytest.raises(ValueError, match=r"idSite|sites"):
        Params().id_site(bad)


@pytest.mark.parametrize("key", ["module", "method", "format", "token_auth", "force_api_session"])
def test_reserved_names_are_refused(key: str) -> None:
    """Parameters the client sets itself cannot be passed, by set() or the constructor."""
    with pytest.raises(ValueError, match="set by the client"):
        Params().set(key, "x")
    with pytest.raises(ValueError, match="set by the client"):
        Params({key: "x"})


@pytest.mark.parametrize("value", [None, [1, 2], {"a": 1}, b"bytes", object()])
def test_unsupported_values(value: Any) -> None:
    """None, lists, dicts, bytes and other objects are not parameter values."""
    with pytest.raises(ValueError, match="unsupported value type"):
        Params().set("x", value)


def test_nul_and_empty_names_are_refused() -> None:
    """A NUL character in a value, or an empty name, is a ValueError."""
    with pytest.raises(ValueError, match="NUL"):
        Params().set("segment", "a\x00b")
    with pytest.raises(ValueError, match="non-empty"):
        Params().set("", "x")


def test_equality_hash_and_repr() -> None:
    """Params compare by content, hash alike when equal, and show their content."""
    a = Params().id_site(1).set("flat", True)
    b = Params({"idSite": 1, "flat": 1})
    assert a == b
    assert hash(a) == hash(b)
    assert a != Params().id_site(2)
    assert "flat" in a
    assert list(a) == ["idSite", "flat"]
    assert repr(a) == "Params({'idSite': '1', 'flat': '1'})"
    assert a.get("missing") is None
    assert a.get("missing", "d") == "d"


def test_params_read_like_a_mapping_and_merge() -> None:
    """`params[key]`, `dict(params)` and `{**params}` work; `merge` adds, the other side wins."""
    base = Params().id_site(1).set("flat", 1)
    assert base["idSite"] == "1"
    assert dict(base) == {"idSite": "1", "flat": "1"}
    assert {**base} == dict(base)
    assert Params(base) == base
    with pytest.raises(KeyError):
        base["segment"]
    merged = base.merge(Params().set("flat", 0).set("expanded", True))
    assert merged.items() == [("idSite", "1"), ("flat", "0"), ("expanded", "1")]
    assert base.merge({"period": "day"}).get("period") == "day"
    assert base.items() == [("idSite", "1"), ("flat", "1")]
    with pytest.raises(ValueError, match="set by the client"):
        base.merge({"token_auth": "x"})
