"""File targets as the tools users load them with read them: pyarrow, DuckDB, gzip, zstd."""

from __future__ import annotations

import gzip
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import zstandard
from export_fakeworld import FakeMatomo

from matomo_client.export import ExportSummary, TargetError, export_visits
from matomo_client.export.schema import ACTIONS, VISITS

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
START = TODAY - timedelta(days=3)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


async def _export(target: Path | str, sites: list[int] | str = "all") -> ExportSummary:
    world = FakeMatomo(today=TODAY, days=5, per_day=5)
    async with world.client() as m:
        return await export_visits(
            m, sites=sites, start=START, end="yesterday", target=str(target), page_size=4,
            now=NOW, workers=0,
        )  # fmt: skip


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize(
    ("name", "tables"),
    [
        ("X.CSV", ["X.visits.csv", "X.actions.csv"]),
        ("Y.JSONL.GZ", ["Y.visits.jsonl.gz", "Y.actions.jsonl.gz"]),
        ("Z.Parquet", ["Z.visits.parquet", "Z.actions.parquet"]),
    ],
)
async def test_an_upper_case_extension_names_the_tables_as_a_lower_case_one(
    tmp_path: Path, name: str, tables: list[str]
) -> None:
    """`--out X.CSV` writes `X.visits.csv`, as `--out x.csv` writes `x.visits.csv` (it wrote
    `X.CSV.visits.csv`)."""
    await _export(tmp_path / name)
    written = _names(tmp_path)
    assert set(tables) <= written
    assert not [n for n in written if n.startswith(f"{name}.") and "_matomo_export" not in n]


async def test_a_part_a_failed_write_left_is_not_read_from_a_directory_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part written but not renamed into place (a crash, a full disk) is hidden: pyarrow and
    pandas read every file of the folder, and `part.parquet.tmp` doubled a window's rows (or,
    cut short, failed the whole read) until the next run."""
    out = tmp_path / "out"
    real_replace = os.replace
    calls = []

    def replace(src: str | Path, dst: str | Path) -> None:
        calls.append(dst)
        if len(calls) == 3:  # the first windows are in place; this one fails
            raise OSError(28, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)  # the sink's os.replace
    with pytest.raises(TargetError):
        await _export(out)
    monkeypatch.setattr(os, "replace", real_replace)

    for table in ("visits", "actions"):
        read = ds.dataset(out / table, partitioning="hive")
        assert all(f.endswith("/part.parquet") for f in read.files), read.files
    first = _ids(out)
    assert len(first) == len(set(first))

    await _export(out)  # the next run removes what the failed write left, and completes
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    ids = _ids(out)
    assert sorted(ids) == sorted(set(ids)) == _owned()


def _ids(out: Path) -> list[tuple[int, int]]:
    rows = pq.read_table(out / "visits", columns=["id_site", "id_visit"]).to_pylist()
    return [(r["id_site"], r["id_visit"]) for r in rows]


def _owned() -> list[tuple[int, int]]:
    world = FakeMatomo(today=TODAY, days=5, per_day=5)
    days = [START + timedelta(days=i) for i in range(3)]
    return sorted((s, v["idVisit"]) for s in (1, 2) for d in days for v in world.owned(s, d))


async def test_a_directory_table_without_rows_still_reads(tmp_path: Path) -> None:
    """An export of days without visits (site 3 has none) leaves each table a Parquet file
    with its schema: a folder without one made pyarrow, pandas, DuckDB and Polars fail."""
    out = tmp_path / "out"
    await _export(out, sites=[3])
    for table in (VISITS, ACTIONS):
        read = pq.read_table(out / table.name)
        assert read.num_rows == 0
        assert set(table.column_names) <= set(read.column_names)
        glob = f"{out}/{table.name}/**/*.parquet"
        sql = f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true)"
        assert duckdb.execute(sql).fetchall() == [(0,)]
    await _export(out, sites=[3])  # the run after keeps it, nothing to fetch
    assert pq.read_table(out / "visits").num_rows == 0


@pytest.mark.parametrize("name", ["x.jsonl.gz", "x.jsonl.zst"])
async def test_an_empty_compressed_jsonl_table_is_a_valid_compressed_file(
    tmp_path: Path, name: str
) -> None:
    """A table without rows (site 3's visits, the reports of a visits export) is one empty gzip
    member or zstd frame: a 0-byte file is neither, and zcat, `gzip -t` and DuckDB refused it."""
    await _export(tmp_path / name, sites=[3])
    for table in ("visits", "actions", "reports"):
        path = tmp_path / name.replace("x.", f"x.{table}.")
        data = path.read_bytes()
        if name.endswith(".gz"):
            assert gzip.decompress(data) == b""
        else:
            reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
            assert data
            assert reader.read() == b""
        sql = f"SELECT count(*) FROM read_json_auto('{path}')"
        assert duckdb.execute(sql).fetchall() == [(0,)]


@pytest.mark.parametrize("name", ["x.jsonl.gz", "x.csv.gz"])
async def test_gzip_members_carry_no_temporary_file_name(tmp_path: Path, name: str) -> None:
    """The gzip header names no file: it named the temporary file the member was written to
    (`date=2024-03-28.jsonl.gz.tmp`), which `gunzip -N` and 7-Zip give to what they extract."""
    await _export(tmp_path / name)
    data = (tmp_path / name.replace("x.", "x.visits.")).read_bytes()
    flags = data[3]
    assert not flags & 0x08, data[10:60]  # FNAME
    assert gzip.decompress(data).count(b"\n") > 1
