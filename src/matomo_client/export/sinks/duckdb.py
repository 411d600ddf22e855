"""DuckDB target (`*.duckdb`, the default): typed columns, `JSON` for nested data.

Rows go in as Arrow tables (no per-row Python work). DuckDB tables get no PRIMARY KEY: its
unique checks reject a delete-then-insert of the same key inside one transaction, which is
exactly how a window replaces its rows; uniqueness comes from that delete instead.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from ..errors import TargetError
from ..schema import Batch, ColumnType, Table
from ..state import WindowRecord
from .arrow import to_arrow
from .base import make_folder
from .sql import MANIFEST_COLUMNS, MANIFEST_TABLE, SqlSink, manifest_row

__all__ = ["DuckDBSink"]

# DuckDB before 2.0 (the one Python 3.10 gets) cannot checkpoint within 64 MB: "failed to pin
# block", and the database is invalidated for the rest of the run. It gets room to do so.
MEMORY_LIMIT = "64MB" if int(duckdb.__version__.split(".")[0]) >= 2 else "256MB"
# A checkpoint rewrites each table's last, partly filled row group (up to 122,880 rows): at
# the default 16 MB of WAL, a long export rewrote its visits many times over (commit CPU per
# visit grew from 20 to 47 us between 20k and 200k visits). 64 MB: 10 to 22 us.
CHECKPOINT_THRESHOLD = "64MB"
# The sink's statements are small inserts and deletes, which DuckDB's parallelism does not
# speed up: with a thread per core it spent about 0.4 s more CPU in figure 7's export (19,697
# visits), CPU the page workers (`encode.py`) on the other cores then lacked.
THREADS = 1
# The final checkpoint compresses every row group not yet in the file, one per thread, while
# the page workers are idle: with row groups of half DuckDB's default, figure 7's 70,817
# actions make two (one at 122,880), and that checkpoint took 0.16 s instead of 0.21 s on
# 2 cores (medians of 8, interleaved), the file the same size.
CHECKPOINT_THREADS = max(1, min(4, os.cpu_count() or 1))
ROW_GROUP_SIZE = 61_440
# DuckDB 2 attaches a file with its own row group size, and refuses one that another database
# of this process has open ("Unique file handle conflict"); before 2, the file is connected.
_ATTACH = int(duckdb.__version__.split(".")[0]) >= 2
_ALIAS = "matomo_export"
_IN_USE: tuple[type[Exception], ...] = (
    duckdb.ConnectionException,
    getattr(duckdb, "ResourceInUseException", duckdb.ConnectionException),
)
# Rows a single INSERT takes (DuckDB's row group is 122,880): more go in slices (`_insert`).
_INSERT_ROWS = 65_536

# DuckDB's error when another process holds the file: 'Conflicting lock is held in EXE (PID N)'.
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")

_MANIFEST_TYPES: dict[ColumnType, Any] = {
    ColumnType.TEXT: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("us"),
}
_MANIFEST_ARROW = pa.schema([(n, _MANIFEST_TYPES[t]) for n, t in MANIFEST_COLUMNS])


class DuckDBSink(SqlSink):
    """Writes to a DuckDB database file."""

    use_primary_keys = False
    encoding = "arrow"
    type_names: ClassVar[dict[ColumnType, str]] = {
        ColumnType.INT: "BIGINT",
        ColumnType.FLOAT: "DOUBLE",
        ColumnType.TEXT: "VARCHAR",
        ColumnType.TIMESTAMP: "TIMESTAMP",
        ColumnType.DATE: "DATE",
        ColumnType.JSON: "JSON",
    }

    def __init__(self, path: str) -> None:
        self.path = path
        self.target = path
        self._con: Any = None
        self._made: list[Path] = []  # files `connect` created, removed if `open` never runs
        self._opened = False
        self._own = False  # its own DuckDB instance (not a notebook's, shared): settings are ours

    def connect(self) -> None:
        """Start DuckDB (about 20 ms, without the GIL) while Matomo is asked for the sites.

        A database file this creates is removed again if the export stops before `open`
        (a refused token, an unknown site): a failed start leaves no file behind.
        """
        if self._con is not None or self.path == ":memory:":
            return
        path = Path(self.path)
        if not path.parent.is_dir() or (path.exists() and path.stat().st_size == 0):
            return  # a folder to create, or a header DuckDB would write: left to `open`
        made = [p for p in (path, Path(f"{self.path}.wal")) if not p.exists()]
        try:
            self._connect()
            self._made = made
            if path in made:  # a new database: nobody else's tables to check for
                self._create_tables()
        except TargetError:
            raise  # says what to do already (this process has the file open)
        except Exception as e:  # as `open` reports it
            raise TargetError(f"cannot open {self.target}: {self._failure(e)}") from e

    def open(self) -> None:
        """Connect and create the tables (idempotent), unless `connect` did."""
        self._opened = True
        if Path(self.path) not in self._made:
            super().open()

    def _connect(self) -> None:
        if self._con is not None:
            return  # `connect` did, while Matomo was asked for the sites
        # DuckDB's buffer pool defaults to 80% of RAM and keeps every table page it touched
        # (window deletes, checkpoints): RSS grew with the export's size (421 MB at 50k
        # visits, 819 MB at 500k). A bounded pool evicts clean pages (and spills, should a
        # query need more); fresh windows read no table pages, so a small pool costs no CPU.
        # 128 MB still grew 361 -> 465 MB between 25k and 250k visits, 64 MB 389 -> 416; one
        # window of 30k visits (one transaction, checkpoint included) still fits.
        if self.path != ":memory:":
            make_folder(Path(self.path).parent, self.target)  # as file targets do
        config: dict[str, Any] = {
            "memory_limit": MEMORY_LIMIT,
            "checkpoint_threshold": CHECKPOINT_THRESHOLD,
            "threads": THREADS,
            # Never fetch an extension from the internet: a SQLite file given as a .duckdb
            # target made DuckDB download its SQLite extension to read it.
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        try:
            if _ATTACH and self.path != ":memory:":
                self._con = _attach(self.path, config)
                self._own = True
            else:
                self._con = duckdb.connect(self.path, config=config)
        except _IN_USE as e:
            if not any(m in str(e) for m in ("different configuration", "file handle conflict")):
                raise
            # This process already has the file open (a notebook's `duckdb.connect`): DuckDB
            # shares a database between connections of one process only when their settings
            # agree, so the export takes that database's settings.
            # Another export of this process has it attached: refused, as other targets are.
            try:
                self._con = duckdb.connect(self.path)
            except _IN_USE:
                raise TargetError(
                    f"cannot open {self.target}: this process has it open already, in another "
                    "export, read-only or with settings of its own: wait for that export to end "
                    "or close that connection (or open it with duckdb.connect(path) and no "
                    "settings), then export again"
                ) from None

    def _create_indexes(self) -> None:
        pass  # DuckDB's zone maps serve the window deletes; ART indexes only slow inserts

    def _failure(self, error: Exception) -> str:
        """DuckDB's message; for its file lock, the holder and what to do instead of DuckDB's
        advice (a read-only open, which an export cannot use)."""
        held = _LOCK_HOLDER.search(str(error))
        if isinstance(error, duckdb.IOException) and held:
            return (
                f"another program has it open ({Path(held[1]).name}, PID {held[2]}) and DuckDB "
                "lets one program at a time open a database that is written to: close that "
                "program's connection to it (a duckdb shell, a BI tool, a notebook, another "
                "export), then run the same command again"
            )
        return str(error)

    def _unregister(self, name: str) -> None:
        # In a transaction a failed statement aborted, unregistering fails too ("transaction
        # is aborted"): that must not hide the failure itself (a missing column, a full disk).
        with contextlib.suppress(duckdb.Error):
            self._con.unregister(name)

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._con.execute(sql, list(params))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        result: list[tuple[Any, ...]] = self._con.execute(sql, list(params)).fetchall()
        return result

    def _begin(self) -> None:
        self._con.begin()

    def _commit(self) -> None:
        self._con.commit()

    def _rollback(self) -> None:
        self._con.rollback()

    def _insert(self, batch: Batch) -> None:
        # One chunk per column: the windows' pages come as chunks of tens to hundreds of rows,
        # and DuckDB's scan of each chunk has a fixed cost per column. In figure 1's export at
        # page size 100 the inserts took 0.32-0.36 s of CPU with the join, 0.48 s without.
        # A busy day's window (read back from disk, `spill.py`) goes a slice at a time, so that
        # joining its chunks copies a slice, not the whole day, at once.
        arrow = to_arrow(batch)
        cols = ", ".join(batch.table.column_names)
        for start in range(0, max(arrow.num_rows, 1), _INSERT_ROWS):
            self._con.register("_matomo_batch", arrow.slice(start, _INSERT_ROWS).combine_chunks())
            try:
                self._con.execute(
                    f"INSERT INTO {batch.table.name} ({cols}) SELECT {cols} FROM _matomo_batch"
                )
            finally:
                self._unregister("_matomo_batch")

    def _delete_visits(self, table: Table, id_site: int, ids: list[int]) -> None:
        keys = pa.table({"id_visit": pa.array(ids, pa.int64())})
        self._con.register("_matomo_keys", keys)
        try:
            self._con.execute(
                f"DELETE FROM {table.name} WHERE id_site = ? "
                "AND id_visit IN (SELECT id_visit FROM _matomo_keys)",
                [id_site],
            )
        finally:
            self._unregister("_matomo_keys")

    def _upsert_records(self, records: Sequence[WindowRecord]) -> None:
        # Two statements for all the windows instead of two per window (~3 ms each in DuckDB).
        if len(records) < 2:
            super()._upsert_records(records)
            return
        names = [n for n, _ in MANIFEST_COLUMNS]
        columns = zip(*map(manifest_row, records), strict=True)
        arrays = [pa.array(c, f.type) for c, f in zip(columns, _MANIFEST_ARROW, strict=True)]
        table = pa.Table.from_arrays(arrays, schema=_MANIFEST_ARROW)
        self._con.register("_matomo_records", table)
        try:
            self._con.execute(
                f"DELETE FROM {MANIFEST_TABLE} WHERE (kind, id_site, day) IN "
                "(SELECT (kind, id_site, day) FROM _matomo_records)"
            )
            cols = ", ".join(names)
            self._con.execute(
                f"INSERT INTO {MANIFEST_TABLE} ({cols}) SELECT {cols} FROM _matomo_records"
            )
        finally:
            self._unregister("_matomo_records")

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file (compressing each table) now,
        rather than when the database closes.

        Best effort: the data is already durable in the log, and a checkpoint that fails here
        (a full disk) is tried again, as it always was, when the database closes.
        """
        if self._con is None:
            return
        with contextlib.suppress(duckdb.Error):
            if self._own:
                self._con.execute(f"SET threads = {CHECKPOINT_THREADS}")
            try:
                self._con.execute("CHECKPOINT")
            finally:
                if self._own:
                    self._con.execute(f"SET threads = {THREADS}")

    def close(self) -> None:
        """Close the database; remove the files `connect` created if `open` never ran."""
        if self._con is not None:
            self._con.close()
            self._con = None
        if not self._opened:
            for made in self._made:
                with contextlib.suppress(OSError):
                    made.unlink()
        self._made = []


def _attach(path: str, config: dict[str, Any]) -> Any:
    """A DuckDB instance of its own with `path` attached (row groups of `ROW_GROUP_SIZE`) as
    the default database."""
    con = duckdb.connect(":memory:", config=config)
    try:
        literal = "'" + path.replace("'", "''") + "'"
        con.execute(f"ATTACH {literal} AS {_ALIAS} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
        con.execute(f"USE {_ALIAS}")
    except BaseException:
        con.close()
        raise
    return con
