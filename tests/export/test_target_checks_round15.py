"""`open_target` refuses paths inside another export's files and databases of another kind,
for library users as for the command (which checks the same before any request)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from matomo_client.export import ExportUsageError, open_target


def _journal(path: Path) -> None:
    path.write_text('{"line": "job"}\n')


def test_a_target_inside_a_file_targets_parts_is_refused(tmp_path: Path) -> None:
    """`x.parquet.parts` (and anything under it) belongs to the export `x.parquet`."""
    _journal(tmp_path / "x.parquet._matomo_export.jsonl")
    (tmp_path / "x.parquet.parts").mkdir()
    for inside in ("x.parquet.parts", "x.parquet.parts/deeper/", "x.parquet.parts/y.jsonl"):
        with pytest.raises(ExportUsageError, match="inside the files of the export"):
            open_target(str(tmp_path / inside))
    open_target(str(tmp_path / "x.parquet"))  # the export itself, run again
    open_target(str(tmp_path / "other.parquet"))  # and a target beside it


def test_a_target_inside_a_directory_targets_table_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "visits").mkdir(parents=True)
    _journal(out / "_matomo_export.jsonl")
    with pytest.raises(ExportUsageError, match=r"inside the files of the export .*out\b"):
        open_target(str(out / "visits"))
    open_target(str(out) + "/")


def test_a_sqlite_file_named_duckdb_is_refused_untouched(tmp_path: Path) -> None:
    """DuckDB tried to download its SQLite extension to open it."""
    path = tmp_path / "fake.duckdb"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (a)")
    before = path.read_bytes()
    with pytest.raises(ExportUsageError, match="is a SQLite database, not a DuckDB one"):
        open_target(str(path))
    assert path.read_bytes() == before


def test_a_duckdb_file_named_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.sqlite"
    duckdb.connect(str(path)).close()
    with pytest.raises(ExportUsageError, match="is a DuckDB database, not a SQLite one"):
        open_target(str(path))


def test_the_duckdb_sink_never_installs_or_loads_extensions(tmp_path: Path) -> None:
    """Nothing is fetched from the internet, whatever the file holds."""
    sink = open_target(str(tmp_path / "x.duckdb"))
    sink.open()
    try:
        settings = sink._con.execute(
            "SELECT current_setting('autoinstall_known_extensions'), "
            "current_setting('autoload_known_extensions')"
        ).fetchone()
    finally:
        sink.close()
    assert settings == (False, False)


@pytest.mark.parametrize("spec", ["last٣", "previous３", "last1_0"])
def test_last_n_takes_ascii_digits_only(spec: str) -> None:
    """`last٣` (an Arabic-Indic 3) was read as last3 by the library's date keywords."""
    from datetime import date

    from matomo_client.export import resolve_day

    with pytest.raises(ValueError, match="invalid date"):
        resolve_day(spec, date(2024, 5, 1))
