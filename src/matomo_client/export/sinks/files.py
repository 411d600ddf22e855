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

`FileSink` lays out the paths and keeps the crash-safety order; the journal's lines are read and
written in `journal.py`, the part files written, moved and built into final files in `parts.py`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any

from ..errors import TargetError
from ..schema import REPORTS, Batch, Table
from ..state import DONE, OPEN, ExportState, JobInfo, WindowRecord, utcnow
from .base import Sink, hold_lock, make_folder, period_of, tables_for
from .journal import (
    PartKey,
    append_journal,
    command,
    journal_state,
    lost_message,
    lost_windows,
    read_journal,
    recorded_windows,
    rewrite_journal,
    unfinished_replace,
)
from .parts import build_file, move, remove_tree, rows_of_day, temp_path, why, write_part
from .text import jsonl_bytes

__all__ = ["FileSink", "jsonl_bytes"]

_PART_RE = re.compile(r"(?:period=(?P<period>[^/]+)/)?site=(?P<site>\d+)/date=(?P<day>[\d-]+)")
# A report part of a directory target: `site=<id>/<period>-<day>.parquet`.
_REPORT_FILE_RE = re.compile(r"site=(?P<site>\d+)/(?P<period>[a-z]+)-(?P<day>\d{4}-\d\d-\d\d)\.")

_TABLES = tables_for("visits") + tables_for("reports")


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

    # --- journal (journal.py) -------------------------------------------------------------
    def _load_journal(self) -> None:
        self._records = []  # not the records of an earlier open, if the journal cannot be read
        self._records = read_journal(self.journal_path)

    def _append(self, entries: Sequence[dict[str, Any]]) -> None:
        append_journal(self.journal_path, entries)
        self._records.extend(entries)

    def _rewrite_journal(self, entries: list[dict[str, Any]]) -> None:
        rewrite_journal(self.journal_path, entries)
        self._records = entries

    def _finish_replace(self) -> None:
        """Finish a `replace` a crash cut short (the journal's last line but for some of its
        windows): rename its temp files still there into place, journal its other windows."""
        unfinished = unfinished_replace(self._records)
        if unfinished is None:
            return
        entry, missing = unfinished
        for tmp, part in entry["parts"]:
            temp = None if tmp is None else self.parts_root / tmp
            if temp is None or temp.exists():  # else already renamed
                move(temp, self.parts_root / part)
        self._append(missing)

    def _present(self, parts: dict[Table, list[Path]]) -> set[PartKey]:
        return {
            (table.name, *key)
            for table, paths in parts.items()
            for path in paths
            if (key := self._part_key(table, path)) is not None
        }

    def _lost(self, present: set[PartKey]) -> list[tuple[dict[str, Any], list[str]]]:
        """Each window's last record that counts rows in a table whose part is not in
        `present`, with those tables."""
        return lost_windows(self._records, present)

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
            recorded = recorded_windows(self._records)
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
            raise TargetError(f"cannot open {self.target}: {why(e)}") from e

    def load_state(self, kind: str) -> ExportState:
        """The journal's view of `kind`: last header, last record per window."""
        return journal_state(self._records, kind)

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
                    remove_tree(root)
            else:
                self._append([header])
        except OSError as e:
            raise TargetError(f"cannot write the export state of {self.target}: {why(e)}") from e

    def write_window(
        self, kind: str, records: Sequence[WindowRecord], batches: Sequence[Batch]
    ) -> None:
        """Write each window's part files atomically, then journal the windows."""
        try:
            staged: list[tuple[Path | None, Path]] = []  # (temp file, part); None: no part now
            for batch in batches:
                for rec in records:
                    sub = batch if len(records) == 1 else rows_of_day(batch, rec.day)
                    path = self._part_path(batch.table, kind, rec.id_site, rec.day)
                    if len(sub) == 0:
                        staged.append((None, path))
                        continue
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = temp_path(path)
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
                move(temp, part)
            self._append(windows)
        except OSError as e:
            raise TargetError(f"cannot write to {self.target}: {why(e)}") from e

    def record_windows(self, records: Sequence[WindowRecord]) -> None:
        """Journal updated records (reconciliation)."""
        if records:
            try:
                self._append([{"type": "window", **r.to_json()} for r in records])
            except OSError as e:
                raise TargetError(
                    f"cannot write the export state of {self.target}: {why(e)}"
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
                raise TargetError(lost_message(self.target, self.parts_root, lost, self._kind))
            for table in _TABLES:
                self._compact(table, parts[table])
        except OSError as e:
            raise TargetError(f"cannot write to {self.target}: {why(e)}") from e

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
            tmp = temp_path(path)
            self._write_part(Batch.empty(table), tmp)
            os.replace(tmp, path)

    def close(self) -> None:
        """Release the target's lock (nothing else stays open between calls)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # --- part files and final files (parts.py) --------------------------------------------
    def _write_part(self, batch: Batch, path: Path) -> None:
        write_part(batch, path, self.fmt, self.compression, self.partitioned)

    def _compact(self, table: Table, parts: list[Path]) -> None:
        final = self.final_path(table)
        tmp = final.with_name(final.name + ".tmp")
        errors = (self._unreadable, self._other_columns)
        try:
            build_file(table, parts, tmp, self.fmt, self.compression, errors)
        except TargetError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, final)

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
            else f"run {command(kind)} again with --restart and its own options"
        )
        count = f" ({found}, not {len(table.columns)})" if found is not None else ""
        return TargetError(
            f"cannot build {self.final_path(table)}: its part {part} was written with other "
            f"columns{count}, by another version of matomo-client: {again}, which exports "
            "those windows again"
        )
