"""Read an export target back with the target's own reader (duckdb, sqlite3, pyarrow, json...)."""

from __future__ import annotations

import csv
import gzip
import io
import os
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow.parquet as pq
import zstandard


def _final(target: str, table: str) -> Path:
    p = Path(target)
    for ext in ("jsonl.gz", "jsonl.zst", "jsonl", "csv.gz", "csv.zst", "csv", "parquet"):
        if p.name.endswith("." + ext):
            return p.with_name(p.name[: -len(ext) - 1] + f".{table}.{ext}")
    raise ValueError(target)


def _text(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        return gzip.decompress(data).decode()
    if path.name.endswith(".zst"):
        dctx = zstandard.ZstdDecompressor()
        reader = dctx.stream_reader(io.BytesIO(data), read_across_frames=True)
        return reader.read().decode()
    return data.decode()


def read_rows(target: str, table: str) -> list[dict[str, Any]]:
    """Every row of `table` in `target`, as dicts, typed as the target's reader types them."""
    if target.startswith("postgresql://"):
        import psycopg
        from psycopg.rows import dict_row
        from psycopg.types.json import set_json_loads

        with psycopg.connect(target, row_factory=dict_row) as con:
            # orjson reads JSON nested up to 1024 levels, as deep as the export decodes.
            set_json_loads(orjson.loads, con)
            return list(con.execute(f"SELECT * FROM {table}").fetchall())
    if target.endswith(".duckdb"):
        con = duckdb.connect(target, read_only=True)
        try:
            cur = con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        finally:
            con.close()
    if target.endswith(".sqlite"):
        # Explicit converters: Python 3.12 deprecated sqlite3's default date/timestamp ones
        # (thousands of DeprecationWarnings a run on 3.13).
        sqlite3.register_converter("DATE", lambda b: date.fromisoformat(b.decode()))
        sqlite3.register_converter("TIMESTAMP", lambda b: datetime.fromisoformat(b.decode()))
        con3 = sqlite3.connect(target, detect_types=sqlite3.PARSE_DECLTYPES)
        con3.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con3.execute(f"SELECT * FROM {table}")]
        finally:
            con3.close()
    if target.endswith(os.sep) or os.path.isdir(target):
        root = Path(target) / table
        if not root.exists():
            return []
        rows: list[dict[str, Any]] = []
        # Every file a dataset reader would pick up (all but `.`/`_` names), not only the
        # `part.parquet` the sink writes: a leftover temp or stray file is read, and fails.
        for part in sorted(root.rglob("*")):
            if part.is_file() and not part.name.startswith((".", "_")):
                rows.extend(pq.ParquetFile(part).read().to_pylist())
        return rows
    final = _final(target, table)
    if final.name.endswith(".parquet"):
        return list(pq.read_table(final).to_pylist())
    text = _text(final)
    if ".jsonl" in final.name:
        return [orjson.loads(line) for line in text.split("\n") if line]
    return list(csv.DictReader(io.StringIO(text)))
