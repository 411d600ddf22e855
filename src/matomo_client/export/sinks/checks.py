"""What a target path must not be, checked before a sink is made for it (`open_target`)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["target_problem"]

# The folders of a directory target that hold its tables' parts (`out/visits/site=1/...`).
_TABLE_FOLDERS = ("visits", "actions", "reports")
_JOURNAL = "_matomo_export.jsonl"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def target_problem(target: str) -> str | None:
    """Why the path `target` cannot be an export's target, or None: it lies among another
    export's own files, or it is a database file of another kind than its extension names."""
    return _inside_an_export(target) or _other_database(target)


def _inside_an_export(target: str) -> str | None:
    """Why `target` lies among another export's own files, or None. An export in a directory
    target's table folder (`out/visits`) or in a file target's parts (`x.parquet.parts`) had its
    Parquet files read back as that export's rows: `x.visits.parquet` came out with duplicates."""
    path = Path(os.path.abspath(target))
    for folder in (path, *path.parents):
        export = None
        if folder.name.endswith(".parts"):  # x.parquet.parts beside x.parquet._matomo_export...
            if folder.with_name(folder.name.removesuffix(".parts") + "." + _JOURNAL).is_file():
                export = folder.with_name(folder.name.removesuffix(".parts"))
        elif folder.name in _TABLE_FOLDERS and (folder.parent / _JOURNAL).is_file():
            export = folder.parent
        if export is not None:
            return (
                f"{target} lies inside the files of the export {export}: its files would be "
                "mixed with that export's; choose a target outside it"
            )
    return None


def _other_database(target: str) -> str | None:
    """Why an existing database file is not of the kind its extension names, or None. DuckDB
    opened a SQLite file named .duckdb by downloading its SQLite extension from the internet."""
    low = target.lower()
    duck = low.endswith(".duckdb")
    if not (duck or low.endswith((".sqlite", ".sqlite3", ".db"))) or not os.path.isfile(target):
        return None
    try:
        with open(target, "rb") as file:
            head = file.read(16)
    except OSError:
        return None  # the sink names what stops it from opening the file
    if duck and head.startswith(_SQLITE_MAGIC):
        return f"{target} is a SQLite database, not a DuckDB one: name a .sqlite target for it"
    if not duck and head[8:12] == b"DUCK":
        return f"{target} is a DuckDB database, not a SQLite one: name a .duckdb target for it"
    return None
