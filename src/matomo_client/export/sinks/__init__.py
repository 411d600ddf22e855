"""Export targets ("sinks"), chosen from the target's extension or URL by `open_target`.

| target                          | sink                                              |
|---------------------------------|---------------------------------------------------|
| `*.duckdb` (default)            | DuckDB database                                   |
| `*.sqlite`, `*.sqlite3`, `*.db` | SQLite database                                   |
| `postgresql://...`              | PostgreSQL (psycopg 3)                            |
| `*.parquet`                     | `x.visits.parquet`, `x.actions.parquet`, ...      |
| a directory (`out/`)            | hive-partitioned Parquet `out/visits/site=/date=` |
| `*.jsonl`, `.jsonl.gz`, `.zst`  | `x.visits.jsonl[.gz]`, ...                        |
| `*.csv`, `.csv.gz`, `.csv.zst`  | `x.visits.csv[.gz]`, ...                          |
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..._lazy import lazy_getattr
from ..errors import ExportUsageError

if TYPE_CHECKING:
    from .base import Sink
    from .duckdb import DuckDBSink
    from .files import FileSink
    from .postgres import PostgresSink
    from .sqlite import SQLiteSink

# Each sink loads only when its kind of target is used: DuckDB (and pyarrow with it), the
# file formats (gzip, csv, ...), SQLite. The CLI starts faster, and a worker process, which
# only needs `sinks.arrow` or `sinks.files`, does not import the other targets (nor, for
# Arrow, the sinks' base class and the export state it brings).
_LAZY = {
    "Sink": ".base",
    "DuckDBSink": ".duckdb",
    "FileSink": ".files",
    "PostgresSink": ".postgres",
    "SQLiteSink": ".sqlite",
}

__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = [
    "DEFAULT_TARGET",
    "DuckDBSink",
    "FileSink",
    "PostgresSink",
    "SQLiteSink",
    "Sink",
    "open_target",
    "table_files",
]

DEFAULT_TARGET = "matomo-export.duckdb"


_KINDS = (
    "use .duckdb, .sqlite, .parquet, a directory, .jsonl[.gz|.zst], .csv[.gz|.zst] or postgresql://"
)


def open_target(target: str | os.PathLike[str] | None = None) -> Sink:
    """The sink for a target path or URL (not opened yet: use it as a context manager)."""
    t = os.fspath(target) if target is not None else DEFAULT_TARGET
    low = t.lower()
    if low.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresSink

        return PostgresSink(t)
    if "://" in low:
        raise ExportUsageError(f"unsupported target URL scheme in {t.split('://')[0]!r}")
    from .checks import target_problem

    problem = target_problem(t)
    if problem:
        raise ExportUsageError(problem)
    if low.endswith(".duckdb"):
        from .duckdb import DuckDBSink

        return DuckDBSink(t)
    if low.endswith((".sqlite", ".sqlite3", ".db")):
        from .sqlite import SQLiteSink

        return SQLiteSink(t)
    from .files import FileSink

    for fmt in ("jsonl", "csv"):
        for comp in (None, "gz", "zst"):
            if low.endswith(f".{fmt}" + (f".{comp}" if comp else "")):
                return FileSink(t, fmt, comp)
    if low.endswith(".parquet") and not os.path.isdir(t):
        return FileSink(t, "parquet")
    if t.endswith(("/", os.sep)) or os.path.isdir(t) or not os.path.splitext(t)[1]:
        folder = t.rstrip("/" + os.sep)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise ExportUsageError(  # not "cannot open plainfile/: File exists"
                f"{folder!r} is an existing file of no known target kind (a name without an "
                f"extension is a directory of hive Parquet files): {_KINDS}"
            )
        return FileSink(folder + os.sep, "parquet")
    raise ExportUsageError(f"cannot tell the target kind of {t!r}: {_KINDS}")


def table_files(target: str, kind: str) -> list[str]:
    """The files a file target's export of `kind` writes its tables to (`x.visits.jsonl.gz`, not
    the `x.jsonl.gz` given), a directory target's table folders; none for a database."""
    if "://" in target:
        return []
    sink = open_target(target)
    from .files import FileSink

    if not isinstance(sink, FileSink):
        return []
    return [str(p) + (os.sep if sink.partitioned else "") for p in sink.table_paths(kind)]
