"""A visits window's pages (or a run of windows' pages), fetched one after another as rows.

Each page becomes rows as soon as it arrives (`encode.PageEncoder`, possibly in a worker
process), so a window holds its rows, never its decoded pages. A visit sent again on a later
page (it grew while the window was paged) keeps only its latest copy. A run of closed days is
paged as one stream; each page's rows go to the days that own them, and a day is handed on as
soon as the stream has passed its end.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from bisect import bisect_right
from collections.abc import AsyncGenerator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio

from ..errors import DecodeError
from . import spill
from .encode import PageEncoder, PageRows
from .head import HeadStart, live_params, run_cursor
from .schema import ACTIONS, VISITS, Batch, Table
from .spill import SpillDir
from .windows import Window

__all__ = ["concat", "fetch_run", "fetch_window"]

_GONE = (Batch.empty(VISITS), Batch.empty(ACTIONS))  # a spilled part's rows, while on disk


async def _next_page(
    client: Any,
    encoder: PageEncoder,
    cursor: Any,
    bounds: tuple[int, int],
    in_flight: Any,
    head: HeadStart | None = None,
) -> PageRows:
    from ..endpoints.live import LivePageBody

    params = live_params(cursor.params())
    body = None if head is None else await head.take(params)  # asked for beside the sites
    if body is None:
        async with in_flight:
            body = await client.execute(LivePageBody(params))
    rows = await encoder.encode(body, cursor, bounds)
    if rows is None:
        # Not an ordinary page: read it again the way the client reads any page, so that its
        # errors are raised (or retried) exactly as they would be there.
        async with in_flight:
            page, following = await client.live.next_page_raw(cursor)
        rows = encoder.encode_decoded(page, following, bounds, cursor.id_site)
    return rows


class _WindowRows:
    """One window's rows, part by part as pages come; a visit sent twice keeps its last copy.

    With a `SpillDir`, the parts go to a file of their own when the windows in progress hold
    too many rows together (`spill.py`): the first `on_disk` parts are there.
    """

    def __init__(self, spill: SpillDir | None = None) -> None:
        self.parts: list[PageRows] = []
        self.last_part: dict[Any, int] = {}
        self.resent = False
        self.spill_dir = spill
        self.held = 0  # rows of the parts in memory
        self.file: Path | None = None
        self.on_disk = 0

    def add(self, part: PageRows) -> None:
        """Add the rows one page gave this window."""
        for i in part.ids:
            self.resent = self.resent or i in self.last_part
            self.last_part[i] = len(self.parts)
        self.parts.append(part)
        rows = len(part.visits) + len(part.actions)
        self.held += rows
        if self.spill_dir is not None:
            self.spill_dir.held += rows

    @property
    def spill_due(self) -> bool:
        """Whether this window should write its rows in memory to disk now."""
        return self.spill_dir is not None and self.spill_dir.due(self.held)

    def spill(self) -> None:
        """Write the parts held in memory to the window's file (blocking: run in a thread)."""
        assert self.spill_dir is not None
        self.file = self.file or self.spill_dir.new_file()
        fresh = self.parts[self.on_disk :]
        spill.write_parts(self.file, [(p.visits, p.actions) for p in fresh])
        gone = _GONE
        for k in range(self.on_disk, len(self.parts)):
            self.parts[k] = replace(self.parts[k], visits=gone[0], actions=gone[1])
        self.on_disk, self.held = len(self.parts), 0

    def release(self) -> None:
        """Stop counting this window's rows among those in progress (it is handed on)."""
        if self.spill_dir is not None:
            self.spill_dir.held -= self.held
            self.held = 0

    def rows(self) -> tuple[Batch, Batch]:
        """The window's `visits` and `actions` rows, each visit once (spilled rows: read back
        when the writer takes them); they no longer count as in progress."""
        self.release()
        if self.file is None:
            return _merge(self.parts, self.last_part, self.resent)
        file, parts, on_disk = self.file, list(self.parts), self.on_disk
        last, resent = self.last_part, self.resent

        def load() -> tuple[Batch, Batch]:
            for k, (visits, actions) in enumerate(spill.read_parts(file, on_disk)):
                parts[k] = replace(parts[k], visits=visits, actions=actions)
            return _merge(parts, last, resent)

        n_actions = sum(
            n
            for k, part in enumerate(parts)
            for i, n in zip(part.ids, part.n_actions, strict=True)
            if last[i] == k
        )
        taken = spill.Spilled(load)
        return (
            Batch(VISITS, size=len(last), deferred=functools.partial(taken.take, 0)),
            Batch(ACTIONS, size=n_actions, deferred=functools.partial(taken.take, 1)),
        )


def _merge(parts: Sequence[PageRows], last: dict[Any, int], resent: bool) -> tuple[Batch, Batch]:
    """The parts' `visits` and `actions` rows, each visit from the last part that has it."""
    rows = (
        [_latest_only(part, k, last) for k, part in enumerate(parts)]
        if resent
        else [(p.visits, p.actions) for p in parts]
    )
    return concat([r[0] for r in rows], VISITS), concat([r[1] for r in rows], ACTIONS)


async def _add(acc: _WindowRows, part: PageRows) -> None:
    """`acc.add(part)`, then spill the window's rows if the windows in progress hold too many."""
    acc.add(part)
    if acc.spill_due:
        assert acc.spill_dir is not None
        acc.spill_dir.held -= acc.held  # leaving memory: other windows need not spill too
        await anyio.to_thread.run_sync(acc.spill)


async def fetch_window(
    client: Any,
    window: Window,
    page_size: int,
    segment: str | None,
    encoder: PageEncoder,
    in_flight: Any = None,
    spill_dir: SpillDir | None = None,
) -> tuple[Batch, Batch]:
    """The `visits` and `actions` rows of every visit the window owns, each visit once;
    `in_flight` (an async context manager, e.g. a capacity limiter) is held around each request;
    a busy window's rows wait in `spill_dir` (`spill.py`)."""
    from .. import Cursor, Limit, Period

    in_flight = in_flight or contextlib.nullcontext()
    # From the window's own midnight: Matomo reads today's date from yesterday's (matomo#22543).
    after = window.start_ts - 1
    day = Period.day(window.day)
    cursor: Any = Cursor(window.id_site, day, Limit(page_size), segment, min_timestamp=after)
    bounds = (window.start_ts, window.end_ts)
    acc = _WindowRows(spill_dir)
    while cursor is not None:
        part = await _next_page(client, encoder, cursor, bounds, in_flight)
        cursor = part.cursor
        await _add(acc, part)
        if window.closed and cursor is not None and cursor.caught_up:
            # A short page (see _core/paging.py) returned every visit after minTimestamp; in a
            # closed window none can arrive or grow any more, so the last page a live window
            # needs (nothing new on it) would be a wasted round trip.
            break
    return acc.rows()


async def fetch_run(
    client: Any,
    run: Sequence[Window],
    page_size: int,
    segment: str | None,
    encoder: PageEncoder,
    in_flight: Any = None,
    spill_dir: SpillDir | None = None,
    head: HeadStart | None = None,
) -> AsyncGenerator[tuple[Window, Batch, Batch], None]:
    """Each window of `run` with its `visits` and `actions` rows, in order, as soon as it is
    whole. The windows are consecutive closed days of one site (`windows.group_runs`), paged
    as one `period=range` stream; a run of one window is fetched as `fetch_window` does.
    `head`: the export's head start, which may hold the run's first page (`head.py`)."""
    if len(run) == 1:
        visits, actions = await fetch_window(
            client, run[0], page_size, segment, encoder, in_flight, spill_dir
        )
        yield run[0], visits, actions
        return
    in_flight = in_flight or contextlib.nullcontext()
    first, last = run[0], run[-1]
    cursor: Any = run_cursor(run, page_size, segment)
    bounds = (first.start_ts, last.end_ts)
    ends = [w.end_ts for w in run]
    accs = [_WindowRows(spill_dir) for _ in run]
    done = 0  # the windows before this one are yielded
    while cursor is not None:
        part = await _next_page(client, encoder, cursor, bounds, in_flight, head)
        head = None  # only a first page is asked for ahead
        cursor = part.cursor
        for k, piece in _split(part, ends):
            if k < done:  # paging checks order and minTimestamp, so only a broken server
                raise DecodeError(
                    "Live.getLastVisitsDetails",
                    f"the server sent visits of {run[k].day} after a later day's visits",
                )
            await _add(accs[k], piece)
        if cursor is not None and cursor.caught_up:
            break  # a short page: every visit of these closed days came (see fetch_window)
        # The next page asks from the newest second seen: every visit before it came, so the
        # windows that end by then are whole.
        reached = cursor.min_timestamp + 1 if cursor is not None else ends[-1]
        while done < len(run) and ends[done] <= reached:
            yield run[done], *_rows_of(accs[done], encoder)
            accs[done] = _WindowRows(spill_dir)
            done += 1
    for k in range(done, len(run)):
        yield run[k], *_rows_of(accs[k], encoder)


def _rows_of(acc: _WindowRows, encoder: PageEncoder) -> tuple[Batch, Batch]:
    if not acc.parts:  # a day without visits: no rows, in the form the pages come in
        acc.add(encoder.encode_decoded([], None, (0, 0)))
    return acc.rows()


def _split(part: PageRows, ends: Sequence[int]) -> list[tuple[int, PageRows]]:
    """`part`'s rows by the window (index into `ends`, each window's end) that owns each visit.

    Rows come in ascending order of last action, so each window's rows are one slice of the
    page: Arrow slices share the page's buffers, so splitting a page copies none of its rows.
    """
    last = len(ends) - 1
    owner = [min(bisect_right(ends, int(ts)), last) for ts in part.stamps]
    if not owner:
        return []
    if len(set(owner)) == 1:
        return [(owner[0], part)]
    if any(a > b for a, b in itertools.pairwise(owner)):  # never from an ordered page
        return [(k, _subset(part, [o == k for o in owner])) for k in sorted(set(owner))]
    pieces = []
    start = action = 0
    for k, group in itertools.groupby(owner):
        stop = start + len(list(group))
        n_actions = part.n_actions[start:stop]
        upto = action + sum(n_actions)
        piece = PageRows(
            part.cursor,
            part.ids[start:stop],
            n_actions,
            rows_slice(part.visits, start, stop),
            rows_slice(part.actions, action, upto),
            part.stamps[start:stop],
        )
        pieces.append((k, piece))
        start, action = stop, upto
    return pieces


def _subset(part: PageRows, keep: Sequence[bool]) -> PageRows:
    """The rows of `part` whose flag in `keep` is true."""
    keep_actions = [f for f, n in zip(keep, part.n_actions, strict=True) for _ in range(n)]
    return PageRows(
        part.cursor,
        [i for i, f in zip(part.ids, keep, strict=True) if f],
        [n for n, f in zip(part.n_actions, keep, strict=True) if f],
        take(part.visits, keep),
        take(part.actions, keep_actions),
        [t for t, f in zip(part.stamps, keep, strict=True) if f],
    )


def _latest_only(part: PageRows, k: int, last_part: dict[Any, int]) -> tuple[Batch, Batch]:
    """The rows of part `k` without the visits (and their actions) a later part sent again."""
    keep = [last_part[i] == k for i in part.ids]
    if all(keep):
        return part.visits, part.actions
    kept = _subset(part, keep)
    return kept.visits, kept.actions


def take(batch: Batch, keep: Sequence[bool]) -> Batch:
    """The rows of `batch` whose flag in `keep` is true, in the batch's own form."""
    if batch.arrow is not None:
        import pyarrow as pa

        return Batch(batch.table, arrow=batch.arrow.filter(pa.array(keep, pa.bool_())))
    if batch.jsonl is not None:
        lines = batch.jsonl.split(b"\n")[:-1]  # one line per row, see files.jsonl_bytes
        kept = [line for line, flag in zip(lines, keep, strict=True) if flag]
        return Batch(batch.table, jsonl=b"".join(k + b"\n" for k in kept), size=len(kept))
    return Batch(
        batch.table,
        {
            name: [x for x, flag in zip(col, keep, strict=True) if flag]
            for name, col in batch.columns.items()
        },
    )


def rows_slice(batch: Batch, start: int, stop: int) -> Batch:
    """Rows `start` to `stop` of `batch`, in the batch's own form (Arrow: no copy)."""
    if batch.arrow is not None:
        return Batch(batch.table, arrow=batch.arrow.slice(start, stop - start))
    if batch.jsonl is not None:
        lines = batch.jsonl.split(b"\n")[start:stop]  # one line per row, see files.jsonl_bytes
        return Batch(batch.table, jsonl=b"".join(k + b"\n" for k in lines), size=len(lines))
    return Batch(batch.table, {name: col[start:stop] for name, col in batch.columns.items()})


def concat(batches: Sequence[Batch], table: Table | None = None) -> Batch:
    """One batch holding the rows of `batches` (all of `table`, all in one form), in order."""
    if len(batches) == 1:
        return batches[0]
    table = table or batches[0].table
    if batches and all(b.arrow is not None for b in batches):
        import pyarrow as pa

        return Batch(table, arrow=pa.concat_tables([b.arrow for b in batches]))
    if batches and all(b.jsonl is not None for b in batches):
        return Batch(
            table, jsonl=b"".join(b.jsonl or b"" for b in batches), size=sum(map(len, batches))
        )
    out = Batch.empty(table)
    for b in batches:
        for name, col in out.columns.items():
            col.extend(b.column(name))
    return out
