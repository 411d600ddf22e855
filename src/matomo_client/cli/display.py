"""What an export shows: rich progress bars on stderr while it runs, a summary table after.

`ExportDisplay` is the engine's progress callback. It keeps a tally per site from the progress
snapshots (each snapshot names the window just written), which the summary table prints next
to the engine's own totals. Progress goes to stderr: bars on a terminal, otherwise a plain line
every `TICK_SECONDS` (cron, CI, a log file); the summary goes to stdout, as a table or with
`--json` as one JSON line, so `matomo export ... > summary.txt` keeps the result and drops the bars.
"""

from __future__ import annotations

import io
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO, cast

from .connection import display_url
from .failures import SESSION, write_out

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from matomo_client.export import ExportProgress, ExportSummary

__all__ = [
    "ExportDisplay",
    "SiteTally",
    "console",
    "orjson_line",
    "render_summary",
    "show_target",
    "summary_json",
]

_SITE = re.compile(r"^site (\d+)")
# Without bars (stderr not a terminal: cron, CI, a log file), one line this often says the export
# is alive: CI services kill a step silent for 10 minutes, and an operator cannot tell a long
# export from a hung one.
TICK_SECONDS = 60.0


def console(file: TextIO | None = None, **kwargs: Any) -> Console:
    """A rich console on `file` (stdout by default); wide enough not to cut tables in pipes.

    Text is printed as it is: no markup or emoji codes, since site names, target paths and
    Matomo's messages may hold `[...]` or `:...:` (`Shop [staging]` lost its `[staging]`)."""
    from rich.console import Console  # rich loads only when something is shown

    file = file or sys.stdout
    if not file.isatty():
        kwargs.setdefault("width", 200)
    if file is sys.stdout:
        file = cast("TextIO", _WholeStdout())  # rich needs only write, flush, isatty, fileno
    out = Console(file=file, highlight=False, soft_wrap=False, markup=False, emoji=False, **kwargs)
    if out.width < 1:  # COLUMNS=0 on a terminal: rich printed nothing at all, and exit 0
        out.width = 80
    return out


class _WholeStdout(io.TextIOBase):
    """stdout for rich, each write sent out whole: a text stream drops the rest of a write the
    disk only took part of (a full disk, `ulimit -f`), and the command then exited 0."""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """stdout's encoding."""
        return sys.stdout.encoding or "utf-8"

    def write(self, text: str) -> int:
        """Encode `text` as stdout does and write it all, or fail with its error."""
        write_out(text.encode(self.encoding, "replace"))
        return len(text)

    def isatty(self) -> bool:
        """Whether stdout is a terminal."""
        return sys.stdout.isatty()

    def fileno(self) -> int:
        """stdout's descriptor."""
        return sys.stdout.fileno()


@dataclass
class SiteTally:
    """What this run wrote for one site."""

    windows: int = 0
    visits: int = 0
    actions: int = 0
    rows: int = 0


class ExportDisplay:
    """Progress callback and per-site tally for one export run."""

    def __init__(
        self, kind: str, *, show: bool, stream: TextIO | None = None, ticks: bool = False
    ) -> None:
        self.kind = kind
        self.sites: dict[int, SiteTally] = {}
        self._last: ExportProgress | None = None
        self._started = time.monotonic()
        stream = stream or sys.stderr
        self._stream = stream
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        if ticks and not show:
            self._ticker = threading.Thread(target=self._tick, name="matomo-ticks", daemon=True)
        if show:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            unit = "visits" if kind == "visits" else "rows"
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=16),
                MofNCompleteColumn(),
                TextColumn("windows"),
                TextColumn("{task.fields[count]:,} " + unit),
                TextColumn("{task.fields[rate]:,.0f}/s"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=stream, stderr=stream is sys.stderr),
                transient=False,
            )

    def __enter__(self) -> ExportDisplay:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(self.kind, total=None, count=0, rate=0.0)
        if self._ticker is not None:
            self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._ticker is not None and self._ticker.is_alive():
            self._stop.set()
            self._ticker.join()

    def tick_line(self) -> str:
        """One plain line on how far the export is (what a log shows instead of the bars)."""
        elapsed = _duration(time.monotonic() - self._started)
        p = self._last
        if p is None:
            return f"{self.kind}: starting, {elapsed} elapsed"
        phase = "" if p.phase == "exporting" else f" ({p.phase})"
        count = (
            f"{_fetched_visits(p):,} visits" if self.kind == "visits" else f"{p.report_rows:,} rows"
        )
        return (
            f"{self.kind}{phase}: {_fetched(p):,} of {p.windows_total:,} windows, {count}, "
            f"{p.requests:,} requests, {p.retries:,} retries, {elapsed} elapsed"
        )

    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self._stream.write(self.tick_line() + "\n")
                self._stream.flush()
            except (OSError, ValueError):  # stderr gone (a closed pipe): stay quiet
                return

    def __call__(self, p: ExportProgress) -> None:
        """Take one snapshot from the engine."""
        prev = self._last
        self._last = p
        if p.last_window and prev is not None:
            m = _SITE.match(p.last_window)
            if m:
                tally = self.sites.setdefault(int(m.group(1)), SiteTally())
                # not a done window fetched again and kept (`refetch_short`): counted skipped
                tally.windows += (
                    _fetched(p) - p.windows_skipped - _fetched(prev) + prev.windows_skipped
                )
                tally.visits += p.visits - prev.visits
                tally.actions += p.actions - prev.actions
                tally.rows += p.report_rows - prev.report_rows
        if p.phase == "saving" and self._progress is None:
            _preload("rich.console", "rich.table")
        if self._progress is not None and self._task is not None:
            count = _fetched_visits(p) if self.kind == "visits" else p.report_rows
            elapsed = max(time.monotonic() - self._started, 1e-6)
            phase = "" if p.phase == "exporting" else f" {p.phase}"
            self._progress.update(
                self._task,
                description=f"{self.kind}{phase}",
                total=p.windows_total,
                completed=_fetched(p),
                count=count,
                rate=count / elapsed,
            )


def _duration(seconds: float) -> str:
    """`seconds` as `1h02m`, `3m05s` or `42s`."""
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    if whole >= 60:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole}s"


def _fetched(p: ExportProgress) -> int:
    """Windows done, or fetched and waiting for a transaction shared with others: the bar moves
    as windows come, though a SQL target commits a few thousand visits at once."""
    return p.windows_done + p.windows_pending


def _fetched_visits(p: ExportProgress) -> int:
    """The visits of `_fetched` windows: a SQL target's waiting ones count, or the bar read
    "22 of 60 windows, 0 visits" until its first transaction."""
    return p.visits + p.visits_pending


def _preload(*modules: str) -> None:
    """Import `modules` in a thread: the summary's rich (about 0.1 s) then loads while the
    export saves its target (DuckDB's checkpoint does not hold the GIL)."""
    import importlib

    threading.Thread(
        target=lambda: [importlib.import_module(m) for m in modules], name="matomo-preload"
    ).start()


def show_target(target: str) -> str:
    """A target as it can be shown: a database URL loses its password. A PostgreSQL URL keeps
    its `//` and query (a socket's `host=`, the schema in `options=`): exports into two schemas
    of one database showed as the same `postgresql:/wh`."""
    if target.lower().startswith(("postgresql://", "postgres://")):
        from ..export.sinks.postgres import redact_url

        return SESSION.scrub(redact_url(target))
    return SESSION.scrub(display_url(target) if "://" in target else target)


def summary_json(summary: ExportSummary, display: ExportDisplay) -> dict[str, Any]:
    """The summary as `--json` prints it: the table's figures, the notes, and whether a job
    should run the same command again (`run_again`: windows left open)."""
    kind, _, period = summary.kind.partition(":")
    return {
        "ok": True,
        "exit_code": 0,
        "kind": kind,
        "period": period or None,
        "target": show_target(summary.target),
        # a file target's table files (`x.visits.jsonl.gz` for `x.jsonl.gz`); [] for a database
        "files": _files(summary),
        "sites": [
            {"id_site": id_site, **vars(display.sites.get(id_site, SiteTally()))}
            for id_site in summary.sites
        ],
        "windows_total": summary.windows_total,
        "windows_exported": summary.windows_exported,
        "windows_skipped": summary.windows_skipped,
        "windows_open": summary.windows_open,
        "windows_refetched": summary.windows_refetched,
        "run_again": summary.windows_open > 0,
        "visits": summary.visits,
        "actions": summary.actions,
        "report_rows": summary.report_rows,
        "requests": summary.requests,
        "retries": summary.retries,
        "reconciled": summary.reconciled,
        "not_reconciled": summary.not_reconciled,
        # `ok` says the command succeeded; this, that every site was compared and matches
        "reconciliation_ok": summary.ok,
        "mismatches": [
            {
                "id_site": mm.id_site,
                "day": mm.day.isoformat(),
                "exported": mm.exported,
                "expected": mm.expected,
                "cause": SESSION.scrub(mm.cause),
            }
            for mm in summary.mismatches
        ],
        "warnings": [SESSION.scrub(w) for w in summary.warnings],
    }


def _files(summary: ExportSummary) -> list[str]:
    """The files (a directory target: the folders) the export's tables are in."""
    from ..export.sinks import table_files

    return [SESSION.scrub(f) for f in table_files(summary.target, summary.kind)]


def orjson_line(value: Any) -> bytes:
    """`value` as one line of JSON."""
    import orjson

    return orjson.dumps(value) + b"\n"


def render_summary(summary: ExportSummary, display: ExportDisplay, out: Console) -> None:
    """The final table (one row per site, then the totals) and the reconciliation notes.

    Retries are the client's, for the whole run (windows of several sites share its requests at
    once): they are counted under the table, not per site."""
    from rich.table import Table

    visits = summary.kind == "visits"
    mismatches: dict[int, int] = {}
    for mm in summary.mismatches:
        mismatches[mm.id_site] = mismatches.get(mm.id_site, 0) + 1
    kind, _, period = summary.kind.partition(":")
    label = f"{kind} ({period})" if period else kind
    table = Table(title=f"{label} export to {show_target(summary.target)}")
    names = ("site", "windows", *(("visits", "actions", "mismatches") if visits else ("rows",)))
    for name in names:
        # fold: a narrow terminal wraps a count onto two lines instead of cutting it to "1,2…"
        table.add_column(name, justify="right", overflow="fold")
    for id_site in summary.sites:
        tally = display.sites.get(id_site, SiteTally())
        row = [str(id_site), f"{tally.windows:,}"]
        if visits:
            row += [f"{tally.visits:,}", f"{tally.actions:,}", str(mismatches.get(id_site, 0))]
        else:
            row.append(f"{tally.rows:,}")
        table.add_row(*row)
    total = [
        "all",
        f"{summary.windows_exported:,} (+{summary.windows_skipped:,} done before) "
        f"of {summary.windows_total:,}",
    ]
    if visits:
        total += [f"{summary.visits:,}", f"{summary.actions:,}", str(len(summary.mismatches))]
    else:
        total.append(f"{summary.report_rows:,}")
    table.add_section()
    table.add_row(*total, style="bold")
    out.print(table)
    files = _files(summary)
    if files:  # `--out x.jsonl.gz` writes no `x.jsonl.gz`, but `x.visits.jsonl.gz`, ...
        what = "Folders" if files[0].endswith(("/", os.sep)) else "Files"
        out.print(f"{what}: {', '.join(files)}", soft_wrap=not out.is_terminal)
    # One line each, however long, unless a terminal shows them: a log or a pipe that greps
    # `^Mismatch:` got Matomo's longer causes cut into two lines at 200 columns.
    soft_wrap = not out.is_terminal
    if summary.windows_open:
        why = "are not over yet" if visits else "stay open (not over yet, or a report to ask again)"
        out.print(
            f"{summary.windows_open} window(s) {why}: they were written and will be fetched "
            "again by the next run of the same command.",
            soft_wrap=soft_wrap,
        )
    if summary.windows_refetched:
        out.print(
            f"{summary.windows_refetched} done window(s) fetched again and replaced: Matomo "
            "counted more visits than were exported.",
            soft_wrap=soft_wrap,
        )
    if visits and summary.reconciled and not summary.mismatches:
        out.print("Reconciled: every window matches Matomo's VisitsSummary.nb_visits.")
    for mm in summary.mismatches:
        out.print(f"Mismatch: {SESSION.scrub(mm.describe())}", soft_wrap=soft_wrap)
    for warning in summary.warnings:
        out.print(f"Warning: {SESSION.scrub(warning)}", soft_wrap=soft_wrap)
    out.print(f"{summary.requests:,} requests, {summary.retries:,} retries.")
