"""Busy windows' rows, kept on disk until their day is whole.

A window is written (and recorded) only once every page of its day has come, so until then its
rows wait. With `2 x concurrency` windows in progress, memory grew with the concurrency times
the visits of a busy day. Now the windows in progress hold about `SPILL_ROWS` rows in memory
together, twice that at most: past it, the window that has just received a page writes its rows
(when it holds at least `SPILL_MIN`, or any past twice the budget) to a temporary file and goes on
with an empty hand. The writer's
thread reads them back when it takes the window, so a spilled window is in memory only while it
is written. Exports whose days in progress stay under the budget (most) never touch the disk.

An export killed (`kill -9`, out of memory) cannot remove its directory: each holds an `flock`
on a `<directory>.lock` file beside it while it lives, and the next export that spills in the
same place removes the directories whose lock is free (their export is gone).
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
from typing import IO, Any

__all__ = ["SPILL_MIN", "SPILL_ROWS", "SpillDir", "Spilled"]

# Rows (visits and actions) the windows in progress hold in memory together before they spill:
# about 20,000 visits with their actions, some 45 MB as Arrow (~450 bytes a row), about three
# times that as Python columns (SQLite, PostgreSQL, CSV).
SPILL_ROWS = 100_000
# The fewest rows a window writes to disk at once: smaller hands stay (no file for a few rows).
SPILL_MIN = 5_000

_PREFIX = "matomo-export-"


class SpillDir:
    """One export's spilled rows: the rows its windows hold in memory (`held`), and the
    temporary files of those spilled, in a directory made on the first spill (in `TMPDIR`, or
    the system's temporary directory) and removed by `close`."""

    def __init__(self, parent: str | os.PathLike[str] | None = None) -> None:
        self._parent = parent
        self._path: Path | None = None
        self._names = itertools.count()
        self._lock = threading.Lock()
        self._held_open: IO[bytes] | None = None  # the directory's lock file, held while alive
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
                parent = Path(self._parent if self._parent is not None else tempfile.gettempdir())
                _remove_orphans(parent)
                self._path = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=parent))
                # Locked before it has its name: another export never finds it free.
                temp = self._path / "lock"
                self._held_open = _flock(temp)
                if self._held_open is not None:
                    os.replace(temp, _lock_of(self._path))
            return self._path / f"window-{next(self._names)}.pickle"

    def close(self) -> None:
        """Remove the directory and whatever is left in it."""
        with self._lock:
            if self._path is not None:
                shutil.rmtree(self._path, ignore_errors=True)
                if self._held_open is not None:
                    _lock_of(self._path).unlink(missing_ok=True)
                    self._held_open.close()
                    self._held_open = None
                self._path = None


def _flock(path: Path) -> IO[bytes] | None:
    """The open file `path` with an exclusive `flock` taken on it; None when it is held by a
    live process, or the platform has no `flock` (Windows: orphans are then left)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    try:
        f = open(path, "ab")  # noqa: SIM115 - held open while the lock is needed
    except OSError:
        return None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    return f


def _remove_orphans(parent: Path) -> None:
    """Remove the spill directories in `parent` left by exports that were killed (their lock is
    free); those of live exports, and older versions' (no lock file), stay."""
    try:
        found = list(parent.glob(_PREFIX + "*"))
    except OSError:
        return
    for lock in found:
        if lock.suffix != ".lock":
            continue
        held = _flock(lock)
        if held is not None:
            with held:  # the lock is ours while the directory goes
                shutil.rmtree(lock.with_suffix(""), ignore_errors=True)
                lock.unlink(missing_ok=True)


def _lock_of(path: Path) -> Path:
    """The lock file of the spill directory `path`, beside it: `<name>.lock`."""
    return path.with_name(path.name + ".lock")


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
