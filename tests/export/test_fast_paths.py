"""The export's fast paths give exactly what the plain per-row code they replaced gives.

The row builder reads records by position and the JSONL writer serialises a window's rows in one
call; both are checked here against straightforward reference code, on recorded Matomo visits,
sandbox visits and hand-made edge cases (several record shapes, unknown keys, odd timestamps,
nested data that looks like a row boundary).
"""

from __future__ import annotations

import copy
import gzip
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson
import pytest

from matomo_client.export.coerce import _coerce_column
from matomo_client.export.rows import build_visit_batches
from matomo_client.export.schema import (
    _ACTION_DROPPED,
    _ACTION_FIELDS,
    _ACTION_KNOWN,
    _VISIT_DROPPED,
    _VISIT_FIELDS,
    _VISIT_KNOWN,
    ACTIONS,
    VISITS,
    Batch,
    ColumnType,
    is_presentation,
)
from matomo_client.export.sinks import text
from matomo_client.export.sinks.arrow import to_arrow
from matomo_client.export.sinks.base import iso_ts
from matomo_client.export.sinks.files import FileSink, jsonl_bytes
from matomo_client.export.state import DONE, WindowRecord
from matomo_client.sandbox import Sandbox, SandboxConfig

RECORDED = Path(__file__).parent.parent / "recorded"
SANDBOX_DAYS = [date(2024, 5, 13), date(2024, 5, 14)]


# --- reference code: the plain per-record / per-row versions ---------------------------------


def _reference_columns(
    records: list[dict[str, Any]],
    fields: tuple[tuple[str, str, ColumnType], ...],
    known: frozenset[str],
    dropped: frozenset[str],
) -> tuple[dict[str, list[Any]], list[dict[str, Any] | None]]:
    extras: list[dict[str, Any] | None] = []
    for r in records:
        unknown = {
            k: r[k]
            for k in sorted(r)  # `extra` keeps its keys sorted
            if k not in known and k not in dropped and not is_presentation(k)
        }
        extras.append(unknown or None)
    cols = {
        name: _coerce_column([r.get(src) for r in records], t, src, extras)
        for src, name, t in fields
    }
    return cols, extras


def reference_batches(raw: list[dict[str, Any]]) -> tuple[Batch, Batch]:
    """`build_visit_batches` written record by record."""
    vcols, vextra = _reference_columns(raw, _VISIT_FIELDS, _VISIT_KNOWN, _VISIT_DROPPED)
    vcols["extra"] = vextra
    actions, site, visit, pos = [], [], [], []
    for s, v, r in zip(vcols["id_site"], vcols["id_visit"], raw, strict=True):
        for i, a in enumerate(r.get("actionDetails") or (), start=1):
            actions.append(a)
            site.append(s)
            visit.append(v)
            pos.append(i)
    acols: dict[str, list[Any]] = {"id_site": site, "id_visit": visit, "position": pos}
    a, aextra = _reference_columns(actions, _ACTION_FIELDS, _ACTION_KNOWN, _ACTION_DROPPED)
    acols.update(a)
    acols["extra"] = aextra
    return Batch(VISITS, vcols), Batch(ACTIONS, acols)


def reference_jsonl(batch: Batch) -> bytes:
    """One `orjson.dumps` per row, timestamps through `iso_ts` (the writer before the fast path)."""
    names = batch.table.column_names
    cols = []
    for c in batch.table.columns:
        values = batch.columns[c.name]
        if c.type is ColumnType.TIMESTAMP:
            values = [None if v is None else f"{iso_ts(v)}Z".replace(" ", "T") for v in values]
        cols.append(values)
    rows = zip(*cols, strict=True)
    return b"".join(orjson.dumps(dict(zip(names, row, strict=True))) + b"\n" for row in rows)


# --- inputs -----------------------------------------------------------------------------------


def _recorded_visits() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in sorted(RECORDED.glob("*_Live.getLastVisitsDetails*.response.json")):
        value = orjson.loads(p.read_bytes())
        if isinstance(value, list):
            out.extend(v for v in value if isinstance(v, dict))
    assert out, "the recorded Live answers are missing"
    return out


async def _sandbox_pages() -> list[list[dict[str, Any]]]:
    sb = Sandbox(SandboxConfig(seed=3, days=4, visits_per_day=40, today=date(2024, 5, 15)))
    pages = []
    transport = httpx.ASGITransport(app=sb.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/") as client:
        for site in (1, 2):
            for d in SANDBOX_DAYS:
                form = {
                    "module": "API",
                    "format": "JSON",
                    "token_auth": "sandbox-token",
                    "method": "Live.getLastVisitsDetails",
                    "idSite": str(site),
                    "period": "day",
                    "date": d.isoformat(),
                    "filter_limit": "-1",
                }
                r = await client.post("index.php", data=form)
                pages.append(orjson.loads(r.content))
    return pages


@pytest.fixture(scope="module")
def sandbox_pages() -> list[list[dict[str, Any]]]:
    """Rendered sandbox visits, one list per (site, day)."""
    return anyio.run(_sandbox_pages)


def _odd_visits(base: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Visits with the cases the fast paths must not get wrong."""
    out = copy.deepcopy(base[:6])
    a, b, c, d, e, f = out
    a["lastActionTimestamp"] = None  # a null timestamp
    a["firstActionTimestamp"] = -40_000_000_000  # year 702: strftime and orjson differ there
    b["serverTimestamp"] = "1715731200"  # a numeric string
    b["customDim"] = {"nested": [1, {"x": "y"}]}  # unknown keys go to extra
    c.pop("visitorType", None)  # another shape: a key missing
    c["userId"] = 'quote " and },{"id_site": inside a string, \\ and \n and ü'
    d["zeta"] = [{"id_site": 1}, {"id_site": 2}]  # nested data holding a row boundary
    e_actions = e.get("actionDetails") or [{}]
    e_actions[0] = {"url": "https://x/", "type": "action", "newField": 1, **e_actions[0]}
    e["actionDetails"] = [*reversed(e_actions), {"type": "event", "timestamp": "7"}]
    f["visitCount"] = "not a number"  # cannot be coerced: NULL, and kept in extra
    # Values Arrow would take or refuse as they are (the arrow=True build): each must end up
    # as coercion makes it.
    f["visitDuration"] = -3.5  # a float in an INT column: truncated
    f["searches"] = True  # a bool in an INT column
    f["latitude"] = True  # a bool in a FLOAT column
    f["longitude"] = ""  # an empty string in a FLOAT column: NULL
    f["totalEcommerceRevenue"] = "46%"  # a percentage
    f["referrerName"] = 12  # a number in a TEXT column
    f["region"] = {"n": 1}  # nested data in a TEXT column: NULL, and kept in extra
    return out


# --- tests ------------------------------------------------------------------------------------


def _check_same(raw: list[dict[str, Any]]) -> None:
    got = build_visit_batches(copy.deepcopy(raw))
    want = reference_batches(copy.deepcopy(raw))
    for g, w in zip(got, want, strict=True):
        assert g.table is w.table
        assert list(g.columns) == [c.name for c in g.table.columns]
        assert g.columns == w.columns
        assert jsonl_bytes(g) == reference_jsonl(w)
    # The Arrow build converts columns of the right type directly: same tables.
    for g, w in zip(build_visit_batches(copy.deepcopy(raw), arrow=True), want, strict=True):
        assert to_arrow(g).equals(to_arrow(w))


def test_recorded_visits_build_and_serialise_like_the_reference() -> None:
    """Real Matomo visits give the same rows and the same JSONL bytes as the reference code."""
    raw = _recorded_visits()
    _check_same(raw)
    _check_same(raw[:1])


def test_sandbox_windows_build_and_serialise_like_the_reference(
    sandbox_pages: list[list[dict[str, Any]]],
) -> None:
    """Sandbox windows (several action shapes each) match the reference rows and bytes."""
    for page in sandbox_pages:
        assert page
        _check_same(page)


def test_odd_visits_build_and_serialise_like_the_reference(
    sandbox_pages: list[list[dict[str, Any]]],
) -> None:
    """Mixed shapes, unknown keys, bad values, odd timestamps and look-alike row boundaries."""
    odd = _odd_visits(sandbox_pages[0])
    _check_same(odd)
    _check_same(odd + sandbox_pages[1])
    _check_same([odd[3]])  # a single row whose nested data holds a boundary


def test_nested_row_boundary_keeps_one_line_per_row(
    sandbox_pages: list[list[dict[str, Any]]],
) -> None:
    """Nested data that looks like a row boundary does not split a row over two lines."""
    raw = copy.deepcopy(sandbox_pages[0][:3])
    raw[1]["zeta"] = [{"id_site": 1}, {"id_site": 2}]
    visits, _ = build_visit_batches(raw)
    lines = jsonl_bytes(visits).splitlines()
    assert len(lines) == 3
    assert orjson.loads(lines[1])["extra"]["zeta"] == [{"id_site": 1}, {"id_site": 2}]


def test_rows_split_over_several_calls_give_the_same_bytes(
    sandbox_pages: list[list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serialising a few rows per call (the last call short) changes no byte."""
    from matomo_client.export.sinks import text

    for rows_per_call in (1, 2, 7):
        monkeypatch.setattr(text, "_JSONL_ROWS", rows_per_call)
        _check_same(sandbox_pages[0])
        _check_same(_odd_visits(sandbox_pages[1]))


def test_empty_batches_write_nothing() -> None:
    """A window without visits gives empty batches and no JSONL bytes."""
    visits, actions = build_visit_batches([])
    assert len(visits) == len(actions) == 0
    assert jsonl_bytes(visits) == jsonl_bytes(actions) == b""


def test_timestamps_are_utc_iso_with_z() -> None:
    """A timestamp column is written `YYYY-MM-DDTHH:MM:SSZ`, in UTC, nulls as null."""
    raw = [{"idSite": 1, "idVisit": 1, "serverTimestamp": 1715731200, "lastActionTimestamp": None}]
    visits, _ = build_visit_batches(raw)
    row = orjson.loads(jsonl_bytes(visits))
    assert row["server_timestamp"] == "2024-05-15T00:00:00Z"
    assert row["last_action_timestamp"] is None
    assert datetime(2024, 5, 15, tzinfo=timezone.utc).timestamp() == 1715731200


@pytest.mark.parametrize("suffix", ["jsonl", "jsonl.gz", "jsonl.zst"])
def test_jsonl_file_targets_hold_the_reference_bytes(
    tmp_path: Path, sandbox_pages: list[list[dict[str, Any]]], suffix: str
) -> None:
    """Parts and final files of a JSONL target hold exactly the reference lines, in order."""
    sink = FileSink(str(tmp_path / f"x.{suffix}"), "jsonl", suffix.partition(".")[2] or None)
    sink.open()
    sink.load_state("visits")
    want = {"visits": b"", "actions": b""}
    for i, page in enumerate(sandbox_pages[:2]):
        visits, actions = build_visit_batches(copy.deepcopy(page))
        rec = WindowRecord("visits", 1, SANDBOX_DAYS[i], DONE, len(visits), len(actions))
        sink.write_window("visits", [rec], [visits, actions])
        ref_v, ref_a = reference_batches(copy.deepcopy(page))
        want["visits"] += reference_jsonl(ref_v)
        want["actions"] += reference_jsonl(ref_a)
    sink.finish()
    sink.close()
    for table in (VISITS, ACTIONS):
        data = sink.final_path(table).read_bytes()
        if suffix.endswith("gz"):
            data = gzip.decompress(data)
        elif suffix.endswith("zst"):
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
            data = reader.read()
        assert data == want[table.name]


@pytest.mark.parametrize("kernel", ["partial-then-error", "missing"])
def test_final_files_are_whole_when_the_kernel_copy_stops(
    tmp_path: Path,
    sandbox_pages: list[list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    kernel: str,
) -> None:
    """Parts are concatenated completely when copy_file_range fails midway or does not exist."""
    import errno
    import os

    real = os.copy_file_range

    def some_then_fail(src: int, dst: int, count: int) -> int:
        if os.lseek(src, 0, os.SEEK_CUR) >= 10:  # after 10 bytes
            raise OSError(errno.EXDEV, "cross-device")
        return real(src, dst, min(count, 10))

    if kernel == "missing":
        monkeypatch.delattr(os, "copy_file_range")
    else:
        monkeypatch.setattr(os, "copy_file_range", some_then_fail)
    sink = FileSink(str(tmp_path / "x.csv"), "csv")
    sink.open()
    sink.load_state("visits")
    want = b""
    for i, page in enumerate(sandbox_pages[:2]):
        visits, actions = build_visit_batches(copy.deepcopy(page))
        rec = WindowRecord("visits", 1, SANDBOX_DAYS[i], DONE, len(visits), len(actions))
        sink.write_window("visits", [rec], [visits, actions])
        want += text.csv_bytes(visits, header=False)
    sink.finish()
    header = text.csv_bytes(Batch.empty(VISITS), header=True)
    assert sink.final_path(VISITS).read_bytes() == header + want
