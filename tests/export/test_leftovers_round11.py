"""Round 10's leftovers in the export: a target under a file, parts written with other columns,
where a file target's tables are, and report specs recorded as the same options."""

from __future__ import annotations

import csv
import gzip
import io
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zstandard
from export_fakeworld import FakeMatomo

from matomo_client.export import ExportSummary, TargetError, export_reports, export_visits
from matomo_client.export.sinks import open_target, table_files
from matomo_client.export.sinks.parts import first_record_fields

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
START = TODAY - timedelta(days=3)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: both are covered by the engine tests."""
    return "asyncio"


async def _export(target: Path | str, restart: bool = False) -> ExportSummary:
    world = FakeMatomo(today=TODAY, days=5, per_day=5)
    async with world.client() as m:
        return await export_visits(
            m, sites=[1], start=START, end="yesterday", target=str(target), page_size=4,
            now=NOW, workers=0, restart=restart,
        )  # fmt: skip


def _temporary_files(folder: Path) -> list[Path]:
    return list(folder.glob("*.tmp"))


def _all_exist(paths: list[str]) -> bool:
    return all(Path(p).exists() for p in paths)


# --- 1. a target whose folder is a file ------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["x.duckdb", "x.sqlite", "sub/x.duckdb", "sub/x.sqlite", "x.parquet", "x.csv.gz", "d/"]
)
def test_a_target_under_a_regular_file_says_it_is_a_file(tmp_path: Path, name: str) -> None:
    """`--out plain.parquet/x.duckdb` said `[Errno 17] File exists: 'plain.parquet'` (SQLite
    and DuckDB), `... x.parquet.parts: Not a directory` (files): neither says which is a file."""
    plain = tmp_path / "plain.parquet"
    plain.write_bytes(b"not a folder")
    target = f"{plain}/{name}"
    with pytest.raises(TargetError) as info, open_target(target):
        pass
    assert str(info.value) == f"cannot open {target}: {plain} is a file, not a folder"
    assert plain.read_bytes() == b"not a folder"


# --- 2. parts written with other columns -----------------------------------------------------
def _drop_last_column(part: Path, compression: str | None) -> None:
    """Rewrite a part as a version with one column fewer would have written it."""
    if part.suffix == ".parquet":
        t = pq.ParquetFile(part).read()  # read_table adds the hive folder's `site` (pyarrow 17)
        pq.write_table(t.drop_columns([t.column_names[-1]]), part)
        return
    raw = part.read_bytes()
    text = (
        gzip.decompress(raw)
        if compression == "gz"
        else zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
        if compression == "zst"
        else raw
    ).decode()
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    for row in csv.reader(io.StringIO(text, newline="")):
        w.writerow(row[:-1])
    data = out.getvalue().encode()
    if compression == "gz":
        data = gzip.compress(data)
    elif compression == "zst":
        data = zstandard.ZstdCompressor().compress(data)
    part.write_bytes(data)


@pytest.mark.parametrize(
    ("name", "compression"),
    [("x.parquet", None), ("x.csv", None), ("x.csv.gz", "gz"), ("x.csv.zst", "zst")],
)
async def test_a_part_with_other_columns_is_refused_with_restart_as_the_way_out(
    tmp_path: Path, name: str, compression: str | None
) -> None:
    """A part an earlier version wrote with other columns: Parquet's compaction failed with
    pyarrow's error ("internal error" in the CLI), and CSV's appended its rows shifted under the
    new header. Now a TargetError names the part and --restart; the tables stay as they were."""
    target = tmp_path / name
    await _export(target)
    final = tmp_path / table_files(str(target), "visits")[0]
    before = final.read_bytes()
    part = sorted((tmp_path / f"{name}.parts" / "visits").rglob("date=*"))[0]
    _drop_last_column(part, compression)
    with pytest.raises(TargetError) as info:
        await _export(target)
    message = str(info.value)
    assert str(part) in message
    assert "other columns" in message
    assert "--restart" in message
    assert final.read_bytes() == before  # not rebuilt, and no temporary file left beside it
    assert not _temporary_files(tmp_path)
    await _export(target, restart=True)
    if compression is None and name.endswith(".csv"):
        rows = list(csv.reader(final.open(newline="")))
        assert len({len(r) for r in rows}) == 1


async def test_a_part_of_the_other_export_names_that_export_s_command(tmp_path: Path) -> None:
    """--restart resets only this run's export: a reports part of other columns, met while a
    visits export builds the files, points to the reports export's command."""
    target = tmp_path / "x.csv"
    world = FakeMatomo(today=TODAY, days=5, per_day=5)
    async with world.client() as m:
        await export_reports(
            m, sites=[1], start=START, end="yesterday", target=str(target), now=NOW,
            reports=["VisitsSummary.get"],
        )  # fmt: skip
    part = sorted((tmp_path / "x.csv.parts" / "reports").rglob("date=*"))[0]
    _drop_last_column(part, None)
    with pytest.raises(
        TargetError, match=r"`matomo export reports --period day` again with --restart"
    ):
        await _export(target)


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (b"", None),
        (b"1,2,3\n4\n", 3),
        (b'"a,b","c\nd",,"e""f,"\n1\n', 4),
        (b'"a\x00b",""\n', 2),
        (b"1,2", 2),  # no newline at its end
        (b'"' + b"x," * 10_000 + b'",2\n', 2),  # a quoted text longer than a read
        (b'"' + b'""' * 5_000 + b'",2,3\n', 3),  # doubled quotes across reads
    ],
)
def test_the_first_record_s_fields_are_counted_as_csv_reads_them(
    text: bytes, fields: int | None
) -> None:
    """Commas and newlines in a quoted text are not separators; `""` is a quote in a text."""
    assert first_record_fields(io.BytesIO(text)) == fields
    # Python 3.10's csv module refuses NUL (3.11 reads it): no cross-check there
    if fields is not None and (sys.version_info >= (3, 11) or b"\x00" not in text):
        assert len(next(csv.reader(io.StringIO(text.decode(), newline="")))) == fields


@pytest.mark.parametrize("name", ["x.csv.gz", "x.csv.zst", "x.parquet"])
async def test_a_damaged_part_names_the_part(tmp_path: Path, name: str) -> None:
    """A part that is not gzip, zstd or Parquet: the error names it and what to do (gzip's
    OSError named neither; pyarrow's was an "internal error")."""
    target = tmp_path / name
    await _export(target)
    part = sorted((tmp_path / f"{name}.parts" / "visits").rglob("date=*"))[0]
    part.write_bytes(b"garbage")
    with pytest.raises(TargetError, match=r"cannot read its part .*date=.*delete that part"):
        await _export(target)
    part.unlink()
    await _export(target)  # its window is fetched again


# --- 3. where a file target's tables are -----------------------------------------------------
@pytest.mark.parametrize(
    ("target", "kind", "files"),
    [
        ("x.jsonl.gz", "visits", ["x.visits.jsonl.gz", "x.actions.jsonl.gz"]),
        ("d/X.CSV", "reports:week", ["d/X.reports.csv"]),
        ("x.parquet", "visits", ["x.visits.parquet", "x.actions.parquet"]),
        ("out/", "visits", ["out/visits/", "out/actions/"]),
        ("x.duckdb", "visits", []),
        ("x.sqlite", "visits", []),
        ("postgresql://u:secret@db/x", "visits", []),
    ],
)
def test_table_files_are_the_files_an_export_writes(
    target: str, kind: str, files: list[str]
) -> None:
    """`--out x.jsonl.gz` writes no `x.jsonl.gz`: the summary names the files written."""
    assert table_files(target, kind) == files


async def test_table_files_exist_after_an_export(tmp_path: Path) -> None:
    """The names are the files (folders) the export wrote."""
    for name in ("x.jsonl.zst", "out/"):
        summary = await _export(tmp_path / name)
        found = table_files(summary.target, summary.kind)
        assert found
        assert _all_exist(found)


# --- 5. report specs recorded as the same options --------------------------------------------
async def test_report_specs_written_otherwise_are_the_same_options(tmp_path: Path) -> None:
    """A first run with `VisitsSummary.get?` and a second with `VisitsSummary.get` ask for the
    same rows: the second was refused as "made with other options". So are parameters given in
    another order; other parameter values are still other options."""
    world = FakeMatomo(today=TODAY, days=5, per_day=5)

    async def run(target: Path, report: str) -> ExportSummary:
        async with world.client() as m:
            return await export_reports(
                m, sites=[1], start=START, end="yesterday", target=str(target), now=NOW,
                reports=[report],
            )  # fmt: skip

    await run(tmp_path / "a.duckdb", "VisitsSummary.get?")
    await run(tmp_path / "a.duckdb", "VisitsSummary.get")
    await run(tmp_path / "b.duckdb", "VisitsSummary.get?b=1&a=2")
    await run(tmp_path / "b.duckdb", "VisitsSummary.get?a=2&b=1&")
    with pytest.raises(Exception, match="other options"):
        await run(tmp_path / "b.duckdb", "VisitsSummary.get?a=3&b=1")
