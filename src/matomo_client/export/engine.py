"""The export engine: plan windows, fetch them concurrently, write each atomically, reconcile.

`export_visits` and `export_reports` share one runner (`_Run`): it resolves the sites, checks
the target's manifest against the command (refusing a different one unless `restart`), skips
windows already done, and runs windows side by side in an anyio task group. Visits windows go
in runs of consecutive closed days of one site, each run paged as one stream (`windows.group_runs`),
so that short days share pages. At most `concurrency` requests are in flight, and twice as many
runs are in progress, so that a run waiting for its page to become rows leaves its request slot
to another. Fetching is
async; each page's bytes become rows in worker processes when the target takes Arrow or JSON
lines (`encode.py`, `pages.py`); writing goes through one worker thread at a time (the sinks
are blocking drivers), so a window's rows and its manifest record land together, several small
windows to one transaction in SQL targets.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import anyio

from ..errors import MatomoError
from ._gc import relaxed_gc
from .encode import PageEncoder, default_workers
from .errors import ExportApiError, ExportUsageError
from .pages import concat, fetch_run
from .progress import ExportProgress, ExportSummary, ProgressCallback
from .reconcile import compare, fetch_counts
from .schema import Batch
from .sinks import DEFAULT_TARGET, Sink, open_target
from .sinks.sql import SqlSink
from .sites import SiteInfo, visible_sites
from .state import DONE, OPEN, JobInfo, WindowRecord, fingerprint
from .windows import (
    DEFAULT_SETTLE,
    Window,
    group_runs,
    plan_days,
    resolve_day,
    run_days,
    site_tz,
)

__all__ = ["SiteInfo", "export_visits"]

SitesArg = Sequence[int] | int | str

# Visits a SQL sink's transaction waits for (see `_Run.write_visits`): past ~2,000 visits the
# commit's fixed cost is a few percent of the rows' cost.
FLUSH_VISITS = 2000
# Share of a run's windows written when the target is checkpointed the first time, in the
# background while the last pages come (see `_Run.checkpoint_early`). DuckDB's last checkpoint
# then only appends the rest, if the first one had 60% of the rows or more (0.02-0.05 s instead
# of 0.22-0.24 s for figure 7's rows, measured alone); at half the rows or less it rewrote
# them all (0.34-0.45 s). Three quarters of the windows leaves a margin for uneven days.
EARLY_CHECKPOINT = 0.75


def _date_spec(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value).strip().lower()


def _check_common(page_size: int, concurrency: int, start: date | str, end: date | str) -> None:
    if page_size < 1:
        raise ExportUsageError(f"page size must be at least 1, not {page_size}")
    if concurrency < 1:
        raise ExportUsageError(f"concurrency must be at least 1, not {concurrency}")
    today = datetime.now(timezone.utc).date()
    try:
        a, b = resolve_day(start, today), resolve_day(end, today)
    except ValueError as e:
        raise ExportUsageError(str(e)) from None
    if a > b:
        raise ExportUsageError(f"--from {_date_spec(start)} is after --to {_date_spec(end)}")


def _sites_param(sites: SitesArg) -> str | list[int]:
    if isinstance(sites, str):
        if sites.strip().lower() == "all":
            return "all"
        try:
            return sorted({int(s) for s in sites.split(",") if s.strip()})
        except ValueError:
            raise ExportUsageError(f"invalid site {sites!r}: use a site id or 'all'") from None
    if isinstance(sites, int):
        return [sites]
    return sorted({int(s) for s in sites})


def _is_done(recorded: dict[tuple[int, date], WindowRecord], id_site: int, day: date) -> bool:
    rec = recorded.get((id_site, day))
    return rec is not None and rec.status == DONE


def _api_error(e: MatomoError, where: str) -> ExportApiError:
    message = getattr(e, "message", None) or str(e)
    return ExportApiError(f"{where}: {message}")


async def _resolve_sites(client: Any, sites: SitesArg) -> list[SiteInfo]:
    """Resolve `sites` against the sites the token can view."""
    wanted = _sites_param(sites)
    try:
        by_id = await visible_sites(client)
    except MatomoError as e:
        raise _api_error(e, "cannot list sites") from e
    if wanted == "all":
        if not by_id:
            raise ExportUsageError("this token cannot view any site")
        return [by_id[i] for i in sorted(by_id)]
    assert not isinstance(wanted, str)
    missing = [i for i in wanted if i not in by_id]
    if missing:
        seen = ", ".join(str(i) for i in sorted(by_id)) or "none"
        raise ExportUsageError(
            f"site {', '.join(map(str, missing))} does not exist or this token cannot "
            f"view it (visible sites: {seen})"
        )
    return [by_id[i] for i in wanted]


class _Run:
    """State shared by the windows of one export run."""

    def __init__(
        self,
        client: Any,
        kind: str,
        sink: Sink,
        concurrency: int,
        progress: ProgressCallback | None,
    ) -> None:
        self.client = client
        self.kind = kind
        self.sink = sink
        self.concurrency = concurrency
        self.progress = progress
        self.summary = ExportSummary(kind, self.sink.target)
        self.write_lock = anyio.Lock()
        # Visits windows waiting for the writer; SQL sinks take several in one transaction.
        self._pending: list[tuple[WindowRecord, Batch, Batch]] = []
        self._pending_visits = 0
        self.records: dict[tuple[int, date], WindowRecord] = {}
        self.failure: BaseException | None = None
        self._stats0 = self._stats()
        self._tasks: anyio.abc.TaskGroup | None = None  # run_all's, while it runs
        self._checkpoint_after: int | None = None  # windows written before the early checkpoint
        self._checkpointing = False

    def _stats(self) -> tuple[int, int]:
        stats = getattr(self.client, "stats", None)
        return (getattr(stats, "requests", 0), getattr(stats, "retries", 0))

    def emit(self, phase: str, last: str | None = None) -> None:
        """Update request counters and call the progress callback."""
        req, ret = self._stats()
        self.summary.requests = req - self._stats0[0]
        self.summary.retries = ret - self._stats0[1]
        if self.progress is None:
            return
        s = self.summary
        self.progress(
            ExportProgress(
                kind=self.kind,
                phase=phase,
                windows_total=s.windows_total,
                windows_done=s.windows_exported + s.windows_skipped,
                windows_skipped=s.windows_skipped,
                visits=s.visits,
                actions=s.actions,
                report_rows=s.report_rows,
                requests=s.requests,
                retries=s.retries,
                last_window=last,
            )
        )

    @classmethod
    async def start(
        cls,
        client: Any,
        kind: str,
        target: str | os.PathLike[str] | Sink | None,
        concurrency: int,
        progress: ProgressCallback | None,
        sites: SitesArg,
        prepare: Callable[[Sink], Awaitable[None]] | None = None,
    ) -> tuple[_Run, list[SiteInfo]]:
        """The run and its sites. While Matomo is asked for the sites, the target's module
        (DuckDB, pyarrow: about 0.1 s to import) loads in a thread, then `prepare(sink)` runs.
        The target's error comes first."""
        loaded: list[Sink] = []
        failure: list[Exception] = []

        async def load(tg: anyio.abc.TaskGroup) -> None:
            try:
                if isinstance(target, Sink):
                    sink = target
                else:
                    sink = await anyio.to_thread.run_sync(open_target, target or DEFAULT_TARGET)
                loaded.append(sink)
                if prepare is not None:
                    await prepare(sink)
            except Exception as e:
                failure.insert(0, e)
                tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(load, tg)
            try:
                site_list = await _resolve_sites(client, sites)
            except Exception as e:
                failure.append(e)
        if failure:
            raise failure[0]
        return cls(client, kind, loaded[0], concurrency, progress), site_list

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a sink call in a worker thread, one at a time."""
        async with self.write_lock:
            return await anyio.to_thread.run_sync(fn, *args)

    async def write_visits(self, rec: WindowRecord, visits: Batch, actions: Batch) -> None:
        """Hand one fetched visits window to the writer; `written` runs once it is committed.

        A database transaction costs about 20 ms of CPU in DuckDB whatever its size, against
        ~40 us a visit, so windows of a few hundred visits spent more on commits than on rows.
        SQL sinks therefore take windows together: they wait here until `FLUSH_VISITS` visits
        are pending (or `flush` at the end of the run) and go in one transaction, all of them
        or none recorded. The window's task goes on fetching meanwhile, unless it is the one
        that filled the batch: it then writes it. File sinks write one part per window at once.
        """
        if not isinstance(self.sink, SqlSink):
            batches = [visits, actions]
            try:
                await self.in_thread(self.sink.write_window, "visits", [rec], batches)
            finally:
                # The thread may hold its arguments a moment after the call has returned
                # (anyio reports the result first): the rows must not outlive the write.
                batches.clear()
            self.written(rec)
            return
        self._pending.append((rec, visits, actions))
        self._pending_visits += len(visits)
        # While the early checkpoint holds the writer, windows wait here and their runs go on
        # fetching: the next window after it writes them all.
        if self._pending_visits >= FLUSH_VISITS and not self._checkpointing:
            await self.flush(FLUSH_VISITS)
            self._maybe_checkpoint_early()

    def checkpoint_early(self, windows: int) -> None:
        """Checkpoint the target once `EARLY_CHECKPOINT` of this run's `windows` visits
        windows are written, in the background, so that the last checkpoint has little left.

        The last pages of an export come from a few runs at a time, which do not keep the
        cores busy; a checkpoint then costs little wall time, where the final one (0.2-0.3 s
        for 20,000 visits in DuckDB, on one core) is all the export does. Only for runs of
        several transactions: a smaller one has nothing to gain.
        """
        if windows >= 8:
            self._checkpoint_after = max(1, int(windows * EARLY_CHECKPOINT))

    def _maybe_checkpoint_early(self) -> None:
        after = self._checkpoint_after
        if after is None or self._tasks is None or self.summary.windows_exported < after:
            return
        self._checkpoint_after = None
        self._checkpointing = True
        self._tasks.start_soon(self._checkpoint)

    async def _checkpoint(self) -> None:
        try:
            await self.in_thread(self.sink.checkpoint)
        except Exception as e:  # fails the run as a window's failure would
            if self.failure is None:
                self.failure = e
            if self._tasks is not None:
                self._tasks.cancel_scope.cancel()
        finally:
            self._checkpointing = False

    async def flush(self, at_least: int = 0) -> None:
        """Write the pending visits windows (SQL sinks) in one transaction, if there are
        `at_least` visits pending once the writer is free (another flush may have taken them)."""
        async with self.write_lock:
            if not self._pending or self._pending_visits < at_least:
                return
            items, self._pending, self._pending_visits = self._pending, [], 0
            merged = [concat([i[1] for i in items]), concat([i[2] for i in items])]
            try:
                await anyio.to_thread.run_sync(
                    self.sink.write_window, "visits", [i[0] for i in items], merged
                )
            finally:
                merged.clear()  # as in write_visits: not held by the thread afterwards
        for rec, _, _ in items:
            self.written(rec)

    def written(self, rec: WindowRecord) -> None:
        """Count a committed visits window and report progress."""
        self.records[(rec.id_site, rec.day)] = rec
        s = self.summary
        s.windows_exported += 1
        s.windows_open += rec.status == OPEN
        s.visits += rec.visits or 0
        s.actions += rec.actions or 0
        self.emit("exporting", f"site {rec.id_site}, {rec.day}")

    async def open_sink(
        self, params: dict[str, Any], restart: bool
    ) -> dict[tuple[int, date], WindowRecord]:
        """Open the target, check/record the job; return the windows already recorded."""
        await self.in_thread(self.sink.open)
        state = await self.in_thread(self.sink.load_state, self.kind)
        job = JobInfo(self.kind, params, fingerprint(params))
        if not restart:
            state.check_job(job, self.sink.target)
        await self.in_thread(self.sink.start_job, job, restart)
        return {} if restart else dict(state.windows)

    async def run_all(
        self, items: Sequence[Any], work: Callable[[Any], Awaitable[None]], lanes: int = 0
    ) -> None:
        """Run `work(item)` for each item, `lanes` (default `concurrency`) at a time; stop at
        the first failure."""
        send, receive = anyio.create_memory_object_stream[Any](len(items) or 1)
        for item in items:
            send.send_nowait(item)
        send.close()

        async def worker(tg: anyio.abc.TaskGroup) -> None:
            async with receive.clone() as inbox:
                async for item in inbox:
                    try:
                        await work(item)
                    except Exception as e:  # first failure wins; siblings are cancelled
                        if self.failure is None:
                            self.failure = e
                        tg.cancel_scope.cancel()
                        return

        try:
            async with anyio.create_task_group() as tg:
                self._tasks = tg
                for _ in range(min(lanes or self.concurrency, max(len(items), 1))):
                    tg.start_soon(worker, tg)
        finally:
            self._tasks = None
        receive.close()
        if self.failure is not None:
            raise self.failure

    async def close(self) -> None:
        """Close the sink (shielded: runs even when the export is cancelled)."""
        with anyio.CancelScope(shield=True):
            await self.in_thread(self.sink.close)


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
) -> ExportSummary:
    """Export raw visits and their actions, written and recorded one (site, day) window at a
    time (closed days fetched a few days a request); resumable.

    `client` is an `AsyncMatomo`. `start`/`end` take dates or `YYYY-MM-DD`, `today`,
    `yesterday`, `lastN`, `previousN`, resolved in each site's timezone. Re-running the same
    call after a crash finishes the export with every visit exactly once; a different call
    against the same target raises `StateMismatchError` unless `restart=True`.
    `workers` is how many processes turn pages into rows for DuckDB, Parquet and JSONL
    targets (default: one per CPU; 0 keeps it all in this process).
    """
    _check_common(page_size, concurrency, start, end)
    if workers is not None and workers < 0:
        raise ExportUsageError(f"workers must be 0 or more, not {workers}")
    params: dict[str, Any] = {
        "kind": "visits",
        "sites": _sites_param(sites),
        "from": _date_spec(start),
        "to": _date_spec(end),
        "segment": segment or None,
    }
    encoders: list[PageEncoder] = []

    async def start_workers(sink: Sink) -> None:
        # Workers import for ~0.2 s: let them do it while the sites are listed and the
        # target opened. Those that get no page (nothing left to export) are killed at close.
        encoders.append(
            PageEncoder(sink.encoding, default_workers() if workers is None else workers)
        )
        await encoders[0].start()

    try:
        run, site_list = await _Run.start(
            client, "visits", target, concurrency, progress, sites, start_workers
        )
        windows = _plan(site_list, start, end, now or datetime.now(timezone.utc), settle)
    except BaseException:
        if encoders:
            await encoders[0].aclose()
        raise
    encoder = encoders[0]
    summary = run.summary
    summary.sites = [s.id_site for s in site_list]
    summary.windows_total = len(windows)
    try:
        recorded = await run.open_sink(params, restart)
        todo = [
            w for w in windows if getattr(recorded.get((w.id_site, w.day)), "status", None) != DONE
        ]
        summary.windows_skipped = len(windows) - len(todo)
        run.emit("exporting")
        run.records.update(
            {
                (w.id_site, w.day): recorded[(w.id_site, w.day)]
                for w in windows
                if (w.id_site, w.day) in recorded
            }
        )

        async def one(windows: list[Window]) -> None:
            first, last = windows[0], windows[-1]
            where = f"site {first.id_site}, {first.day}"
            if last is not first:
                where += f" to {last.day}"
            fetched = fetch_run(client, windows, page_size, segment, encoder, in_flight)
            async with contextlib.aclosing(fetched) as stream:
                while True:
                    try:
                        item = await anext(stream, None)
                    except MatomoError as e:  # the fetch's, not the target's (written below)
                        raise _api_error(e, f"cannot export visits of {where}") from e
                    if item is None:
                        return
                    window, visits, actions = item
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

        # Twice as many runs of windows as requests in flight: while a run's page is turned into
        # rows (its next request waits for the page's last visit), another run's request goes.
        lanes = 2 * concurrency
        in_flight = anyio.CapacityLimiter(concurrency)
        run.checkpoint_early(len(todo))
        try:
            await run.run_all(group_runs(todo, run_days(len(todo), lanes)), one, lanes=lanes)
        except BaseException:
            # Keep what was fetched before the failure: a re-run then skips those windows.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await run.flush()
            raise
        # Matomo's own counts are asked for while the last windows are written and the target
        # made durable: on a real server the summary request can take as long as that.
        counts = await _write_rest_while(
            run,
            functools.partial(_fetch_counts, run, site_list, windows, segment)
            if reconcile
            else None,
        )
        if counts is not None and windows:
            run.emit("reconciling")
            await _reconcile(run, site_list, windows, counts, segment)
        run.emit("finishing")
        await run.in_thread(run.sink.finish)
        run.emit("done")
    finally:
        await encoder.aclose()
        await run.close()
    return summary


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


_Counts = list["dict[date, int] | str"]  # per site: Matomo's counts, or why there are none


async def _fetch_counts(
    run: _Run, site_list: Sequence[SiteInfo], windows: Sequence[Window], segment: str | None
) -> _Counts:
    """Matomo's daily visit counts for every site at once: one request each, side by side
    (the client's own concurrency limit applies), so many sites cost about one round trip."""
    results: _Counts = [{} for _ in site_list]
    failure: list[Exception] = []

    async def one(i: int, site: SiteInfo) -> None:
        days = [w.day for w in windows if w.id_site == site.id_site]
        if not days:
            return
        try:
            results[i] = await fetch_counts(run.client, site.id_site, min(days), max(days), segment)
        except MatomoError as e:
            message = getattr(e, "message", None) or str(e)
            results[i] = f"site {site.id_site}: not reconciled ({message})"
        except Exception as e:  # raised as it is below, not inside an exception group
            failure.append(e)

    async with anyio.create_task_group() as tg:
        for i, site in enumerate(site_list):
            tg.start_soon(one, i, site)
    if failure:
        raise failure[0]
    return results


async def _write_rest_while(
    run: _Run, fetch: Callable[[], Awaitable[_Counts]] | None
) -> _Counts | None:
    """Write the pending windows and checkpoint the target ("saving"), running `fetch()`
    meanwhile."""
    got: list[_Counts] = []
    failure: list[Exception] = []

    async def fetch_in_background(fetch: Callable[[], Awaitable[_Counts]]) -> None:
        try:
            got.append(await fetch())
        except Exception as e:  # raised as it is below, not inside an exception group
            failure.append(e)

    async with anyio.create_task_group() as tg:
        if fetch is not None:
            tg.start_soon(fetch_in_background, fetch)
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


async def _reconcile(
    run: _Run,
    site_list: Sequence[SiteInfo],
    windows: Sequence[Window],
    counts: _Counts,
    segment: str | None,
) -> None:
    """Compare each site's recorded windows with Matomo's counts; record them, in site order."""
    updated_all: list[WindowRecord] = []
    for site, site_counts in zip(site_list, counts, strict=True):
        if isinstance(site_counts, str):
            run.summary.warnings.append(site_counts)
            continue
        recs = [
            run.records[(w.id_site, w.day)]
            for w in windows
            if w.id_site == site.id_site and (w.id_site, w.day) in run.records
        ]
        updated, mismatches = compare(recs, site_counts, segment)
        updated_all.extend(updated)
        run.summary.mismatches.extend(mismatches)
    await run.in_thread(run.sink.record_windows, updated_all)
    run.summary.reconciled = True
