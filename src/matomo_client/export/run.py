"""One export run's shared state (`_Run`), shared by the visits and the reports exports.

A run resolves the sites while its target's module loads, opens the target and checks its
manifest against the command (`resume.py`), runs windows side by side (`run_all`), and writes
through one worker thread at a time: visits windows to SQL targets go several to a transaction
(`FLUSH_VISITS`). It logs on `matomo_client.export` (INFO: the start, each window written, the
reconciliation and the end; WARNING: the summary's warnings). The arguments' checks live in
`arguments.py` and the manifest's in `resume.py`; their names are re-exported here.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

import anyio

from ..errors import MatomoError
from .arguments import SitesArg, _check_async, _sites_param
from .errors import ExportApiError, ExportUsageError
from .pages import concat
from .progress import ExportProgress, ExportSummary, ProgressCallback
from .resume import (
    MIXED,
    _check_timezones,
    _kept_action_times,
    _kept_timezones,
    gone_warning,
    local_action_times_warning,
)
from .runlog import SHOWN_SITES, RunLog, id_list
from .schema import Batch
from .sinks import DEFAULT_TARGET, Sink, open_target
from .sinks.sql import SqlSink
from .sites import PreflightFailed, SiteInfo, visible_sites
from .state import OPEN, JobInfo, WindowRecord, fingerprint

__all__ = ["FLUSH_VISITS", "SiteInfo", "SitesArg"]

# Visits a SQL sink's transaction waits for (see `_Run.write_visits`): past ~2,000 visits the
# commit's fixed cost is a few percent of the rows' cost.
FLUSH_VISITS = 2000


def _api_error(e: MatomoError, where: str) -> ExportApiError:
    message = getattr(e, "message", None) or str(e)
    return ExportApiError(f"{where}: {message}")


async def _resolve_sites(client: Any, sites: SitesArg) -> list[SiteInfo]:
    """Resolve `sites` against the sites the token can view."""
    wanted = _sites_param(sites)
    try:
        by_id = await visible_sites(client)
    except PreflightFailed as e:  # not the sites' fault: the server is not usable at all
        raise _api_error(e.error, "cannot start the export") from e.error
    except MatomoError as e:
        raise _api_error(e, "cannot list sites") from e
    if wanted == "all":
        if not by_id:
            raise ExportUsageError("this token cannot view any site")
        return [by_id[i] for i in sorted(by_id)]
    assert not isinstance(wanted, str)
    missing = [i for i in wanted if i not in by_id]
    if missing:
        # Both lists cut: 300 visible sites made a line of 1,500 characters, 20,000 unknown
        # ids one of 129 KB.
        seen = id_list(sorted(by_id)) or "none"
        if len(by_id) > SHOWN_SITES:
            seen += ": see matomo sites"
        which = f"site {missing[0]} does" if len(missing) == 1 else f"sites {id_list(missing)} do"
        it = "it" if len(missing) == 1 else "them"
        raise ExportUsageError(
            f"{which} not exist or this token cannot view {it} (visible sites: {seen})"
        )
    return [by_id[i] for i in wanted]


async def _sink_call(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a worker thread; if this task is cancelled meanwhile, return (raise)
    only once the call is over, or certain never to start.

    anyio does not cancel a thread's wait, but asyncio's own `Task.cancel()` does, and
    `asyncio.run` sends it on Ctrl-C (the `matomo` command on SIGTERM too): the writer's lock
    was then let go under a running write and `close` ran beside it (SQLite crashed the
    process, DuckDB raised "connection is busy with another call"). A call cancelled before
    its thread took it up is skipped by anyio: it must not be waited for.
    """
    lock = threading.Lock()
    state = ["waiting"]  # -> "running" (in the thread) or "skipped" (cancelled first)
    done = threading.Event()

    def call() -> Any:
        with lock:
            if state[0] == "skipped":
                return None
            state[0] = "running"
        try:
            return fn(*args)
        finally:
            done.set()

    try:
        return await anyio.to_thread.run_sync(call)
    except BaseException:
        with lock:
            if state[0] == "waiting":
                state[0] = "skipped"
        if state[0] == "running":
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(done.wait)
        raise


def _write_resolved(sink: Sink, records: list[WindowRecord], batches: list[Any]) -> None:
    """`sink.write_window` of visits windows, in the writer's thread: each batch (or list of
    batches, concatenated) with its rows in memory, rows spilled to disk read back here."""
    for k, b in enumerate(batches):
        batches[k] = concat([x.resolve() for x in b]) if isinstance(b, list) else b.resolve()
    try:
        sink.write_window("visits", records, batches)
    finally:
        batches.clear()


class _Run(RunLog):
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
        self._handed = 0  # visits windows handed to the writer, not committed yet
        self._handed_visits = 0  # ...and their visits and actions
        self._handed_actions = 0
        # Committed visits windows after which the target is checkpointed once, beside the
        # fetching of the last ones (`plan_checkpoint`); None: only when it closes.
        self.checkpoint_after: int | None = None
        self._fetching: anyio.CapacityLimiter | None = None
        self._checkpointing = False
        self._tasks: anyio.abc.TaskGroup | None = None  # `run_all`'s, while it runs
        self.records: dict[tuple[int, date], WindowRecord] = {}
        self.refetching: set[tuple[int, date]] = set()  # done windows fetched again (short)
        self.failure: BaseException | None = None
        self.site_ids: list[int] = []  # the sites of the run (`start`)
        self._stats0 = self._stats()
        self._started = time.monotonic()
        self._logged_start = False  # `log_end` follows a `log_start` only

    def _stats(self) -> tuple[int, int]:
        stats = getattr(self.client, "stats", None)
        return (getattr(stats, "requests", 0), getattr(stats, "retries", 0))

    def count_requests(self) -> None:
        """Update the summary's request counters."""
        req, ret = self._stats()
        self.summary.requests = req - self._stats0[0]
        self.summary.retries = ret - self._stats0[1]

    def emit(self, phase: str, last: str | None = None) -> None:
        """Update request counters and call the progress callback."""
        self.count_requests()
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
                windows_pending=self._handed,
                visits_pending=self._handed_visits,
                actions_pending=self._handed_actions,
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
        (DuckDB, pyarrow: about 0.1 s to import) loads in a thread, `Sink.connect` runs there,
        then `prepare(sink)`. The target's error comes first; a failed start closes the sink."""
        _check_async(client)
        stats = getattr(client, "stats", None)
        before = (getattr(stats, "requests", 0), getattr(stats, "retries", 0))
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
                await anyio.to_thread.run_sync(sink.connect)
            except Exception as e:
                failure.insert(0, e)
                tg.cancel_scope.cancel()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(load, tg)
                try:
                    site_list = await _resolve_sites(client, sites)
                except Exception as e:
                    failure.append(e)
            if failure:
                raise failure[0]
        except BaseException:
            if loaded:  # DuckDB's `connect` removes a file it created for nothing
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(loaded[0].close)
            raise
        run = cls(client, kind, loaded[0], concurrency, progress)
        run._stats0 = before  # the sites' request (and the preflight's) counts too
        run.site_ids = [s.id_site for s in site_list]
        return run, site_list

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a sink call in a worker thread, one at a time."""
        async with self.write_lock:
            return await _sink_call(fn, *args)

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
                await self.in_thread(_write_resolved, self.sink, [rec], batches)
            finally:
                # The thread may hold its arguments a moment after the call has returned
                # (anyio reports the result first): the rows must not outlive the write.
                batches.clear()
            self.written(rec)
            return
        self._pending.append((rec, visits, actions))
        self._pending_visits += len(visits)
        # Reported as pending at once: a bar of done windows alone stayed at 0 until the end
        # of an export of fewer than FLUSH_VISITS visits.
        self._handed += 1
        self._handed_visits += rec.visits or 0
        self._handed_actions += rec.actions or 0
        self.emit("exporting", f"site {rec.id_site}, {rec.day}")
        if self._pending_visits >= FLUSH_VISITS * (2 if self._checkpointing else 1):
            await self.flush(FLUSH_VISITS)

    async def flush(self, at_least: int = 0) -> None:
        """Write the pending visits windows (SQL sinks) while `at_least` visits are pending
        once the writer is free (another flush may have taken them), about `FLUSH_VISITS` a
        transaction.

        Windows that piled up behind a slow write (DuckDB checkpointing, say) go in several
        transactions, not one: in one, up to 18,000 visits at once, the export of 480,000 visits
        from a fast server peaked 30-60 MB higher.
        """
        async with self.write_lock:
            while self._pending and self._pending_visits >= at_least:
                items = self._take(FLUSH_VISITS)
                batches = [[i[1] for i in items], [i[2] for i in items]]
                try:
                    await _sink_call(_write_resolved, self.sink, [i[0] for i in items], batches)
                finally:
                    batches.clear()  # as in write_visits: not held by the thread afterwards
                for rec, _, _ in items:
                    self._handed -= 1
                    self._handed_visits -= rec.visits or 0
                    self._handed_actions -= rec.actions or 0
                    self.written(rec)
        self._maybe_checkpoint()

    def plan_checkpoint(self, windows: int, in_flight: anyio.CapacityLimiter) -> None:
        """Checkpoint the target once three quarters of the export's `windows` are committed,
        while its last pages are fetched (`in_flight` holds their requests)."""
        self.checkpoint_after = windows * 3 // 4 if windows >= 8 else None
        self._fetching = in_flight

    def _maybe_checkpoint(self) -> None:
        """Start `_checkpoint_beside` once `checkpoint_after` windows are committed, unless no
        page is being fetched any more: then the checkpoint on closing has the same work."""
        due, tasks = self.checkpoint_after, self._tasks
        if due is None or tasks is None or self.summary.windows_exported < due:
            return
        self.checkpoint_after = None
        if self._fetching is not None and self._fetching.borrowed_tokens > 0:
            tasks.start_soon(self._checkpoint_beside, tasks)

    async def _checkpoint_beside(self, tasks: anyio.abc.TaskGroup) -> None:
        """Checkpoint the target while the export's last pages are fetched, so that closing
        it has little left to compress (DuckDB: a few hundredths of a second instead of 0.15 s
        for 20,000 visits).

        Windows fetched meanwhile wait, up to twice `FLUSH_VISITS` visits, then go in.
        """
        try:
            async with self.write_lock:
                self._checkpointing = True
                try:
                    await _sink_call(self.sink.checkpoint)
                finally:
                    self._checkpointing = False
            await self.flush(FLUSH_VISITS)
        except Exception as e:  # as a window's failure in `run_all`
            if self.failure is None:
                self.failure = e
            tasks.cancel_scope.cancel()

    def _take(self, visits: int) -> list[tuple[WindowRecord, Batch, Batch]]:
        """The oldest pending windows, as few as hold `visits` visits (at least one window)."""
        count = taken = 0
        while taken < len(self._pending) and (taken == 0 or count < visits):
            count += len(self._pending[taken][1])
            taken += 1
        items, self._pending = self._pending[:taken], self._pending[taken:]
        self._pending_visits -= count
        return items

    def kept(self, id_site: int, day: date) -> None:
        """Count a done window fetched again that gave no more visits: its rows stay."""
        self.summary.windows_skipped += 1
        self.summary.windows_kept.append((id_site, day))
        self.emit("exporting", f"site {id_site}, {day}")
        self.log_kept(id_site, day)

    def written(self, rec: WindowRecord) -> None:
        """Count a committed visits window and report progress."""
        self.records[(rec.id_site, rec.day)] = rec
        s = self.summary
        s.windows_exported += 1
        s.windows_refetched += (rec.id_site, rec.day) in self.refetching
        s.windows_open += rec.status == OPEN
        s.visits += rec.visits or 0
        s.actions += rec.actions or 0
        self.emit("exporting", f"site {rec.id_site}, {rec.day}")
        self.log_written(rec)

    async def open_sink(
        self, params: dict[str, Any], restart: bool
    ) -> dict[tuple[int, date], WindowRecord]:
        """Open the target, check/record the job; return the windows already recorded."""
        await self.in_thread(self.sink.open)
        state = await self.in_thread(self.sink.load_state, self.kind)
        # The sites' timezones are recorded, not part of the command: a site added to `all`
        # changes them, and only a changed one matters (`_check_timezones`).
        if not restart and "timezones" in params:
            params = {**params, "timezones": _kept_timezones(state.job, params, state.windows)}
        if not restart and "action_times" in params:
            params = {**params, "action_times": _kept_action_times(state.job, state.windows)}
        job = JobInfo(self.kind, params, fingerprint(params))
        if not restart:
            state.check_job(job, self.sink.target)
            _check_timezones(state.job, params, state.windows, self.sink.target)
        await self.in_thread(self.sink.start_job, job, restart)
        if restart:
            return {}
        notes: list[str | None] = []
        if params.get("sites") == "all":
            notes.append(gone_warning(state.windows, self.site_ids))
        if params.get("action_times") == MIXED:
            notes.append(local_action_times_warning(params, state.windows))
        self.summary.warnings.extend(n for n in notes if n)
        return dict(state.windows)

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

        with receive:  # closed also when the group is cancelled from outside
            try:
                async with anyio.create_task_group() as tg:
                    self._tasks = tg
                    for _ in range(min(lanes or self.concurrency, max(len(items), 1))):
                        tg.start_soon(worker, tg)
            finally:
                self._tasks = None
        if self.failure is not None:
            raise self.failure

    async def close(self) -> None:
        """Close the sink (shielded: runs even when the export is cancelled)."""
        with anyio.CancelScope(shield=True):
            await self.in_thread(self.sink.close)
