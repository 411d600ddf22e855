"""Batches as Arrow tables (for Parquet and DuckDB), with the declared types."""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

from .. import jsonvalue
from ..schema import Batch, ColumnType, Table

__all__ = ["arrow_schema", "arrow_type", "to_arrow"]

_ARROW_TYPES: dict[ColumnType, Any] = {
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.TEXT: pa.string(),
    ColumnType.TIMESTAMP: pa.timestamp("s"),
    ColumnType.DATE: pa.date32(),
    ColumnType.JSON: pa.string(),
}


def arrow_type(type_: ColumnType) -> Any:
    """The Arrow type a column of this declared type is stored as."""
    return _ARROW_TYPES[type_]


_SCHEMAS: dict[str, tuple[Table, Any]] = {}


def arrow_schema(table: Table) -> Any:
    """The Arrow schema of a declared table (JSON columns as strings)."""
    known = _SCHEMAS.get(table.name)
    if known is not None and known[0] is table:
        return known[1]
    schema = pa.schema([pa.field(c.name, _ARROW_TYPES[c.type]) for c in table.columns])
    _SCHEMAS[table.name] = (table, schema)  # built once a page otherwise: ~0.1 ms each time
    return schema


def _json_column(values: list[Any]) -> list[str | None]:
    try:
        dumps = orjson.dumps
        return [None if v is None else dumps(v).decode() for v in values]
    except orjson.JSONEncodeError:  # an integer beyond 64 bits (see jsonvalue.py)
        return [None if v is None else jsonvalue.dumps(v).decode() for v in values]


def to_arrow(batch: Batch) -> Any:
    """The batch as a `pyarrow.Table` with the declared schema."""
    if batch.arrow is not None:
        return batch.arrow
    arrays = []
    for c in batch.table.columns:
        values = batch.columns[c.name]
        if isinstance(values, pa.Array):  # converted while building (build_visit_rows)
            arrays.append(values)
            continue
        if c.type is ColumnType.JSON:
            values = _json_column(values)
        arrays.append(pa.array(values, type=_ARROW_TYPES[c.type]))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(batch.table))
