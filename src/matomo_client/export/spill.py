"""Busy windows' rows, kept on disk until their day is whole.

A window is written (and recorded) only once every page of its day has come, so until then its
rows wait. With `2 x concurrency` windows in progress, memory grew with the concurrency times
the visits of a busy day. Now the windows in progress hold about `SPILL_ROWS` rows in memory
together, twice that at most: past it, the window that has just received a page writes its rows
(when it holds at least `SPILL_MIN`, or any past twice the budget) to a temporary file and goes on
with an empty hand. The writer's
thread reads them back when it takes the window, so a spilled window is in memory only while it
is written. Exports whose days in progress stay under the budget (most) never touch the disk.
"""

from __future__ import annotations

import itertools
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["SPILL_MIN", "SPILL_ROWS", "SpillDir", "Spilled"]

# Rows (visits and actions) the windows in progress hold in memory together before they spill:
# about 20,000 visits with their actions, some 45 MB as Arrow (~450 bytes a row), about three
# times that as Python columns (SQLite, PostgreSQL, CSV).
SPILL_ROWS = 100_000
# The fewest rows a window writes to disk at once: smaller hands stay (no file for a few rows).
SPILL_MIN = 5_000


class SpillDir:
    """One export's spilled rows: the rows its windows hold in memory (`held`), and the
    temporary files of those spilled, in a directory made on the first spill (in `TMPDIR`, or
    the system's temporary directory) and removed by `close`."""

    def __init__(self, parent: str | os.PathLike[str] | None = None) -> None:
        self._parent = parent
        self._path: Path | None = None
        self._names = itertools.count()
        self._lock = threading.Lock()
        self.held = 0  # rows the windows in progress hold in memory (changed in the event loop)

    @property
    def path(self) -> Path | None:
        """The directory, once something was spilled."""
        return self._path

    def due(self, window_rows: int) -> bool:
        """Whether a window holding `window_rows` rows in memory should spill them now: past
        the budget, one of `SPILL_MIN` rows or more; past twice the budget (many small days in
        progress, at a high concurrency), any."""
        if self.held <= SPILL_ROWS:
            return False
        return window_rows >= SPILL_MIN or self.held > 2 * SPILL_ROWS

    def new_file(self) -> Path:
        """A fresh file name in the directory (made now if need be)."""
        with self._lock:
            if self._path is None:
                self._path = Path(tempfile.mkdtemp(prefix="matomo-export-", dir=self._parent))
            return self._path / f"window-{next(self._names)}.pickle"

    def close(self) -> None:
        """Remove the directory and whatever is left in it."""
        with self._lock:
            if self._path is not None:
                shutil.rmtree(self._path, ignore_errors=True)
                self._path = None


def write_parts(path: Path, parts: Sequence[tuple[Any, Any]]) -> None:
    """Append each part's (visits, actions) rows to `path`."""
    with open(path, "ab") as f:
        for rows in parts:
            pickle.dump(rows, f, protocol=pickle.HIGHEST_PROTOCOL)


def read_parts(path: Path, count: int) -> list[tuple[Any, Any]]:
    """The first `count` parts written to `path`, in order; the file is removed."""
    with open(path, "rb") as f:
        parts = [pickle.load(f) for _ in range(count)]
    path.unlink(missing_ok=True)
    return parts


class Spilled:
    """A spilled window's rows, read back on the first `take` (in the writer's thread) and let
    go once both tables are taken."""

    def __init__(self, load: Callable[[], tuple[Any, Any]]) -> None:
        self._load: Callable[[], tuple[Any, Any]] | None = load
        self._rows: list[Any] = []
        self._lock = threading.Lock()

    def take(self, index: int) -> Any:
        """Table `index` (0: visits, 1: actions) of the window."""
        with self._lock:
            if self._load is not None:
                self._rows = [*self._load()]
                self._load = None
            rows, self._rows[index] = self._rows[index], None
            return rows
