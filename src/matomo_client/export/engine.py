"""The export engine: plan windows, fetch them concurrently, write each atomically, reconcile.

`export_visits` and `export_reports` share one runner (`run._Run`): it resolves the sites,
checks the target's manifest against the command (refusing a different one unless `restart`),
skips windows already done, and runs windows side by side in an anyio task group. Visits windows
go in runs of consecutive closed days of one site, each run paged as one stream
(`windows.group_runs`), so that short days share pages. At most `concurrency` requests are in
flight, and at least twice as many runs are in progress, so that a run waiting for its page to
become rows leaves its request slot to another; an export of few runs has them all in progress
(`windows.lanes_for`), so that they end together. Fetching is async; each page's bytes
become rows in worker processes when the target takes Arrow or JSON lines (`encode.py`,
`pages.py`); writing goes through one worker thread at a time (the sinks are blocking drivers),
so a window's rows and its manifest record land together, several small windows to one
transaction in SQL targets.
Matomo's own counts (late visits for `refetch_short`, then reconciliation) are `visits_checks.py`;
the first pages asked for beside the sites, when the plan allows, `head.py`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import anyio

from ..errors import ApiErrorKind, MatomoError
from ._gc import relaxed_gc
from .arguments import (
    SitesArg,
    _check_async,
    _check_common,
    _date_spec,
    _sites_param,
    before_creation,
    nothing_to_export,
)
from .encode import PageEncoder, default_workers
from .errors import ExportApiError, ExportUsageError
from .head import HeadStart, with_head_start
from .pages import fetch_run
from .progress import ExportSummary, ProgressCallback
from .resume import UTC_TIMES, holes, with_left_open
from .run import _api_error, _Run
from .runlog import log
from .sinks import DEFAULT_TARGET, Sink
from .sites import SiteInfo
from .spill import SpillDir
from .state import DONE, OPEN, WindowRecord
from .visits_checks import Counts, counts_of_windows, reconcile_windows, short_days
from .windows import (
    DEFAULT_SETTLE,
    Window,
    group_runs,
    lanes_for,
    plan_days,
    resolve_day,
    run_days,
    site_tz,
)

__all__ = ["SiteInfo", "export_visits"]

MAX_WORKERS = 64  # worker processes an export may start (each holds ~90 MB)


@relaxed_gc
async def export_visits(
    client: Any,
    *,
    sites: SitesArg = "all",
    start: date | str = "yesterday",
    end: date | str = "yesterday",
    segment: str | None = None,
    target: str | os.PathLike[str] | Sink | None = DEFAULT_TARGET,
    page_size: int = 1000,
    concurrency: int = 4,
    restart: bool = False,
    reconcile: bool = True,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
    settle: timedelta = DEFAULT_SETTLE,
    workers: int | None = None,
    refetch_short: bool = False,
) -> ExportSummary:
    """Export raw visits and their actions, written and recorded one (site, day) window at a
    time (closed days fetched a few days a request); resumable.

    `client` is an `AsyncMatomo`. `start`/`end` take dates or `YYYY-MM-DD`, `today`,
    `yesterday`, `lastN`, `previousN`, resolved in each site's timezone. Re-running the same
    call after a crash finishes the export with every visit exactly once. Other sites or dates
    against the same target add their windows; another `segment` raises `StateMismatchError`
    unless `restart=True`.
    `workers` is how many processes turn pages into rows for DuckDB, Parquet and JSONL
    targets (default: one per CPU, at most 8, none on a single CPU; 0 keeps it all in this
    process). They start with the export; pages under 64 KB are turned into rows here.
    `refetch_short` fetches again the done days of the range for which Matomo now counts more
    visits than were exported (visits tracked late); a day's rows are replaced only by more.
    """
    _check_common(page_size, concurrency, start, end, segment)
    if workers is not None and not 0 <= workers <= MAX_WORKERS:
        raise ExportUsageError(f"workers must be from 0 to {MAX_WORKERS}, not {workers}")
    _check_async(client)  # before the head start's requests
    in_flight = anyio.CapacityLimiter(concurrency)
    head = None
    if not restart and not refetch_short:  # both ask Matomo something first
        head = HeadStart.plan(
            client,
            in_flight,
            sites=sites,
            start=start,
            end=end,
            target=target,
            page_size=page_size,
            segment=segment,
            concurrency=concurrency,
            now=now,
            settle=settle,
        )
    export = functools.partial(
        _export_visits,
        client,
        sites=sites,
        start=start,
        end=end,
        segment=segment,
        target=target,
        page_size=page_size,
        concurrency=concurrency,
        restart=restart,
        reconcile=reconcile,
        progress=progress,
        now=now,
        settle=settle,
        workers=workers,
        refetch_short=refetch_short,
        in_flight=in_flight,
        head=head,
    )
    return await with_head_start(head, export)


async def _export_visits(
    client: Any,
    *,
    sites: SitesArg,
    start: date | str,
    end: date | str,
    segment: str | None,
    target: str | os.PathLike[str] | Sink | None,
    page_size: int,
    concurrency: int,
    restart: bool,
    reconcile: bool,
    progress: ProgressCallback | None,
    now: datetime | None,
    settle: timedelta,
    workers: int | None,
    refetch_short: bool,
    in_flight: anyio.CapacityLimiter,
    head: HeadStart | None,
) -> ExportSummary:
    """`export_visits` once its arguments are checked; `head`'s pages asked for meanwhile."""
    params: dict[str, Any] = {
        "kind": "visits",
        "sites": _sites_param(sites),
        "from": _date_spec(start),
        "to": _date_spec(end),
        "segment": segment or None,
        "action_times": UTC_TIMES,  # see resume._kept_action_times
    }
    encoders: list[PageEncoder] = []

    async def start_workers(sink: Sink) -> None:
        # Workers import for ~0.2 s: let them do it while the sites are listed and the
        # target opened. Those that get no page (nothing left to export) are killed at close.
        encoders.append(
            PageEncoder(sink.encoding, default_workers() if workers is None else workers)
        )
        await encoders[0].start()

    run: _Run | None = None
    try:
        run, site_list = await _Run.start(
            client, "visits", target, concurrency, progress, sites, start_workers
        )
        now = now or datetime.now(timezone.utc)
        windows = _plan(site_list, start, end, now, settle)
    except BaseException:
        if encoders:
            await encoders[0].aclose()
        if run is not None:
            await run.close()
        raise
    encoder = encoders[0]
    encoder.timezones = {s.id_site: s.timezone for s in site_list}
    spill_dir = SpillDir()  # a busy day's rows wait there, not in memory (spill.py)
    summary = run.summary
    summary.sites = [s.id_site for s in site_list]
    summary.windows_total = len(windows)
    if not windows:
        summary.warnings.append(nothing_to_export(start, end))
    try:
        params["timezones"] = {str(s.id_site): s.timezone for s in site_list}
        if restart and windows:
            # `restart` deletes what the target holds: not for a segment Matomo refuses, or a
            # visits log that is off, which only the first page would have shown.
            await _probe(client, windows[0], segment, every_site=params["sites"] == "all")
        recorded = await run.open_sink(params, restart)
        # The range's own windows: a day an earlier run left open (today then), fetched again
        # below, is not one of them (it hid the holes before it and a range before creation).
        in_range = windows
        summary.warnings.extend(holes(in_range, recorded, site_list))
        windows = with_left_open(windows, recorded, site_list, now, settle)
        summary.windows_total = len(windows)
        short: dict[tuple[int, date], int] = {}
        if refetch_short:
            short = await short_days(run, site_list, windows, recorded, segment)
        run.refetching = set(short)
        todo = [
            w
            for w in windows
            if getattr(recorded.get((w.id_site, w.day)), "status", None) != DONE
            or (w.id_site, w.day) in short
        ]
        summary.windows_skipped = len(windows) - len(todo)
        run.log_start(params, [w.day for w in windows])
        if short:
            log.info(
                "%d done window(s) Matomo now counts more visits for: fetched again", len(short)
            )
        run.emit("exporting")
        run.records.update(
            {
                (w.id_site, w.day): recorded[(w.id_site, w.day)]
                for w in windows
                if (w.id_site, w.day) in recorded
            }
        )

        # With `all`, a site whose visits log is off has no raw visits to give: it is left out
        # with a warning instead of stopping every other site's export (on every run).
        every_site = params["sites"] == "all"
        log_off: dict[int, str] = {}

        async def one(windows: list[Window]) -> None:
            first, last = windows[0], windows[-1]
            if first.id_site in log_off:
                return
            where = f"site {first.id_site}, {first.day}"
            if last is not first:
                where += f" to {last.day}"
            fetched = fetch_run(
                client, windows, page_size, segment, encoder, in_flight, spill_dir, head
            )
            seen: set[tuple[int, date]] = set()
            async with contextlib.aclosing(fetched) as stream:
                while True:
                    try:
                        item = await anext(stream, None)
                    except MatomoError as e:  # the fetch's, not the target's (written below)
                        if _log_off(e) and all((w.id_site, w.day) in short for w in windows):
                            # done days fetched again only for late visits: they keep their rows
                            _refetch_refused(run, windows, seen, e)
                            return
                        if every_site and _log_off(e):
                            log_off.setdefault(first.id_site, getattr(e, "message", str(e)))
                            return
                        raise _api_error(e, f"cannot export visits of {where}") from e
                    if item is None:
                        return
                    window, visits, actions = item
                    seen.add((window.id_site, window.day))
                    if len(visits) <= short.get((window.id_site, window.day), -1):
                        run.kept(window.id_site, window.day)  # no more visits than it has
                        del item, visits, actions
                        continue
                    rec = WindowRecord(
                        "visits",
                        window.id_site,
                        window.day,
                        DONE if window.closed else OPEN,
                        visits=len(visits),
                        actions=len(actions),
                        bounds=(window.start_ts, window.end_ts),
                    )
                    await run.write_visits(rec, visits, actions)
                    # Not held while the run's next pages come: a run would keep two days.
                    del item, visits, actions

        # At least twice as many runs of windows as requests in flight: while a run's page is
        # turned into rows (its next request waits for the page's last visit), another run's
        # request goes; few runs all at once, so that they end together.
        runs = group_runs(todo, run_days(len(todo), concurrency))
        run.plan_checkpoint(len(todo), in_flight)
        try:
            await run.run_all(runs, one, lanes=lanes_for(len(runs), concurrency))
        except BaseException:
            # Keep what was fetched before the failure: a re-run then skips those windows.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await run.flush()
            raise
        _left_out(run, log_off, {w.id_site for w in windows})
        # Matomo's own counts are asked for while the last windows are written and the target
        # made durable: on a real server the summary request can take as long as that.
        counts = await _write_rest_while(
            run,
            functools.partial(counts_of_windows, run, site_list, windows, segment)
            if reconcile
            else None,
            encoder,
        )
        # After the last windows are written: a SQL target's pending ones are not in records before.
        _warn_before_created(run, site_list, in_range)
        if counts is not None and windows:
            run.emit("reconciling")
            await reconcile_windows(run, site_list, windows, counts, segment)
        if windows:
            run.log_reconciled(reconcile)
        run.emit("finishing")
        await run.in_thread(run.sink.finish)
        run.emit("done")
        run.log_end()
    except BaseException as e:
        run.log_end(e)
        raise
    finally:
        await encoder.aclose()
        await run.close()
        spill_dir.close()
    return summary


def _refetch_refused(
    run: _Run, windows: list[Window], seen: set[tuple[int, date]], e: MatomoError
) -> None:
    """Keep the done windows of a run fetched again for late visits (`refetch_short`) that
    Matomo refused (its visits log now off): their rows stay, with a warning, and the export
    goes on as it would have without `refetch_short`."""
    for w in windows:
        if (w.id_site, w.day) not in seen:  # counted as done before, not as fetched and kept
            run.summary.windows_skipped += 1
            run.emit("exporting", f"site {w.id_site}, {w.day}")
    note = (
        f"site {windows[0].id_site}: done days Matomo counts more visits for were not fetched "
        f"again ({getattr(e, 'message', None) or e}); their rows are kept"
    )
    if note not in run.summary.warnings:
        run.summary.warnings.append(note)


async def _probe(client: Any, window: Window, segment: str | None, every_site: bool) -> None:
    """Ask for one visit of `window`, as its pages will be asked for: raise what they would."""
    from .._core.params import Params

    params = Params().id_site(window.id_site).set("period", "day")
    params = params.set("date", window.day.isoformat()).set("filter_limit", 1).segment(segment)
    try:
        await client.call("Live.getLastVisitsDetails", params)
    except MatomoError as e:
        if every_site and _log_off(e):
            return  # that site is left out with a warning, as without `restart`
        raise _api_error(e, f"cannot export visits of site {window.id_site}, {window.day}") from e


def _log_off(e: MatomoError) -> bool:
    """Whether Matomo refused Live because the site's visits log is deactivated."""
    message = str(getattr(e, "message", "") or "").lower()
    return getattr(e, "kind", None) is ApiErrorKind.DISABLED and "log" in message


def _left_out(run: _Run, log_off: dict[int, str], sites: set[int]) -> None:
    """Warn of the sites `--site all` left out (visits log off); raise if that is all of them."""
    for id_site in sorted(log_off):
        run.summary.not_reconciled.append(id_site)  # nothing of it to compare: not ok
        run.summary.warnings.append(
            f"site {id_site}: left out, its visits log is deactivated ({log_off[id_site]}); "
            "its days are exported by a run after the log is turned on"
        )
    if log_off and set(log_off) >= sites:
        raise ExportApiError(
            f"cannot export visits: the visits log is deactivated for every site to export "
            f"({', '.join(map(str, sorted(log_off)))})",
            "Live.getLastVisitsDetails",
        )


def _warn_before_created(run: _Run, site_list: Sequence[SiteInfo], windows: list[Window]) -> None:
    """Warn of the sites whose days all lie before they were created and gave no visit: a
    range that misses them (a mistyped year) looked like a site without traffic."""
    for site in site_list:
        days = [w.day for w in windows if w.id_site == site.id_site]
        if site.created is None or not days or max(days) >= site.created:
            continue
        if not any(getattr(run.records.get((site.id_site, d)), "visits", 0) for d in days):
            run.summary.warnings.append(
                before_creation(site.id_site, min(days), max(days), site.created)
            )


def _plan(
    site_list: Sequence[SiteInfo],
    start: date | str,
    end: date | str,
    now: datetime,
    settle: timedelta,
) -> list[Window]:
    """The (site, local day) windows of the export, site by site."""
    windows: list[Window] = []
    for site in site_list:
        try:
            tz = site_tz(site.timezone)
        except ValueError as e:
            raise ExportUsageError(f"site {site.id_site}: {e}") from None
        today = now.astimezone(tz).date()
        windows.extend(
            plan_days(
                site.id_site, resolve_day(start, today), resolve_day(end, today), tz, now, settle
            )
        )
    return windows


async def _write_rest_while(
    run: _Run, fetch: Callable[[], Awaitable[Counts]] | None, encoder: PageEncoder
) -> Counts | None:
    """Write the pending windows and checkpoint the target ("saving"), running `fetch()` and
    stopping the page workers (every page is in) meanwhile."""
    got: list[Counts] = []
    failure: list[Exception] = []

    async def fetch_in_background(fetch: Callable[[], Awaitable[Counts]]) -> None:
        try:
            got.append(await fetch())
        except Exception as e:  # raised as it is below, not inside an exception group
            failure.append(e)

    async def stop_workers() -> None:
        with contextlib.suppress(Exception):  # the export's end stops them again, and says why
            await encoder.aclose()

    async with anyio.create_task_group() as tg:
        if fetch is not None:
            tg.start_soon(fetch_in_background, fetch)
        tg.start_soon(stop_workers)
        try:
            await run.flush()
            run.emit("saving")
            await run.in_thread(run.sink.checkpoint)
        except Exception as e:
            failure.insert(0, e)  # the write's failure comes first
            tg.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return got[0] if got else None
