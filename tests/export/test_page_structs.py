"""A page decoded into msgspec structs gives exactly the rows the orjson way gives.

`encode_page` decodes a process's first page with orjson and learns its keys; later pages with
no new key are decoded into structs (`page_structs.py`). Every test here encodes the same body
both ways and compares everything the window gets: cursor, ids, action counts and rows.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import anyio
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fast_paths import _odd_visits, _recorded_visits, _sandbox_pages

from matomo_client import Cursor, Limit, Period
from matomo_client.export import encode, page_structs
from matomo_client.export.encode import PageRows, encode_page
from matomo_client.export.page_structs import PageStructs
from matomo_client.export.schema import ACTION_RECORD, VISIT_RECORD, ColumnType
from matomo_client.export.sinks.base import json_text

DAY = Period.day(date(2024, 5, 13))
EVERYTHING = (0, 2**40)


@pytest.fixture(scope="module")
def sandbox_pages() -> list[list[dict[str, Any]]]:
    """Rendered sandbox visits, one list per (site, day)."""
    return anyio.run(_sandbox_pages)


@pytest.fixture
def structs(monkeypatch: pytest.MonkeyPatch) -> PageStructs:
    """A struct decoder that has learnt nothing yet, used by `encode_page`."""
    fresh = PageStructs()
    monkeypatch.setattr(encode, "_STRUCTS", fresh)
    monkeypatch.setattr(encode, "MIN_STRUCT_BODY", 0)  # these pages are small
    return fresh


def _ascending(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(copy.deepcopy(page), key=lambda v: v["lastActionTimestamp"])


def _same(a: PageRows | None, b: PageRows | None) -> None:
    if a is None or b is None:
        assert a is b
        return
    assert (a.cursor, a.ids, a.n_actions) == (b.cursor, b.ids, b.n_actions)
    for x, y in ((a.visits, b.visits), (a.actions, b.actions)):
        if x.arrow is not None:
            assert x.arrow.equals(y.arrow)
        elif x.jsonl is not None:
            assert x.jsonl == y.jsonl
        else:  # Python values; nested ones compared as written (see jsonvalue.py)
            for c in x.table.columns:
                got, want = x.column(c.name), y.column(c.name)
                if c.type is ColumnType.JSON:
                    got, want = list(map(json_text, got)), list(map(json_text, want))
                assert got == want, c.name


def _both_ways(
    structs: PageStructs,
    page: Any,
    cursor: Cursor | None = None,
    bounds: tuple[int, int] = EVERYTHING,
    teach: Any = None,
) -> PageRows | None:
    """Encode `page` the orjson way and, after learning from `teach` (default: the page),
    the struct way; check both give the same and return it."""
    body = page if isinstance(page, bytes) else json.dumps(page).encode()  # any integer
    cursor = cursor or Cursor(1, DAY, Limit(max(len(page), 1) if isinstance(page, list) else 100))
    rows = {}
    for encoding in ("arrow", "jsonl", "batch"):
        structs.__init__()  # type: ignore[misc]  # forget what was learnt
        assert structs.decode(body) is None
        by_orjson = encode_page(body, cursor, bounds, encoding)
        if teach is not None:
            structs.learn(teach)
        assert structs.decode(body) is not None, "the struct way was not taken"
        by_structs = encode_page(body, cursor, bounds, encoding)
        _same(by_structs, by_orjson)
        rows[encoding] = by_structs
    return rows["batch"]


def test_recorded_matomo_pages_give_the_same_rows(structs: PageStructs) -> None:
    """Real Matomo 5 visits: same rows both ways, in every encoding."""
    rows = _both_ways(structs, _ascending(_recorded_visits()))
    assert rows is not None
    assert len(rows.visits) > 0
    assert len(rows.actions) > 0


def test_sandbox_pages_give_the_same_rows(
    structs: PageStructs, sandbox_pages: list[list[dict[str, Any]]]
) -> None:
    """Sandbox windows, with their several action shapes and custom dimensions in `extra`."""
    extras = []
    for page in sandbox_pages:
        rows = _both_ways(structs, _ascending(page))
        assert rows is not None
        extras += rows.visits.column("extra") + rows.actions.column("extra")
    assert any(extras)


def test_odd_values_give_the_same_rows(
    structs: PageStructs, sandbox_pages: list[list[dict[str, Any]]]
) -> None:
    """Unknown keys, uncoercible values, missing keys, nested data: same rows and `extra`."""
    odd = _odd_visits(sandbox_pages[0])
    odd[0]["lastActionTimestamp"] = odd[1]["lastActionTimestamp"]  # usable for paging
    odd[3]["lastActionTimestamp"] = str(odd[3]["lastActionTimestamp"])  # a numeric string
    odd[2]["laterKey"] = None  # present but null: kept in extra as null
    odd[4]["actionDetails"] = None
    page = sorted(odd, key=lambda v: int(v["lastActionTimestamp"]))
    rows = _both_ways(structs, page)
    assert rows is not None
    extras = {v["idVisit"]: e for v, e in zip(page, rows.visits.column("extra"), strict=True)}
    assert extras[odd[1]["idVisit"]]["customDim"] == {"nested": [1, {"x": "y"}]}
    assert extras[odd[2]["idVisit"]]["laterKey"] is None
    assert extras[odd[5]["idVisit"]]["visitCount"] == "not a number"


def test_extra_keys_are_sorted_whatever_their_order(
    structs: PageStructs, sandbox_pages: list[list[dict[str, Any]]]
) -> None:
    """`extra` lists its keys sorted both ways, whatever order the record had them in."""
    page = _ascending(sandbox_pages[0][:2])
    page[0] = {"zKey": 1, **page[0], "aKey": 2}
    page[1] = {"aKey": 3, **page[1], "zKey": 4}
    rows = _both_ways(structs, page)
    assert rows is not None
    for extra in rows.visits.column("extra"):
        assert list(extra) == sorted(extra)


def test_paging_and_window_bounds_are_applied_the_same(
    structs: PageStructs, sandbox_pages: list[list[dict[str, Any]]]
) -> None:
    """Visits already yielded (cursor), outside the window, or repeated are left out alike."""
    page = _ascending(sandbox_pages[0])
    first, last = page[0]["lastActionTimestamp"], page[-1]["lastActionTimestamp"]
    page.insert(3, {**page[2], "visitCount": 99})  # the same visit twice: the later copy
    # A full page (limit + the one visit to skip): the next cursor starts at its last second.
    seen = Cursor(1, DAY, Limit(len(page) - 1), None, first - 1, (page[0]["idVisit"],))
    rows = _both_ways(structs, page, seen, (first, last))
    assert rows is not None
    assert page[0]["idVisit"] not in rows.ids  # already yielded
    assert not {v["idVisit"] for v in page if v["lastActionTimestamp"] == last} & set(rows.ids)
    assert rows.ids.count(page[2]["idVisit"]) == 1
    assert 99 in rows.visits.column("visit_count")
    assert rows.cursor is not None
    assert rows.cursor.min_timestamp == last - 1


@pytest.mark.parametrize(
    "body",
    [
        b"{}",  # Matomo's empty answer
        b"[]",
        b'[{"idSite": 1, "idVisit": 1, "lastActionTimestamp": 5, "actionDetails": {}}]',
        b'[{"idSite": 1, "idVisit": 1, "lastActionTimestamp": 5, "actionDetails": "none"}]',
        b'[{"idSite": 1, "idVisit": 1, "lastActionTimestamp": 5, "actionDetails": [1, {}]}]',
        b'[{"idSite": 1, "idVisit": 1, "lastActionTimestamp": 5, "actionDetails": '
        b'{"0": {"type": "action"}, "2": {"type": "event"}}}]',  # PHP: a list with holes
        b'[{"idSite": 1, "idVisit": 1}]',  # no timestamp: not a page paging can use
        b'[{"idSite": 1, "idVisit": 1, "lastActionTimestamp": "\xff"}]',  # not UTF-8
        b'[{"idSite": 1, "idVisit": 1, "lastActionTimestamp": 5}] trailing',
        b"[1, 2]",
        b'[{"idSite": 1, "idVisit": 1, "lastActionTimestamp": 5, "a": '
        + b"[" * 300
        + b"]" * 300
        + b"}]",  # deeper than orjson writes: the rows are written without it
        b'[{"idSite": 1, "idVisit": 1, "lastActionTimestamp": 5, "a": '
        + b"[" * 5000
        + b"]" * 5000
        + b"}]",  # deeper than either decoder goes
    ],
)
def test_unusual_bodies_are_encoded_as_before(structs: PageStructs, body: bytes) -> None:
    """Bodies the structs refuse or paging cannot use give what the orjson way gives."""
    teach = [{"idSite": 1, "idVisit": 1, "lastActionTimestamp": 5, "a": 1, "actionDetails": []}]
    for encoding in ("arrow", "batch"):
        structs.__init__()  # type: ignore[misc]
        structs.learn(teach)
        cursor = Cursor(1, DAY, Limit(10))
        by_structs = encode_page(body, cursor, EVERYTHING, encoding)
        structs.__init__()  # type: ignore[misc]
        by_orjson = encode_page(body, cursor, EVERYTHING, encoding)
        if by_orjson is None and _deeper_than_orjson_reads(body):
            # msgspec reads deeper on some Pythons (3.13: 5,000 levels) than orjson's 1,024:
            # the structs keep the page's rows, where orjson sends it the ordinary way.
            assert by_structs is None or len(by_structs.visits) == 1
            continue
        _same(by_structs, by_orjson)


def _deeper_than_orjson_reads(body: bytes) -> bool:
    """Whether orjson refuses `body` for its depth alone (its limit is 1,024 levels)."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as e:
        return "recursion" in str(e).lower() or "depth" in str(e).lower()
    return False


def test_a_new_key_is_learnt_not_dropped(
    structs: PageStructs, sandbox_pages: list[list[dict[str, Any]]]
) -> None:
    """A key the structs do not know sends its page the orjson way, which teaches it."""
    page = _ascending(sandbox_pages[0][:3])
    cursor = Cursor(1, DAY, Limit(3))
    encode_page(orjson.dumps(page), cursor, EVERYTHING, "batch")  # learns the sandbox's keys
    page[1]["pluginField"] = {"deep": [1]}
    page[2]["actionDetails"][0]["actionPluginField"] = 7
    body = orjson.dumps(page)
    assert structs.decode(body) is None  # refused, not silently dropped
    rows = encode_page(body, cursor, EVERYTHING, "batch")
    assert structs.decode(body) is not None  # learnt
    again = encode_page(body, cursor, EVERYTHING, "batch")
    _same(again, rows)
    assert again is not None
    assert again.visits.column("extra")[1]["pluginField"] == {"deep": [1]}
    assert any(e and e.get("actionPluginField") == 7 for e in again.actions.column("extra"))


def test_too_many_keys_stop_the_struct_way(
    structs: PageStructs, monkeypatch: pytest.MonkeyPatch, sandbox_pages: list[list[dict[str, Any]]]
) -> None:
    """Keys made of values (more than MAX_KEYS) stop the structs growing: orjson from then on."""
    monkeypatch.setattr(page_structs, "MAX_KEYS", 150)
    page = _ascending(sandbox_pages[0][:3])
    cursor = Cursor(1, DAY, Limit(3))
    encode_page(orjson.dumps(page), cursor, EVERYTHING, "batch")
    assert structs.decode(orjson.dumps(page)) is not None
    page[0].update({f"key{i}": i for i in range(200)})
    body = orjson.dumps(page)
    rows = encode_page(body, cursor, EVERYTHING, "batch")
    assert rows is not None
    assert rows.visits.column("extra")[0]["key199"] == 199
    assert structs.decode(body) is None
    assert structs.decode(orjson.dumps(page[1:])) is None  # for every page, not just this one


# --- any page: random keys and values of every JSON type ----------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),  # beyond 64 bits too: orjson reads those as floats
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["", "12", "12.5", "46%", "2024-05-13", "x", str(2**64), "1e400"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_VISIT_KEYS = [k for k, _, _ in VISIT_RECORD.fields if k not in ("idVisit", "lastActionTimestamp")]
_ACTION_KEYS = [k for k, _, _ in ACTION_RECORD.fields]
_ODD_KEYS = ["customDim", "dimension1", "serverDatePretty", "fooIcon", "pluginsIcons", "title"]


def _records(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys + _ODD_KEYS), _values, max_size=12)


@st.composite
def _pages(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(0, 6))
    stamps = sorted(draw(st.lists(st.integers(1, 50), min_size=n, max_size=n)))
    page = []
    for i, ts in enumerate(stamps):
        visit = draw(_records(_VISIT_KEYS))
        visit["idVisit"] = draw(st.sampled_from([i, i + 1, str(i)]))  # repeats, strings
        visit["lastActionTimestamp"] = draw(st.sampled_from([ts, str(ts)]))
        if draw(st.booleans()):
            visit["actionDetails"] = draw(st.lists(_records(_ACTION_KEYS), max_size=3))
        page.append(visit)
    return page


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=_pages(), lo=st.integers(0, 20))
def test_any_page_gives_the_same_rows(page: list[dict[str, Any]], lo: int) -> None:
    """Random visits (every JSON type in every column, unknown, dropped and presentation keys,
    repeated ids, numeric strings, actions or none) give the same rows both ways."""
    fresh = PageStructs()
    original = encode._STRUCTS, encode.MIN_STRUCT_BODY
    encode._STRUCTS, encode.MIN_STRUCT_BODY = fresh, 0
    try:
        _both_ways(fresh, page, bounds=(lo, 45))
    finally:
        encode._STRUCTS, encode.MIN_STRUCT_BODY = original


def test_action_details_that_are_not_a_list_of_actions(structs: PageStructs) -> None:
    """A list with holes (PHP writes it as an object) gives its actions in order; anything
    else gives no actions and stays whole in the visit's `extra`, never a failed window."""
    cursor = Cursor(1, DAY, Limit(10))
    visit = {"idSite": 1, "idVisit": 1, "lastActionTimestamp": 5, "zKey": 1}
    holes = {"0": {"type": "action", "url": "u"}, "2": {"type": "event"}}
    rows = encode_page(
        orjson.dumps([{**visit, "actionDetails": holes}]), cursor, EVERYTHING, "batch"
    )
    assert rows is not None
    assert rows.n_actions == [2]
    assert rows.actions.column("type") == ["action", "event"]
    assert rows.actions.column("position") == [1, 2]
    for odd in ("none", [1, {"type": "action"}], 7):
        body = orjson.dumps([{**visit, "actionDetails": odd}])
        rows = encode_page(body, cursor, EVERYTHING, "batch")
        assert rows is not None
        assert rows.n_actions == [0]
        assert len(rows.actions) == 0
        assert rows.visits.column("extra") == [{"actionDetails": odd, "zKey": 1}]
