"""The part files of a file target (see `files.py`): writing one, putting it in place, deleting
a folder of them, and building a table's final file from them.

A part is written to a hidden temp file (`temp_path`) and renamed into place (`move`). A final
file is the concatenation of its parts (gzip members and zstd frames concatenate validly; a CSV
part has no header), or for Parquet their rows in row groups of about `_ROW_GROUP` rows, so
building one streams and memory stays flat.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

from ..errors import TargetError
from ..schema import Batch, Table
from .text import csv_bytes, jsonl_chunks

__all__ = [
    "append_file",
    "build_file",
    "first_record_fields",
    "move",
    "open_write_into",
    "remove_tree",
    "rows_of_day",
    "temp_path",
    "why",
    "write_part",
]

_ROW_GROUP = 64 * 1024  # rows per row group of a final Parquet file

# The errors for a part that cannot be read (damaged, or not of the target's format), and for
# one an earlier version wrote with other columns (`FileSink._unreadable`, `_other_columns`).
Unreadable = Callable[[Path, Exception], TargetError]
OtherColumns = Callable[[Table, Path, "int | None"], TargetError]


def temp_path(path: Path) -> Path:
    """Where a part is written before it is renamed into place. Hidden (a leading dot): pyarrow,
    pandas and Spark skip such files in a directory target, so a part being written, or one a
    crash left behind, is never read as data (a `part.parquet.tmp` failed the whole read, or
    doubled the window's rows when complete)."""
    return path.with_name(f".{path.name}.tmp")


def move(tmp: Path | None, path: Path) -> None:
    """Put a part written to `tmp` in place at `path` (atomic), or delete `path` if `tmp` is
    None (the window has no rows of that table now)."""
    if tmp is None:
        path.unlink(missing_ok=True)
    else:
        os.replace(tmp, path)


def remove_tree(root: Path) -> None:
    """Delete a folder of parts, or fail: a part left behind (on Windows, one open in another
    program) would be built into the final file, or read from the target's directory."""
    if not root.exists():
        return
    failed: list[OSError] = []

    def note(_function: Any, path: str, error: Any) -> None:
        # The callback names the file it could not delete; the error rmtree raises named its
        # folder instead on Python 3.13. `error`: the exception (onexc), or its exc_info.
        e = error if isinstance(error, BaseException) else error[1]
        if not isinstance(e, OSError):
            raise e
        failed.append(OSError(e.errno, e.strerror, path))

    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(root, onexc=note)
        else:
            shutil.rmtree(root, onerror=note)
    except OSError as e:
        failed.append(e)
    if failed:
        raise TargetError(f"cannot delete the old parts in {root}: {why(failed[0])}") from failed[0]


def why(e: OSError) -> str:
    """An OS error's reason and the file it is about: Windows' `Access is denied` names none,
    and most often means another program (Excel, a reader) has the file open."""
    name = e.filename2 if e.filename2 is not None else e.filename
    text = e.strerror or str(e)
    if name is not None:
        text = f"{os.fsdecode(name) if isinstance(name, bytes) else name}: {text}"
    if getattr(e, "winerror", None) in (5, 32):  # access denied; sharing violation
        text += " (is it open in another program?)"
    return text


def rows_of_day(batch: Batch, day: date) -> Batch:
    """The rows of `batch` dated `day` (a part holds one window's rows)."""
    dates = batch.columns["date"]
    idx = [i for i, d in enumerate(dates) if d == day]
    return Batch(batch.table, {k: [v[i] for i in idx] for k, v in batch.columns.items()})


@contextlib.contextmanager
def open_write_into(out: IO[bytes], compression: str | None) -> Iterator[Any]:
    """A compressed member/frame written into an already open file."""
    if compression == "gz":
        # No file name in the member's header: it would be the temporary file's (a part's
        # `date=2024-01-01.jsonl.gz.tmp`), which `gunzip -N` and 7-Zip name the output after.
        with gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=6) as g:
            yield g
    elif compression == "zst":
        import zstandard

        w: Any = zstandard.ZstdCompressor(level=3).stream_writer(out, closefd=False)
        try:
            yield w
        finally:
            w.close()
    else:
        yield out


def write_part(
    batch: Batch, path: Path, fmt: str, compression: str | None, partitioned: bool
) -> None:
    """Write `batch` to the part file `path` in the target's format."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        from .arrow import to_arrow

        # A directory target's parts are the output; a file target's are read once more
        # when the final file is built: snappy there, which costs a third less than zstd.
        pq.write_table(to_arrow(batch), path, compression="zstd" if partitioned else "snappy")
        return
    with open(path, "wb") as raw, open_write_into(raw, compression) as f:
        if fmt == "jsonl":
            for chunk in jsonl_chunks(batch):
                f.write(chunk)
        else:
            f.write(csv_bytes(batch, header=False))


def build_file(
    table: Table,
    parts: list[Path],
    tmp: Path,
    fmt: str,
    compression: str | None,
    errors: tuple[Unreadable, OtherColumns],
) -> None:
    """Write `table`'s single file from its parts to `tmp`, raising `errors` for a bad part."""
    unreadable, other_columns = errors
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .arrow import arrow_schema

        schema = arrow_schema(table)
        with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
            # Parts are gathered into row groups of about _ROW_GROUP rows: a row group per
            # window made the final file slow to write and to read when windows are small.
            group: list[Any] = []
            rows = 0
            for part in parts:  # ParquetFile: no hive-partition columns from the path
                try:
                    t = pq.ParquetFile(part).read()
                except pa.ArrowException as e:  # not Parquet, or cut short
                    raise unreadable(part, e) from e
                if t.column_names != schema.names:
                    raise other_columns(table, part, len(t.column_names))
                try:
                    t = t.cast(schema)
                except pa.ArrowException:  # the same names, a type it cannot convert
                    raise other_columns(table, part, None) from None
                group.append(t)
                rows += t.num_rows
                if rows >= _ROW_GROUP:
                    w.write_table(pa.concat_tables(group), row_group_size=_ROW_GROUP)
                    group, rows = [], 0
            if group:
                w.write_table(pa.concat_tables(group), row_group_size=_ROW_GROUP)
        return
    with open(tmp, "wb") as out:
        # CSV: the header. JSONL without parts: one empty gzip member (zstd frame), as
        # a 0-byte file is not gzip or zstd (zcat and DuckDB refuse an empty table).
        if fmt == "csv" or not parts:
            with open_write_into(out, compression) as f:
                if fmt == "csv":
                    f.write(csv_bytes(Batch.empty(table), header=True))
        for part in parts:
            if fmt == "csv":  # headerless: another column count shifts its rows
                fields = _csv_fields(part, compression, unreadable)
                if fields is not None and fields != len(table.columns):
                    raise other_columns(table, part, fields)
            append_file(part, out)


def _csv_fields(part: Path, compression: str | None, unreadable: Unreadable) -> int | None:
    """The number of fields in a CSV part's first record (None if it has none)."""
    with open(part, "rb") as raw:
        f: Any = raw
        if compression == "gz":
            f = gzip.GzipFile(fileobj=raw, mode="rb")
        elif compression == "zst":
            import zstandard

            f = zstandard.ZstdDecompressor().stream_reader(raw)
        try:
            return first_record_fields(f)
        except Exception as e:  # gzip's OSError/EOFError/zlib.error, zstandard's ZstdError
            raise unreadable(part, e) from e


_CSV_SPECIAL = re.compile(rb'[",\n]')


def first_record_fields(f: IO[bytes]) -> int | None:
    """The number of fields in the first record of RFC 4180 CSV read from `f` (None when it is
    empty), read a few KB at a time up to its end (a quoted text may hold commas and newlines)."""
    fields, quoted, seen = 1, False, False
    while chunk := f.read(1 << 12):
        seen, pos = True, 0
        while pos < len(chunk):
            if quoted:  # a doubled quote closes and reopens: the same as staying quoted
                end = chunk.find(b'"', pos)
                if end < 0:
                    break
                quoted, pos = False, end + 1
                continue
            m = _CSV_SPECIAL.search(chunk, pos)
            if m is None:
                break
            pos = m.end()
            if m[0] == b'"':
                quoted = True
            elif m[0] == b",":
                fields += 1
            else:
                return fields
    return fields if seen else None


def append_file(path: Path, out: IO[bytes]) -> None:
    """Append the file at `path` to `out`; in the kernel (no copy through Python) when it can."""
    out.flush()
    with open(path, "rb") as src:
        left = os.fstat(src.fileno()).st_size
        try:
            while left > 0:
                n = os.copy_file_range(src.fileno(), out.fileno(), left)
                if n <= 0:
                    break
                left -= n
        except (AttributeError, OSError):  # not Linux, or a filesystem that cannot
            pass
        # What the kernel did not copy follows from where it stopped (both offsets moved).
        shutil.copyfileobj(src, out, 1 << 20)
