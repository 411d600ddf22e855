"""The text forms of a batch for file targets: JSON lines and CSV (UTF-8)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timezone
from itertools import islice, repeat
from typing import Any

import orjson

from .. import jsonvalue
from ..schema import Batch, ColumnType
from .base import iso_ts, json_text

__all__ = ["csv_bytes", "jsonl_bytes", "jsonl_chunks"]


def _iso_z(ts: int | None) -> str | None:
    return None if ts is None else iso_ts(ts).replace(" ", "T") + "Z"  # type: ignore[union-attr]


def _text_columns(batch: Batch, ts: Any, js: Any) -> list[list[Any]]:
    cols = []
    for c in batch.table.columns:
        values = batch.columns[c.name]
        if c.type is ColumnType.TIMESTAMP:
            values = [ts(v) for v in values]
        elif c.type is ColumnType.JSON and js is not None:
            values = [js(v) for v in values]
        cols.append(values)
    return cols


# A timestamp before year 1000 is where orjson's datetime ("0999-...") and strftime ("999-...")
# part ways; such values keep the text path.
_ORJSON_TS_MIN = -30_610_224_000
_UTC = timezone.utc
_JSONL_OPTS = orjson.OPT_UTC_Z


def _utc_datetimes(values: list[Any]) -> list[Any]:
    """Unix seconds as aware UTC datetimes, which orjson (`OPT_UTC_Z`) writes as `...THH:MM:SSZ`."""
    fromts = datetime.fromtimestamp
    return [
        None if x is None else fromts(x, _UTC) if x >= _ORJSON_TS_MIN else _iso_z(x) for x in values
    ]


_JSONL_ROWS = 256  # rows serialised per call: their dicts and text stay in the CPU cache


def jsonl_chunks(batch: Batch) -> Iterator[bytes | memoryview]:
    """One JSON object per row; timestamps `YYYY-MM-DDTHH:MM:SSZ`, nested data nested.

    Rows are serialised `_JSONL_ROWS` at a time in one `orjson.dumps` call (a call per row costs
    twice as much; a whole window's row dicts no longer fit in the cache), and each array is cut
    into lines at the row boundaries `},{"<first column>":`. Outside nested data that sequence
    only occurs between rows (a JSON string cannot hold it: its quote would be escaped); when
    the nested values hold `{"<first column>":`, each row is serialised alone instead. Yields
    pieces, to spare a copy.
    """
    if batch.jsonl is not None:
        yield batch.jsonl
        return
    table = batch.table
    names = tuple(table.column_names)
    cols = []
    nested = []
    for c in table.columns:
        values = batch.columns[c.name]
        if c.type is ColumnType.TIMESTAMP:
            values = _utc_datetimes(values)
        elif c.type is ColumnType.JSON:
            nested.append(values)
        cols.append(values)
    rows = map(dict, map(zip, repeat(names), zip(*cols, strict=True)))
    dumps = jsonvalue.dumps
    key = b"{" + dumps(names[0]) + b":"
    if key in dumps(nested):
        opts = _JSONL_OPTS | orjson.OPT_APPEND_NEWLINE
        for r in rows:
            yield dumps(r, option=opts)
        return
    boundary, newline = b"}," + key, b"}\n" + key
    while chunk := list(islice(rows, _JSONL_ROWS)):
        lines = dumps(chunk, option=_JSONL_OPTS).replace(boundary, newline)
        yield memoryview(lines)[1:-1]
        yield b"\n"


def jsonl_bytes(batch: Batch) -> bytes:
    """The JSONL text of a batch (see `jsonl_chunks`)."""
    if batch.jsonl is not None:
        return batch.jsonl
    return b"".join(jsonl_chunks(batch))


class _Null(int):
    """NULL in a CSV file: `csv.QUOTE_NONNUMERIC` leaves numbers unquoted, and this one is
    written as nothing at all."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""

    __repr__ = __str__


_NULL = _Null()


def csv_bytes(batch: Batch, header: bool) -> bytes:
    """RFC 4180 CSV (UTF-8); timestamps `YYYY-MM-DD HH:MM:SS` UTC, nested data as JSON text.

    Every text is quoted, an empty one as `""`, numbers are not, and NULL is an empty field:
    NULL and the empty text stay apart (PostgreSQL's `COPY ... CSV` and DuckDB's
    `read_csv(..., allow_quoted_nulls=false)` read them back as such).
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    if header:
        w.writerow(batch.table.column_names)
    cols = [
        [_NULL if v is None else v for v in col] if None in col else col
        for col in _text_columns(batch, iso_ts, json_text)
    ]
    w.writerows(zip(*cols, strict=True))
    return buf.getvalue().encode()
