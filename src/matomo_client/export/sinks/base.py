"""The sink interface every target implements, and helpers they share.

A sink is synchronous (database drivers are); the engine calls it from a worker thread, one call
at a time. The contract that makes exports exactly-once:

* `write_window(kind, records, batches)` makes the window's rows and its manifest records
  visible together (one transaction, or part file in place before the journal line), and
  replaces whatever an earlier run wrote for the same visits/period dates;
* `load_state(kind)` returns only windows whose data is in the target.

`kind` is `"visits"` (tables `visits` and `actions`) or `"reports:<period>"` (table `reports`).
"""

from __future__ import annotations

import abc
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from .. import jsonvalue
from ..errors import TargetError
from ..schema import ACTIONS, REPORTS, VISITS, Batch, Table
from ..state import ExportState, JobInfo, WindowRecord

__all__ = ["Sink", "iso_ts", "json_text", "make_folder", "tables_for", "ts_to_datetime"]


def tables_for(kind: str) -> tuple[Table, ...]:
    """The tables an export kind writes."""
    if kind == "visits":
        return (VISITS, ACTIONS)
    if kind.startswith("reports"):
        return (REPORTS,)
    raise ValueError(f"unknown export kind {kind!r}")


def period_of(kind: str) -> str:
    """The period of a `reports:<period>` kind."""
    return kind.partition(":")[2] or "day"


_EPOCH = datetime(1970, 1, 1)


def ts_to_datetime(ts: int | None) -> datetime | None:
    """Unix seconds to a naive UTC datetime (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None)


def iso_ts(ts: int | None) -> str | None:
    """Unix seconds to `YYYY-MM-DD HH:MM:SS` (UTC)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def json_text(x: Any) -> str | None:
    """A nested value as JSON text (None stays None)."""
    if x is None:
        return None
    return jsonvalue.dumps(x).decode()


def make_folder(folder: Path, target: str) -> None:
    """Create `folder` and its parents; `TargetError` naming the file in the way when one of
    them is a regular file (the OS says `File exists` or `Not a directory`, naming neither)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        # Path.exists is False below a file (ENOTDIR), so the only existing non-folder is it.
        file = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if file is None:
            raise
        raise TargetError(f"cannot open {target}: {file} is a file, not a folder") from None


def hold_lock(path: str | os.PathLike[str], target: str) -> IO[bytes] | None:
    """Take an exclusive advisory lock (`flock`) on the file `path`, creating it if need be,
    for as long as the returned file stays open; `TargetError` when another export holds it.

    `flock` locks are apart from the `fcntl` locks SQLite takes, so a database file can be
    its own lock. None where the platform has no `flock` (the export then runs unlocked).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    f = open(path, "ab")  # noqa: SIM115 - held open while the lock is needed
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise TargetError(
            f"{target} is in use by another export: wait for that one to end, or export to "
            "another target"
        ) from None
    return f


class Sink(abc.ABC):
    """A target the exporter writes to."""

    #: A display name for messages: the path, or the URL without its password.
    target: str
    #: The form of the `visits`/`actions` batches it writes best (see `Batch`): `"batch"`
    #: (Python columns), `"arrow"` or `"jsonl"`; a sink accepts columns whatever it says here.
    encoding: str = "batch"

    @abc.abstractmethod
    def open(self) -> None:
        """Connect/create the target and its tables; raise `TargetError` if it cannot be written."""

    def connect(self) -> None:  # noqa: B027 - optional hook
        """Called before `open`, while Matomo is asked for the sites: slow set-up that leaves
        the target as it was if `close` follows without `open` (the export failed first)."""

    @abc.abstractmethod
    def load_state(self, kind: str) -> ExportState:
        """The manifest of `kind` as stored in the target."""

    @abc.abstractmethod
    def start_job(self, job: JobInfo, restart: bool) -> None:
        """Record the job header; with `restart`, first drop the kind's data and manifest."""

    @abc.abstractmethod
    def write_window(
        self, kind: str, records: Sequence[WindowRecord], batches: Sequence[Batch]
    ) -> None:
        """Atomically replace the rows of these windows and record them in the manifest."""

    @abc.abstractmethod
    def record_windows(self, records: Sequence[WindowRecord]) -> None:
        """Update manifest records only (reconciliation counts)."""

    def checkpoint(self) -> None:  # noqa: B027 - optional hook
        """Called once the run's last window is written, while reconciliation waits on Matomo,
        and (SQL targets) once between two transactions while a visits export's last pages are
        fetched: a database may move its log into its file then, so that closing is quick."""

    def finish(self) -> None:  # noqa: B027 - optional hook
        """Called once after a run whose windows all succeeded (file targets compact here)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and files."""

    def __enter__(self) -> Sink:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
