"""Every key and value of a recorded Matomo 5 visit lands in the export, in every target.

The real Live answers in `recorded/` are served by a fake Matomo and exported for real; each
target is read back with its own reader and compared, key by key, with what Matomo sent: a
declared key in its column (coerced to the column's type), any other data key in `extra`, as
sent. A value that has no exact place in its column (12.5 in an integer column, a boolean in a
text column, "nan" in a number column) is NULL there and kept in `extra`, never altered.
"""

from __future__ import annotations

import copy
import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import orjson
import pytest
from export_fakeworld import FakeMatomo
from export_readers import _final, _text, read_rows

from matomo_client.export import export_visits
from matomo_client.export.rows import build_visit_batches
from matomo_client.export.schema import ACTION_RECORD, VISIT_RECORD, ColumnType, RecordKind
from matomo_client.export.sinks.arrow import to_arrow

RECORDED = Path(__file__).parent.parent / "recorded"
CT = ColumnType


def _recorded_visits() -> list[dict[str, Any]]:
    """Every visit of the recorded Live answers, once (the copy with the most actions)."""
    by_id: dict[tuple[int, int], dict[str, Any]] = {}
    for p in sorted(RECORDED.glob("*.response.json")):
        value = orjson.loads(p.read_bytes())
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for v in value:
                if "idVisit" in v:
                    key = (v["idSite"], v["idVisit"])
                    kept = by_id.get(key)
                    if kept is None or len(v["actionDetails"]) > len(kept["actionDetails"]):
                        by_id[key] = v
    assert len(by_id) > 30
    return list(by_id.values())


def _seconds(x: Any) -> int:
    if isinstance(x, datetime):
        return int((x if x.tzinfo else x.replace(tzinfo=timezone.utc)).timestamp())
    if isinstance(x, int):
        return x
    text = str(x)
    if text.isdigit():
        return int(text)
    d = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int((d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp())


def _utc_of_berlin_wall_clock(local: int) -> int:
    """The instant whose Europe/Berlin wall-clock time, read as UTC, is `local`."""
    wall = datetime.fromtimestamp(local, timezone.utc).replace(tzinfo=ZoneInfo("Europe/Berlin"))
    return int(wall.timestamp())


def _canonical(x: Any, t: ColumnType) -> Any:
    """A stored value, as its reader gives it, in one comparable form per column type."""
    if x is None:
        return None
    if t is CT.JSON:
        return orjson.loads(x) if isinstance(x, (str, bytes)) else x
    if t is CT.TIMESTAMP:
        return _seconds(x)
    if t is CT.DATE:
        return str(x)[:10]
    if t is CT.INT:
        return int(x)
    if t is CT.FLOAT:
        return float(x)
    return str(x)


def _expected(x: Any, t: ColumnType) -> Any:
    """What a column holds for Matomo's value `x` (ValueError: NULL, `x` kept in `extra`)."""
    if x is None or (x == "" and t is not CT.TEXT):
        return None
    if t is CT.JSON:
        return x
    if t in (CT.INT, CT.TIMESTAMP):
        f = float(x)
        if not f.is_integer():
            raise ValueError(x)
        return int(f)
    if t is CT.FLOAT:
        f = float(x[:-1]) / 100 if isinstance(x, str) and x.endswith("%") else float(x)
        if not math.isfinite(f):
            raise ValueError(x)
        return f
    if t is CT.DATE:
        return date.fromisoformat(str(x)[:10]).isoformat()
    if isinstance(x, (bool, dict, list)):
        raise ValueError(x)
    return str(x)


def _diff(kind: RecordKind, raw: dict[str, Any], row: dict[str, Any], csv: bool) -> list[str]:
    """How `row` differs from the record Matomo sent (empty: nothing lost or changed)."""
    problems = []
    extra = {k: v for k, v in raw.items() if k != "actionDetails" and kind.to_extra(k)}
    for src, name, t in kind.fields:
        stored = None if csv and row[name] == "" and t is not CT.TEXT else row[name]
        try:
            want = _expected(raw.get(src), t)
        except (TypeError, ValueError):
            want, extra[src] = None, raw[src]
        if _canonical(stored, t) != want:
            problems.append(f"{name}: {stored!r} for {raw.get(src)!r}")
    got_extra = _canonical(row["extra"], CT.JSON) or {}
    if got_extra != extra:
        problems.append(f"extra: {got_extra!r} for {extra!r}")
    return problems


def _rows(target: str, table: str) -> list[dict[str, Any]]:
    if target.endswith(".csv"):  # read with NULL apart from "" (Python's csv cannot)
        rel = duckdb.sql(
            f"SELECT * FROM read_csv('{_final(target, table)}', all_varchar = true, "
            "allow_quoted_nulls = false)"
        )
        return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    if target.endswith(".jsonl"):  # lines end at "\n" only: a text may hold U+2028
        text = _text(_final(target, table))
        return [orjson.loads(line) for line in text.split("\n") if line]
    return read_rows(target, table)


def _check_target(target: str, visits: list[dict[str, Any]]) -> list[str]:
    csv = target.endswith(".csv")
    vrows = {(int(r["id_site"]), int(r["id_visit"])): r for r in _rows(target, "visits")}
    arows = {
        (int(r["id_site"]), int(r["id_visit"]), int(r["position"])): r
        for r in _rows(target, "actions")
    }
    assert len(vrows) == len(visits)
    assert len(arows) == sum(len(v["actionDetails"]) for v in visits)
    problems = []
    for v in visits:
        key = (v["idSite"], v["idVisit"])
        problems += [f"visit {key} {p}" for p in _diff(VISIT_RECORD, v, vrows[key], csv)]
        for i, a in enumerate(v["actionDetails"], start=1):
            if v["idSite"] == 2 and str(a.get("timestamp")).isdigit():
                # Matomo writes an action's time in the site's wall-clock time (Europe/Berlin
                # for site 2); the export stores the UTC instant (recording 059).
                a = dict(a, timestamp=_utc_of_berlin_wall_clock(int(a["timestamp"])))
            got = _diff(ACTION_RECORD, a, arows[(*key, i)], csv)
            problems += [f"action {key}/{i} {p}" for p in got]
    return problems


def _odd_visits(base: dict[str, Any]) -> list[dict[str, Any]]:
    """Recorded visits given values a plugin or another Matomo version may send."""
    first = base["actionDetails"][0]
    odd = copy.deepcopy(base)
    odd.update(
        idVisit=990001,
        visitDuration=12.5,
        visitCount="3.7",
        userId=False,
        latitude="nan",
        visitConverted="1",
        visitServerHour="7",
        customVariables={"1": {"customVariableName1": "Type", "customVariableValue1": ""}},
        experiments=[{"idexperiment": "1", "variation": {"idvariation": "2", "name": None}}],
        dimension5="0",
        isBot=False,
    )
    odd["actionDetails"] = [
        dict(first, timeSpent=7.9, eventValue="inf", pageIdAction="12.0", bandwidth=None),
        {
            "type": "13",
            "url": "https://shop.example.com/",
            "contentName": "Banner",
            "contentPiece": "",
            "contentInteraction": None,
            "timestamp": str(base["lastActionTimestamp"]),
            "pageviewPosition": "1",
            "title": "Content Impression",
        },
    ]
    return [odd]


class _RecordedMatomo(FakeMatomo):
    """The fake Matomo of the export tests, serving the recorded visits."""


def _world(visits: list[dict[str, Any]]) -> _RecordedMatomo:
    world = _RecordedMatomo(today=date(2026, 11, 30), days=0)
    world.visits = copy.deepcopy(visits)
    return world


async def _export(world: FakeMatomo, target: str, workers: int) -> None:
    stamps = [v["lastActionTimestamp"] for v in world.visits]
    first = datetime.fromtimestamp(min(stamps), timezone.utc).date() - timedelta(days=1)
    last = datetime.fromtimestamp(max(stamps), timezone.utc).date() + timedelta(days=1)
    async with world.client() as m:
        await export_visits(
            m,
            sites=[1, 2],
            start=first,
            end=last,
            target=target,
            now=datetime(2026, 12, 5, tzinfo=timezone.utc),
            workers=workers,
            page_size=7,
        )


TARGETS = ["x.duckdb", "x.parquet", "dir/", "x.jsonl", "x.csv", "x.sqlite"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("target", TARGETS)
async def test_every_recorded_key_and_value_reaches_every_target(
    tmp_path: Path, target: str
) -> None:
    """Recorded visits (and odd values on one of them) come back from each target with every
    data key Matomo sent, in its column or in `extra`, and no value changed."""
    visits = _recorded_visits()
    visits += _odd_visits(visits[0])
    world = _world(visits)
    out = str(tmp_path / target)
    await _export(world, out, workers=0)
    assert _check_target(out, visits) == []


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_every_recorded_key_and_value_reaches_postgresql(pg_url: str) -> None:
    """The same for PostgreSQL."""
    visits = _recorded_visits()
    visits += _odd_visits(visits[0])
    await _export(_world(visits), pg_url, workers=0)
    assert _check_target(pg_url, visits) == []


# --- values with no exact place in their column ------------------------------------------------


def _build(visit: dict[str, Any], arrow: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The visits and actions rows of one visit, as plain values, built either way."""
    visits, actions = build_visit_batches([visit], arrow=arrow)
    if not arrow:
        first = {name: values[0] for name, values in visits.columns.items()}
        return first, {name: values[0] for name, values in actions.columns.items()}
    v, a = to_arrow(visits).to_pylist()[0], to_arrow(actions).to_pylist()[0]
    return (
        {**v, "extra": orjson.loads(v["extra"])},
        {**a, "extra": orjson.loads(a["extra"])},
    )


@pytest.mark.parametrize("arrow", [False, True])
def test_a_fraction_in_an_integer_column_is_kept_not_cut(arrow: bool) -> None:
    """12.5 in an integer or timestamp column is not stored as 12 (Arrow cut it silently, and
    so did the Python path): the column is NULL and `extra` keeps 12.5; 12.0 is still 12."""
    base = _recorded_visits()[0]
    ts = base["serverTimestamp"]
    visit = dict(base, visitDuration=12.5, visitCount="3.7", serverTimestamp=ts + 0.5)
    visit["actionDetails"] = [dict(base["actionDetails"][0], timeSpent=7.9, pageId=12.0)]
    v, a = _build(visit, arrow)
    assert (v["visit_duration"], v["visit_count"], v["server_timestamp"]) == (None, None, None)
    assert v["extra"]["visitDuration"] == 12.5
    assert v["extra"]["visitCount"] == "3.7"
    assert v["extra"]["serverTimestamp"] == ts + 0.5
    assert a["time_spent"] is None
    assert a["extra"]["timeSpent"] == 7.9
    assert a["page_id"] == 12


@pytest.mark.parametrize("arrow", [False, True])
def test_a_boolean_in_a_text_column_is_kept_not_spelt_true(arrow: bool) -> None:
    """Matomo writes PHP's `false` for a missing text in places (`userId: false` in
    getVisitorProfile): it is not the text "False", it is kept in `extra` as sent."""
    base = _recorded_visits()[0]
    v, _ = _build(dict(base, userId=False, visitorType=True), arrow)
    assert (v["user_id"], v["visitor_type"]) == (None, None)
    assert v["extra"]["userId"] is False
    assert v["extra"]["visitorType"] is True


@pytest.mark.parametrize("arrow", [False, True])
def test_a_number_column_takes_no_nan_or_infinity(arrow: bool) -> None:
    """ "nan" and "inf" are not numbers Matomo means (JSONL would write NaN as null, losing
    the text): NULL in the column, the text kept in `extra`."""
    base = _recorded_visits()[0]
    visit = dict(base, latitude="nan", longitude="1e400")
    visit["actionDetails"] = [dict(base["actionDetails"][0], eventValue="inf")]
    v, a = _build(visit, arrow)
    assert (v["latitude"], v["longitude"]) == (None, None)
    assert (v["extra"]["latitude"], v["extra"]["longitude"]) == ("nan", "1e400")
    assert a["event_value"] is None
    assert a["extra"]["eventValue"] == "inf"


def test_extra_keys_stay_sorted_when_a_value_is_kept_there() -> None:
    """A value kept in `extra` because its column cannot hold it goes among the other keys in
    order (README: `extra` is an object with its keys sorted)."""
    base = _recorded_visits()[0]
    v, _ = _build(dict(base, visitCount="n/a", zeta=1, alpha=2), arrow=False)
    assert list(v["extra"]) == sorted(v["extra"])
    assert v["extra"]["visitCount"] == "n/a"


def test_bandwidth_pretty_is_presentation_like_the_other_pretty_keys() -> None:
    """Matomo's `bandwidth_pretty` ("1.2 M") is display-only, as `*Pretty` keys are: not kept
    in `extra`, while `bandwidth` itself is data."""
    from matomo_client.export.schema import is_presentation

    assert is_presentation("bandwidth_pretty")
    assert is_presentation("serverTimePretty")
    assert not is_presentation("bandwidth")
    assert not is_presentation("pretty_url")
