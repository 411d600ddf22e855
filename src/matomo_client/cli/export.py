"""`matomo export visits|reports`: parse the options, let `matomo_client.export` do the work."""

from __future__ import annotations

import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from matomo_client.export import PERIODS

from .connection import Connection, connection_options
from .display import ExportDisplay, console, orjson_line, render_summary, summary_json
from .failures import SESSION, UserError, write_out
from .options import WholeRange, export_options

if TYPE_CHECKING:
    from matomo_client.export import ExportSummary

__all__ = ["MAX_PAGE_SIZE", "export"]

# The most rows the library asks for in one request (`matomo_client.Limit`; a test pins it).
MAX_PAGE_SIZE = 1_000_000
MAX_WORKERS = 64  # the library's cap (export/engine.py)


def _sites(given: tuple[str, ...]) -> str | list[int]:
    values = [v.strip().lower() for v in given]
    if "all" in values:
        if len(values) > 1:
            raise UserError("--site all already means every site: give it alone")
        return "all"
    ids: list[int] = []
    for text in given:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        # ASCII digits only: int() also reads '1_0' (site 10) and '٣' (site 3)
        parsed = [int(part) for part in parts if part.isascii() and part.isdigit()]
        if not parsed or len(parsed) < len(parts) or any(i < 1 for i in parsed):
            raise UserError(f"--site {text!r}: use a site id (1), several (1,2) or 'all'")
        ids.extend(i for i in parsed if i not in ids)
    return ids


def _reports(given: tuple[str, ...]) -> list[str]:
    """`--report` values as report specs. A value is `Module.method[?param=value&...]` or, like
    --site, a comma list of `Module.method`; one with a `?` is a single report (its parameters,
    a segment say, may hold commas)."""
    from matomo_client._core.url import check_method

    wanted: list[str] = []
    for text in given:
        names = [text] if "?" in text else [n.strip() for n in text.split(",") if n.strip()]
        for name in names or [text]:
            keys = [p.partition("=")[0].strip() for p in name.partition("?")[2].split("&")]
            if "token_auth" in keys:  # refused without quoting the value: it may be the token
                raise UserError(
                    "--report: token_auth is refused in a report's parameters; the token is "
                    "sent from MATOMO_TOKEN or --token-file"
                )
            try:
                check_method(name.split("?", 1)[0])
            except ValueError:
                raise UserError(
                    f"--report {name!r}: use Module.method, e.g. Actions.getPageUrls "
                    "(several: repeat --report, or separate them with commas)"
                ) from None
            wanted.append(name)
    return wanted


@contextmanager
def _terminate_as_interrupt() -> Iterator[Callable[[], None]]:
    """SIGTERM (`kill`, `docker stop`) stops the export as Ctrl-C does: the progress bars are
    closed (a killed bar leaves the terminal's cursor hidden) and one line says how to resume.

    Yields `adopt`, which the export calls first in its event loop: SIGTERM then calls the
    loop's own Ctrl-C handler, which cancels the export's main task; a second Ctrl-C or SIGTERM
    while it stops is ignored. With Ctrl-C ignored (`cmd &`
    in a script), that handler is installed all the same and Ctrl-C ignored again once it is
    taken: a KeyboardInterrupt raised in whatever code SIGTERM happened to interrupt broke the
    loop's shutdown with a traceback.
    """
    before = signal.getsignal(signal.SIGINT)
    ignored = before is signal.SIG_IGN
    loop_handler: list[Callable[[int, FrameType | None], Any]] = []
    stopping = [False]

    def stop(frame: FrameType | None) -> None:
        # Once: asyncio's handler raises KeyboardInterrupt wherever the code stands on a second
        # Ctrl-C (or SIGTERM), and the export's shutdown then ended in a traceback.
        if not stopping[0]:
            stopping[0] = True
            loop_handler[0](signal.SIGINT, frame)

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        stop(frame)

    def adopt() -> None:
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            loop_handler.append(handler)
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        elif loop_handler:
            signal.signal(signal.SIGINT, on_interrupt)

    def on_terminate(signum: int, frame: FrameType | None) -> None:
        SESSION.terminated = True
        SESSION.hung_up = signum == getattr(signal, "SIGHUP", None)
        if loop_handler:  # cancels the export, then anyio.run raises KeyboardInterrupt
            stop(frame)
        else:  # the event loop is not running yet
            raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, on_terminate)
    except ValueError:  # not the main thread: leave SIGTERM alone
        yield lambda: None
        return
    # SIGHUP (the ssh session or terminal went away; not on Windows) stops it the same way,
    # unless it is ignored (`nohup`): its spilled rows are removed and its writes finished.
    hangup = getattr(signal, "SIGHUP", None)
    hup_before = signal.getsignal(hangup) if hangup is not None else None
    if hangup is not None and hup_before is not signal.SIG_IGN:
        signal.signal(hangup, on_terminate)
    if ignored:  # asyncio installs its Ctrl-C handler only over Python's default one
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield adopt
    finally:
        signal.signal(signal.SIGTERM, previous)
        if hangup is not None and hup_before is not None:
            signal.signal(hangup, hup_before)
        if before is not None:  # None: not set from Python, nothing to put back
            signal.signal(signal.SIGINT, before)


def _run(
    conn: Connection,
    kind: str,
    quiet: bool,
    concurrency: int,
    as_json: bool,
    job: Callable[..., Awaitable[ExportSummary]],
    **options: Any,
) -> None:
    import anyio

    SESSION.resumable = True
    _guard_password(str(options.get("target") or ""))
    show = not quiet and sys.stderr.isatty()
    display = ExportDisplay(kind, show=show, ticks=not quiet)

    async def go(adopt: Callable[[], None]) -> ExportSummary:
        adopt()
        async with conn.client(max_concurrency=concurrency) as m:
            return await job(m, concurrency=concurrency, progress=display, **options)

    with _terminate_as_interrupt() as adopt, display:
        summary = anyio.run(go, adopt)
    if as_json:
        write_out(orjson_line(summary_json(summary, display)))
        return
    render_summary(summary, display, console(sys.stdout))


def _guard_password(target: str) -> None:
    """A password in a PostgreSQL `--out` URL: scrubbed from all output, and a warning, since
    the command line is visible to other users (`ps`) and kept in the shell's history."""
    if not target.lower().startswith(("postgresql:", "postgres:")):
        return
    from matomo_client.export.sinks.postgres import url_passwords

    found = url_passwords(target)
    for password in found:
        SESSION.add_secret(password)
    if found:
        click.echo(
            "Warning: the --out URL holds a password, which other users can see in the process "
            "list: give it in PGPASSWORD or ~/.pgpass instead",
            err=True,
        )


@click.group("export")
def export() -> None:
    """Export raw visits or aggregate reports into files or databases, resumably.

    Work is split into (site, day) windows in each site's timezone; each window is written
    atomically and recorded in the target, so running the same command again after a crash
    (even kill -9) finishes the export with every visit exactly once.

    \b
    Example:
      matomo export visits --site all --from 2024-01-01 --to yesterday --out visits.duckdb
    """


@export.command("visits")
@export_options
@click.option(
    "--page-size",
    type=WholeRange(1, MAX_PAGE_SIZE),
    default=1000,
    show_default=True,
    help="Visits per Live.getLastVisitsDetails request.",
)
@click.option(
    "--workers",
    type=WholeRange(0, MAX_WORKERS),
    default=None,
    metavar="N",
    help="Processes that turn pages into rows for DuckDB, Parquet and JSONL targets "
    "(default: one per CPU; 0: all in this process).",
)
@click.option(
    "--refetch-short",
    is_flag=True,
    help="Fetch again the done days of the range for which Matomo now counts more visits "
    "than were exported (visits tracked late); a day's rows are replaced only by more rows.",
)
@connection_options
def visits(
    conn: Connection,
    site: tuple[str, ...],
    start: str,
    end: str,
    segment: str | None,
    target: str,
    concurrency: int,
    restart: bool,
    quiet: bool,
    as_json: bool,
    page_size: int,
    workers: int | None,
    refetch_short: bool,
) -> None:
    """Export raw visits (table `visits`) and their actions (table `actions`).

    Each day is checked against Matomo's VisitsSummary.nb_visits; the summary names any day
    that differs and why. Today is exported but stays open: the next run fetches it again.

    \b
    Example:
      matomo export visits --site 1 --from last7 --to yesterday --out shop.duckdb
      matomo export visits --sandbox --site all --from last7 --to yesterday --out demo.duckdb
    """
    from matomo_client.export import export_visits

    _run(
        conn,
        "visits",
        quiet,
        concurrency,
        as_json,
        export_visits,
        sites=_sites(site),
        start=start,
        end=end,
        segment=segment if segment and segment.strip() else None,  # blank: none
        target=target,
        page_size=page_size,
        restart=restart,
        workers=workers,
        refetch_short=refetch_short,
    )


@export.command("reports")
@export_options
@click.option(
    "--period",
    type=click.Choice(list(PERIODS)),
    default="day",
    show_default=True,
    help="One row set per day, week (Monday to Sunday), month or year. A week, month or year "
    "that overlaps --from..--to is exported whole, dated by its first day.",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="Module.method",
    help="A report to export, Module.method[?param=value&...]; several: repeat --report or "
    "separate them with commas. Default: every report in API.getReportMetadata.",
)
@connection_options
def reports(
    conn: Connection,
    site: tuple[str, ...],
    start: str,
    end: str,
    segment: str | None,
    target: str,
    concurrency: int,
    restart: bool,
    quiet: bool,
    as_json: bool,
    period: str,
    reports: tuple[str, ...],
) -> None:
    """Export aggregate reports in long form (table `reports`: one row per label and period).

    Reports are fetched flat and never truncated, many periods and reports per request. A
    period without data has the rows Matomo answers for it: none for most reports (one-row
    reports such as VisitsSummary.get too), zero rows for those listing every hour or type
    (VisitTime, DevicesDetection.getType).

    \b
    Example:
      matomo export reports --site 1 --from 2024-01-01 --to 2024-12-31 --period month \\
          --report Actions.getPageUrls --report Referrers.getAll --out reports.parquet
    """
    wanted = _reports(reports)
    from matomo_client.export import export_reports

    _run(
        conn,
        "reports",
        quiet,
        concurrency,
        as_json,
        export_reports,
        sites=_sites(site),
        start=start,
        end=end,
        period=period,
        reports=wanted or None,
        segment=segment if segment and segment.strip() else None,  # blank: none
        target=target,
        restart=restart,
    )
