"""File targets: JSONL (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`), CSV (`.csv`, `.csv.gz`, ...), Parquet.

Layout, for a target `out/x.jsonl.gz`:

* `out/x.visits.jsonl.gz`, `out/x.actions.jsonl.gz`, `out/x.reports.jsonl.gz`: the tables, one
  file each, rebuilt at the end of every successful run;
* `out/x.jsonl.gz.parts/<table>/site=<id>/date=<day>.jsonl.gz`: one part per window, the
  working copy; re-running replaces a window's part (temp file + `os.replace`): atomic;
* `out/x.jsonl.gz._matomo_export.jsonl`: the state journal (one JSON line per job header or window;
  the last line for a window wins; a line cut by a crash is ignored and trimmed).

A part is in place before its journal line is written, so after `kill -9` a window is either
recorded with its part or not recorded at all; parts without a record are deleted on open.
A window written again (today's, or a day fetched again for late visits) has parts in place: its
new parts are written to temp files first, then a `replace` line naming them is journalled, then
they are renamed into place and the window journalled. A crash among the renames would leave new
visits beside old actions: `open` finishes the renames of a `replace` line whose windows were not
journalled after it, so a window's parts change together.
A window recorded with rows whose part is gone (someone deleted `x.jsonl.gz.parts`) is journalled
as open on open, so the run fetches it again; the final files are not rebuilt while a recorded
window's part is missing, so they never lose rows. The final files are concatenations of the
parts (gzip members and zstd frames concatenate validly), so building them streams and memory
stays flat.

A target without a journal is new: its opening refuses to replace files that already have the
names it would write (`x.visits.jsonl.gz`, or a directory target's parts).

A directory target (`out/` or an existing directory) is hive-partitioned Parquet instead:
`out/visits/site=1/date=2024-01-01/part.parquet`, `out/reports/site=1/day-2024-01-01.parquet`,
state in `out/_matomo_export.jsonl`, and no final files (the parts are the output). A report
part's period and date are in its file name, not in `period=`/`date=` folders: its rows hold
`period` and `date` columns, and a folder key of the same name makes pyarrow, pandas and Spark
refuse to read the directory.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any

import orjson

from ..errors import TargetError
from ..schema import REPORTS, Batch, Table
from ..state import DONE, OPEN, ExportState, JobInfo, WindowRecord, utcnow
from .base import Sink, hold_lock, make_folder, period_of, tables_for
from .text import csv_bytes, jsonl_bytes, jsonl_chunks

__all__ = ["FileSink", "jsonl_bytes"]

_PART_RE = re.compile(r"(?:period=(?P<period>[^/]+)/)?site=(?P<site>\d+)/date=(?P<day>[\d-]+)")
# A report part of a directory target: `site=<id>/<period>-<day>.parquet`.
_REPORT_FILE_RE = re.compile(r"site=(?P<site>\d+)/(?P<period>[a-z]+)-(?P<day>\d{4}-\d\d-\d\d)\.")

# Where a window's journal record counts the rows of each table: a count of 0 means the window
# needs no part for that table (an empty part is written only to give a directory target's
# table a schema, see `_write_empty_tables`); None (not counted) means it may.
_COUNT_FIELD = {"visits": "visits", "actions": "actions", "reports": "rows"}

# A part present on disk: (table, kind, id_site, day).
_PartKey = tuple[str, str, int, date]

_TABLES = tables_for("visits") + tables_for("reports")

_ROW_GROUP = 64 * 1024  # rows per row group of a final Parquet file


class FileSink(Sink):
    """Writes JSONL, CSV or Parquet files (see the module docstring for the layout)."""

    def __init__(self, path: str, fmt: str, compression: str | None = None) -> None:
        if fmt not in ("jsonl", "csv", "parquet"):
            raise ValueError(f"unknown file format {fmt!r}")
        self.target = path
        self.fmt = fmt
        self.compression = compression
        self._lock: IO[bytes] | None = None
        self.partitioned = fmt == "parquet" and (
            path.endswith(("/", os.sep)) or os.path.isdir(path)
        )
        self.ext = fmt + (f".{compression}" if compression else "")
        # JSONL parts take JSON lines, Parquet parts Arrow tables, CSV parts columns.
        self.encoding = {"jsonl": "jsonl", "parquet": "arrow"}.get(fmt, "batch")
        p = Path(path)
        if self.partitioned:
            self.parts_root = p
            self.journal_path = p / "_matomo_export.jsonl"
            self.base = p
        else:
            name = p.name
            # `X.CSV` is a CSV target (`open_target` reads extensions in any case): its tables
            # are `X.visits.csv`, not `X.CSV.visits.csv`.
            suffix = "." + self.ext
            stem = name[: -len(suffix)] if name.lower().endswith(suffix) else name
            self.base = p.with_name(stem)
            # Named after the whole target, so x.jsonl and x.csv in one folder stay apart.
            self.parts_root = p.with_name(name + ".parts")
            self.journal_path = p.with_name(name + "._matomo_export.jsonl")
        self._records: list[dict[str, Any]] = []
        self._kind: str | None = None  # the running export's kind, once its job has started

    # --- paths ----------------------------------------------------------------------------
    def _part_path(self, table: Table, kind: str, id_site: int, day: date) -> Path:
        d = self.parts_root / table.name
        if table is REPORTS and self.partitioned:
            return d / f"site={id_site}" / f"{period_of(kind)}-{day.isoformat()}.parquet"
        if table is REPORTS:
            d = d / f"period={period_of(kind)}"
        d = d / f"site={id_site}"
        if self.partitioned:
            return d / f"date={day.isoformat()}" / "part.parquet"
        return d / f"date={day.isoformat()}.{self.ext}"

    def final_path(self, table: Table) -> Path:
        """Where a table's single file is built (file targets only)."""
        return self.base.with_name(f"{self.base.name}.{table.name}.{self.ext}")

    def table_paths(self, kind: str) -> list[Path]:
        """Where the tables of `kind` are read: their files, or a directory target's folders."""
        if self.partitioned:
            return [self.parts_root / t.name for t in tables_for(kind)]
        return [self.final_path(t) for t in tables_for(kind)]

    def _all_parts(self, table: Table, suffix: str = "", prefix: str = "") -> list[Path]:
        root = self.parts_root / table.name
        if not root.is_dir():
            return []
        if self.partitioned:
            pattern = ("*.parquet" if table is REPORTS else "part.parquet") + suffix
        else:
            pattern = f"*.{self.ext}{suffix}"
        return sorted(p for p in root.rglob(prefix + pattern) if p.is_file())

    def _temp_parts(self, table: Table) -> set[Path]:
        """Parts being written, or left half written by a crash: `.<part>.tmp` (`<part>.tmp`
        from earlier versions)."""
        return {*self._all_parts(table, ".tmp"), *self._all_parts(table, ".tmp", prefix=".")}

    def _part_key(self, table: Table, part: Path) -> tuple[str, int, date] | None:
        relative = part.relative_to(self.parts_root / table.name).as_posix()
        pattern = _REPORT_FILE_RE if table is REPORTS and self.partitioned else _PART_RE
        m = pattern.search(relative)
        if m is None:
            return None
        kind = f"reports:{m['period']}" if table is REPORTS else "visits"
        return kind, int(m["site"]), date.fromisoformat(m["day"])

    # --- journal --------------------------------------------------------------------------
    def _load_journal(self) -> None:
        self._records = []
        if not self.journal_path.exists():
            return
        data = self.journal_path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut != len(data):  # a line cut short by a crash: drop it so appends stay parseable
            with open(self.journal_path, "r+b") as f:
                f.truncate(cut)
        for line in data[:cut].splitlines():
            if line.strip():
                self._records.append(orjson.loads(line))

    def _append(self, entries: Sequence[dict[str, Any]]) -> None:
        payload = b"".join(orjson.dumps(e) + b"\n" for e in entries)
        with open(self.journal_path, "ab") as f:
            f.write(payload)
            f.flush()
        self._records.extend(entries)

    def _rewrite_journal(self, entries: list[dict[str, Any]]) -> None:
        tmp = self.journal_path.with_name(self.journal_path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(b"".join(orjson.dumps(e) + b"\n" for e in entries))
        os.replace(tmp, self.journal_path)
        self._records = entries

    def _finish_replace(self) -> None:
        """Finish a `replace` a crash cut short (the journal's last line but for some of its
        windows): rename its temp files still there into place, journal its other windows."""
        i = len(self._records) - 1
        while i >= 0 and self._records[i].get("type") == "window":
            i -= 1
        if i < 0 or self._records[i].get("type") != "replace":
            return
        entry = self._records[i]
        after = {_window_key(e) for e in self._records[i + 1 :]}
        if not after <= {_window_key(w) for w in entry["windows"]}:
            return  # other windows were written after it: it was finished
        missing = [w for w in entry["windows"] if _window_key(w) not in after]
        if not missing:
            return
        for tmp, part in entry["parts"]:
            temp = None if tmp is None else self.parts_root / tmp
            if temp is None or temp.exists():  # else already renamed
                _move(temp, self.parts_root / part)
        self._append(missing)

    def _recorded(self) -> set[tuple[str, int, date]]:
        return {
            (e["kind"], int(e["id_site"]), date.fromisoformat(e["day"]))
            for e in self._records
            if e.get("type") == "window"
        }

    def _present(self, parts: dict[Table, list[Path]]) -> set[_PartKey]:
        return {
            (table.name, *key)
            for table, paths in parts.items()
            for path in paths
            if (key := self._part_key(table, path)) is not None
        }

    def _lost(self, present: set[_PartKey]) -> list[tuple[dict[str, Any], list[str]]]:
        """Each window's last record that counts rows in a table whose part is not in
        `present`, with those tables."""
        last = {
            (e["kind"], int(e["id_site"]), date.fromisoformat(e["day"])): e
            for e in self._records
            if e.get("type") == "window"
        }
        lost = []
        for key, e in last.items():
            missing = [
                t.name
                for t in tables_for(key[0])
                if e.get(_COUNT_FIELD[t.name]) != 0 and (t.name, *key) not in present
            ]
            if missing:
                lost.append((e, missing))
        return lost

    def _refuse_foreign_files(self) -> None:
        """A target without a journal holds no export of ours: refuse to overwrite (or, for a
        directory, delete as unrecorded parts) files that happen to have our names."""
        if self.partitioned:
            found = [p for t in _TABLES for p in self._all_parts(t)]
        else:
            found = [p for p in map(self.final_path, _TABLES) if p.exists()]
        if found:
            raise TargetError(
                f"{found[0]} already exists and is not from an export to {self.target} "
                f"(there is no {self.journal_path}): move it away or export to another target"
            )

    # --- Sink -----------------------------------------------------------------------------
    def open(self) -> None:
        """Refuse files not ours in a new target; create folders, load the journal, remove
        parts a crash left unrecorded, and journal windows whose parts are gone as open."""
        try:
            if not self.journal_path.exists():
                self._refuse_foreign_files()
            make_folder(self.parts_root, self.target)
            # Before anything is deleted: another export's unrecorded parts are its own.
            self._lock = self._lock or hold_lock(
                self.parts_root / "_matomo_export.lock", self.target
            )
            self.journal_path.touch(exist_ok=True)
            self._load_journal()
            self._finish_replace()
            recorded = self._recorded()
            for table in _TABLES:
                for tmp in self._temp_parts(table):
                    tmp.unlink(missing_ok=True)
            if not self.partitioned:
                for table in _TABLES:
                    leftover = self.final_path(table).with_name(
                        self.final_path(table).name + ".tmp"
                    )
                    leftover.unlink(missing_ok=True)
            parts: dict[Table, list[Path]] = {}
            for table in _TABLES:
                parts[table] = []
                for part in self._all_parts(table):
                    if self._part_key(table, part) in recorded:
                        parts[table].append(part)
                    else:
                        part.unlink()
            # Done means "its rows are in the parts": a window whose part was deleted is
            # fetched again (and until then the final files are not rebuilt, see `finish`).
            reopened = [
                {**e, "status": OPEN, "updated_at": utcnow().isoformat()}
                for e, _ in self._lost(self._present(parts))
                if e["status"] == DONE
            ]
            if reopened:
                self._append(reopened)
        except OSError as e:
            raise TargetError(f"cannot open {self.target}: {_why(e)}") from e

    def load_state(self, kind: str) -> ExportState:
        """The journal's view of `kind`: last header, last record per window."""
        state = ExportState(kind)
        for e in self._records:
            if e.get("kind") != kind:
                continue
            if e.get("type") == "job":
                state.job = JobInfo(kind, e["params"], e["fingerprint"])
            elif e.get("type") == "window":
                rec = WindowRecord.from_json(e)
                state.windows[(rec.id_site, rec.day)] = rec
        return state

    def start_job(self, job: JobInfo, restart: bool) -> None:
        """Record the header; with `restart`, delete the kind's parts and records first."""
        self._kind = job.kind
        header = {
            "type": "job",
            "kind": job.kind,
            "params": job.params,
            "fingerprint": job.fingerprint,
        }
        try:
            if restart:
                # Journal first: a crash before the parts are gone leaves them unrecorded (open()
                # deletes them), never a window recorded without its part.
                kept = [e for e in self._records if e.get("kind") != job.kind]
                self._rewrite_journal([*kept, header])
                for table in tables_for(job.kind):
                    root = self.parts_root / table.name
                    if table is REPORTS and self.partitioned:
                        for part in root.glob(f"site=*/{period_of(job.kind)}-*.parquet"):
                            part.unlink()
                        continue
                    if table is REPORTS:
                        root = root / f"period={period_of(job.kind)}"
                    _remove_tree(root)
            else:
                self._append([header])
        except OSError as e:
            raise TargetError(f"cannot write the export state of {self.target}: {_why(e)}") from e

    def write_window(
        self, kind: str, records: Sequence[WindowRecord], batches: Sequence[Batch]
    ) -> None:
        """Write each window's part files atomically, then journal the windows."""
        try:
            staged: list[tuple[Path | None, Path]] = []  # (temp file, part); None: no part now
            for batch in batches:
                for rec in records:
                    sub = batch if len(records) == 1 else _rows_of_day(batch, rec.day)
                    path = self._part_path(batch.table, kind, rec.id_site, rec.day)
                    if len(sub) == 0:
                        staged.append((None, path))
                        continue
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = _temp_path(path)
                    self._write_part(sub, tmp)
                    staged.append((tmp, path))
            windows = [{"type": "window", **r.to_json()} for r in records]
            # Parts of a window written before are replaced together (see the module doc).
            if len(staged) > 1 and any(path.exists() for _, path in staged):
                root = self.parts_root
                parts = [
                    [None if t is None else t.relative_to(root).as_posix(),
                     p.relative_to(root).as_posix()]
                    for t, p in staged
                ]  # fmt: skip
                self._append(
                    [{"type": "replace", "kind": kind, "parts": parts, "windows": windows}]
                )
            for temp, part in staged:
                _move(temp, part)
            self._append(windows)
        except OSError as e:
            raise TargetError(f"cannot write to {self.target}: {_why(e)}") from e

    def record_windows(self, records: Sequence[WindowRecord]) -> None:
        """Journal updated records (reconciliation)."""
        if records:
            try:
                self._append([{"type": "window", **r.to_json()} for r in records])
            except OSError as e:
                raise TargetError(
                    f"cannot write the export state of {self.target}: {_why(e)}"
                ) from e

    def finish(self) -> None:
        """Build each table's single file from its parts (file targets; a directory target
        gets an empty part for a table that has none); refuse, leaving the files as they are,
        while a window the journal counts rows of has lost its part."""
        try:
            if self.partitioned:
                self._write_empty_tables()
                return
            parts = {table: self._all_parts(table) for table in _TABLES}
            lost = self._lost(self._present(parts))
            if lost:
                raise TargetError(_lost_message(self.target, self.parts_root, lost, self._kind))
            for table in _TABLES:
                self._compact(table, parts[table])
        except OSError as e:
            raise TargetError(f"cannot write to {self.target}: {_why(e)}") from e

    def _write_empty_tables(self) -> None:
        """Give each table of the run's kind that has no part an empty one (with its schema), at
        the first window recorded: a folder without a Parquet file has no schema, and pyarrow,
        pandas, DuckDB and Polars refuse to read it (an export of days without visits)."""
        kind = self._kind
        windows = sorted(
            (int(e["id_site"]), e["day"])
            for e in self._records
            if e.get("type") == "window" and e.get("kind") == kind
        )
        if kind is None or not windows:
            return
        id_site, day = windows[0]
        for table in tables_for(kind):
            root = self.parts_root / table.name
            pattern = "*.parquet" if table is REPORTS else "part.parquet"
            if root.is_dir() and any(root.rglob(pattern)):  # stops at the first part
                continue
            path = self._part_path(table, kind, id_site, date.fromisoformat(day))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = _temp_path(path)
            self._write_part(Batch.empty(table), tmp)
            os.replace(tmp, path)

    def close(self) -> None:
        """Release the target's lock (nothing else stays open between calls)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # --- formats --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _open_write(self, path: Path) -> Iterator[Any]:
        with open(path, "wb") as raw, self._open_write_into(raw) as f:
            yield f

    def _write_part(self, batch: Batch, path: Path) -> None:
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            from .arrow import to_arrow

            # A directory target's parts are the output; a file target's are read once more
            # when the final file is built: snappy there, which costs a third less than zstd.
            compression = "zstd" if self.partitioned else "snappy"
            pq.write_table(to_arrow(batch), path, compression=compression)
            return
        with self._open_write(path) as f:
            if self.fmt == "jsonl":
                for chunk in jsonl_chunks(batch):
                    f.write(chunk)
            else:
                f.write(csv_bytes(batch, header=False))

    def _compact(self, table: Table, parts: list[Path]) -> None:
        final = self.final_path(table)
        tmp = final.with_name(final.name + ".tmp")
        try:
            self._build(table, parts, tmp)
        except TargetError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, final)

    def _build(self, table: Table, parts: list[Path], tmp: Path) -> None:
        """Write `table`'s single file from its parts to `tmp`."""
        if self.fmt == "parquet":
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
                        raise self._unreadable(part, e) from e
                    if t.column_names != schema.names:
                        raise self._other_columns(table, part, len(t.column_names))
                    try:
                        t = t.cast(schema)
                    except pa.ArrowException:  # the same names, a type it cannot convert
                        raise self._other_columns(table, part) from None
                    group.append(t)
                    rows += t.num_rows
                    if rows >= _ROW_GROUP:
                        w.write_table(pa.concat_tables(group), row_group_size=_ROW_GROUP)
                        group, rows = [], 0
                if group:
                    w.write_table(pa.concat_tables(group), row_group_size=_ROW_GROUP)
        else:
            with open(tmp, "wb") as out:
                # CSV: the header. JSONL without parts: one empty gzip member (zstd frame), as
                # a 0-byte file is not gzip or zstd (zcat and DuckDB refuse an empty table).
                if self.fmt == "csv" or not parts:
                    with self._open_write_into(out) as f:
                        if self.fmt == "csv":
                            f.write(csv_bytes(Batch.empty(table), header=True))
                for part in parts:
                    if self.fmt == "csv":  # headerless: another column count shifts its rows
                        fields = self._csv_fields(part)
                        if fields is not None and fields != len(table.columns):
                            raise self._other_columns(table, part, fields)
                    _append_file(part, out)

    def _csv_fields(self, part: Path) -> int | None:
        """The number of fields in a CSV part's first record (None if it has none)."""
        with open(part, "rb") as raw:
            f: Any = raw
            if self.compression == "gz":
                f = gzip.GzipFile(fileobj=raw, mode="rb")
            elif self.compression == "zst":
                import zstandard

                f = zstandard.ZstdDecompressor().stream_reader(raw)
            try:
                return _first_record_fields(f)
            except Exception as e:  # gzip's OSError/EOFError/zlib.error, zstandard's ZstdError
                raise self._unreadable(part, e) from e

    def _unreadable(self, part: Path, error: Exception) -> TargetError:
        """The error for a part that cannot be read (damaged, or not of the target's format)."""
        return TargetError(
            f"cannot build {self.target}'s files: cannot read its part {part} ({error}): "
            "delete that part, and the next run exports its window again"
        )

    def _other_columns(self, table: Table, part: Path, found: int | None = None) -> TargetError:
        """The error for a part an earlier version wrote with other columns than `table`'s."""
        key = self._part_key(table, part)
        kind = key[0] if key is not None else self._kind
        again = (
            "run the same command again with --restart"
            if kind is None or kind == self._kind
            else f"run {_command(kind)} again with --restart and its own options"
        )
        count = f" ({found}, not {len(table.columns)})" if found is not None else ""
        return TargetError(
            f"cannot build {self.final_path(table)}: its part {part} was written with other "
            f"columns{count}, by another version of matomo-client: {again}, which exports "
            "those windows again"
        )

    @contextlib.contextmanager
    def _open_write_into(self, out: IO[bytes]) -> Iterator[Any]:
        """A compressed member/frame written into an already open file."""
        if self.compression == "gz":
            # No file name in the member's header: it would be the temporary file's (a part's
            # `date=2024-01-01.jsonl.gz.tmp`), which `gunzip -N` and 7-Zip name the output after.
            with gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=6) as g:
                yield g
        elif self.compression == "zst":
            import zstandard

            w: Any = zstandard.ZstdCompressor(level=3).stream_writer(out, closefd=False)
            try:
                yield w
            finally:
                w.close()
        else:
            yield out


def _temp_path(path: Path) -> Path:
    """Where a part is written before it is renamed into place. Hidden (a leading dot): pyarrow,
    pandas and Spark skip such files in a directory target, so a part being written, or one a
    crash left behind, is never read as data (a `part.parquet.tmp` failed the whole read, or
    doubled the window's rows when complete)."""
    return path.with_name(f".{path.name}.tmp")


def _window_key(e: dict[str, Any]) -> tuple[Any, ...]:
    """A journal line's window: (kind, id_site, day)."""
    return (e.get("kind"), e.get("id_site"), e.get("day"))


def _move(tmp: Path | None, path: Path) -> None:
    """Put a part written to `tmp` in place at `path` (atomic), or delete `path` if `tmp` is
    None (the window has no rows of that table now)."""
    if tmp is None:
        path.unlink(missing_ok=True)
    else:
        os.replace(tmp, path)


def _remove_tree(root: Path) -> None:
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
        raise TargetError(f"cannot delete the old parts in {root}: {_why(failed[0])}") from failed[
            0
        ]


def _why(e: OSError) -> str:
    """An OS error's reason and the file it is about: Windows' `Access is denied` names none,
    and most often means another program (Excel, a reader) has the file open."""
    name = e.filename2 if e.filename2 is not None else e.filename
    text = e.strerror or str(e)
    if name is not None:
        text = f"{os.fsdecode(name) if isinstance(name, bytes) else name}: {text}"
    if getattr(e, "winerror", None) in (5, 32):  # access denied; sharing violation
        text += " (is it open in another program?)"
    return text


def _lost_message(
    target: str,
    parts_root: Path,
    lost: list[tuple[dict[str, Any], list[str]]],
    kind: str | None = None,
) -> str:
    other = [(e, tables) for e, tables in lost if kind is not None and e["kind"] != kind]
    if other:  # --restart would not help: it resets only this run's export
        return (
            f"not rebuilding the files of {target}: {len(other)} window(s) of its other export "
            f"lost their parts in {parts_root} ({_lost_list(other)}): run that export's command "
            f"again ({_command(other[0][0]['kind'])} with its own options), which fetches them, "
            "or restore them"
        )
    return (
        f"not rebuilding the files of {target}: {len(lost)} window(s) recorded as exported "
        f"lost their parts in {parts_root} ({_lost_list(lost)}) and this run did not fetch them "
        "again (they are not among its windows); restore them, or start over with --restart "
        "(restart=True), which keeps only the run's windows"
    )


def _lost_list(lost: list[tuple[dict[str, Any], list[str]]]) -> str:
    shown = "; ".join(
        f"{'/'.join(tables)} of site {e['id_site']}, {e['day']}" for e, tables in lost[:3]
    )
    return shown + (f" and {len(lost) - 3} more" if len(lost) > 3 else "")


def _command(kind: str) -> str:
    """The command line that runs an export of `kind` (`visits`, `reports:week`)."""
    if kind == "visits":
        return "`matomo export visits`"
    return f"`matomo export reports --period {period_of(kind)}`"


_CSV_SPECIAL = re.compile(rb'[",\n]')


def _first_record_fields(f: IO[bytes]) -> int | None:
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


def _append_file(path: Path, out: IO[bytes]) -> None:
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


def _rows_of_day(batch: Batch, day: date) -> Batch:
    dates = batch.columns["date"]
    idx = [i for i, d in enumerate(dates) if d == day]
    return Batch(batch.table, {k: [v[i] for i in idx] for k, v in batch.columns.items()})
