"""SQLite target (`*.sqlite`, `*.sqlite3`, `*.db`).

SQLite has no timestamp, date or JSON storage class: timestamps are `YYYY-MM-DD HH:MM:SS`
text (UTC) in columns declared `TIMESTAMP`, dates ISO text in `DATE` columns (so
`sqlite3.PARSE_DECLTYPES` readers get `datetime`/`date`), nested data JSON text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

from ..schema import Batch, ColumnType, Table
from .base import hold_lock, iso_ts, json_text, make_folder
from .sql import SqlSink

__all__ = ["SQLiteSink"]

_CHUNK = 500  # ids per DELETE ... IN (...), well under SQLite's variable limit


class SQLiteSink(SqlSink):
    """Writes to an SQLite database file."""

    type_names: ClassVar[dict[ColumnType, str]] = {
        ColumnType.INT: "INTEGER",
        ColumnType.FLOAT: "REAL",
        ColumnType.TEXT: "TEXT",
        ColumnType.TIMESTAMP: "TIMESTAMP",
        ColumnType.DATE: "DATE",
        ColumnType.JSON: "TEXT",
    }

    def __init__(self, path: str) -> None:
        self.path = path
        self.target = path
        self._con: sqlite3.Connection | None = None
        self._lock: IO[bytes] | None = None

    @property
    def con(self) -> sqlite3.Connection:
        """The open connection."""
        assert self._con is not None, "sink is not open"
        return self._con

    def _connect(self) -> None:
        # Locked before SQLite opens the file: closing another descriptor of a file drops the
        # process's fcntl locks on it, SQLite's included, so ours is closed only after it.
        make_folder(Path(self.path).parent, self.target)  # as file targets do
        self._lock = self._lock or hold_lock(self.path, self.target)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves; the engine serialises calls.
        self._con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.con.execute(sql, tuple(params))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, tuple(params)).fetchall()

    def _columns_of(self, names: Sequence[str]) -> dict[str, set[str]]:
        # SQLite has no information_schema; table_info of a missing table is empty.
        return {
            n: {str(r[1]).lower() for r in self._query(f"PRAGMA table_info({n})")} for n in names
        }

    def _failure(self, error: Exception) -> str:
        """SQLite's message, and for a lock what holds it and what to do."""
        if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
            return (
                f"{error}: another program holds a lock on it (a transaction left open in a "
                "SQLite shell or GUI?): end that transaction or close the program, then run the "
                "same command again"
            )
        return str(error)

    def _begin(self) -> None:
        self.con.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self.con.execute("COMMIT")

    def _rollback(self) -> None:
        self.con.execute("ROLLBACK")

    def _adapt(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, date):
            return value.isoformat()
        return value

    def _insert(self, batch: Batch) -> None:
        cols = []
        for c in batch.table.columns:
            values = batch.columns[c.name]
            if c.type is ColumnType.TIMESTAMP:
                values = [iso_ts(v) for v in values]
            elif c.type is ColumnType.DATE:
                values = [None if v is None else v.isoformat() for v in values]
            elif c.type is ColumnType.JSON:
                values = [json_text(v) for v in values]
            cols.append(values)
        names = ", ".join(batch.table.column_names)
        marks = ", ".join("?" * len(cols))
        self.con.executemany(
            f"INSERT INTO {batch.table.name} ({names}) VALUES ({marks})", zip(*cols, strict=True)
        )

    def _delete_visits(self, table: Table, id_site: int, ids: list[int]) -> None:
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            self.con.execute(
                f"DELETE FROM {table.name} WHERE id_site = ? "
                f"AND id_visit IN ({', '.join('?' * len(chunk))})",
                (id_site, *chunk),
            )

    def close(self) -> None:
        """Close the database, then release its lock."""
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
