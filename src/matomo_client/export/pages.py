"""A visits window's pages, fetched one after another and turned into its rows.

Each page becomes rows as soon as it arrives (`encode.PageEncoder`, possibly in a worker
process), so a window holds its rows, never its decoded pages. A visit sent again on a later
page (it grew while the window was paged) keeps only its latest copy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from .encode import PageEncoder, PageRows
from .schema import ACTIONS, LIVE_HIDDEN, VISITS, Batch, Table
from .windows import Window

__all__ = ["concat", "fetch_window"]

_HIDDEN = ",".join(LIVE_HIDDEN)  # presentation keys Matomo need not send (see schema.py)


async def _next_page(
    client: Any, encoder: PageEncoder, cursor: Any, bounds: tuple[int, int], in_flight: Any
) -> PageRows:
    from ..endpoints.live import LivePageBody

    params = cursor.params().set("hideColumns", _HIDDEN).set("hideColumnsRecursively", 1)
    async with in_flight:
        body = await client.execute(LivePageBody(params))
    rows = await encoder.encode(body, cursor, bounds)
    if rows is None:
        # Not an ordinary page: read it again the way the client reads any page, so that its
        # errors are raised (or retried) exactly as they would be there.
        async with in_flight:
            page, following = await client.live.next_page_raw(cursor)
        rows = encoder.encode_decoded(page, following, bounds)
    return rows


async def fetch_window(
    client: Any,
    window: Window,
    page_size: int,
    segment: str | None,
    encoder: PageEncoder,
    in_flight: Any = None,
) -> tuple[Batch, Batch]:
    """The `visits` and `actions` rows of every visit the window owns, each visit once;
    `in_flight` (an async context manager, e.g. a capacity limiter) is held around each request."""
    from .. import Cursor, Limit, Period

    in_flight = in_flight or contextlib.nullcontext()
    cursor: Any = Cursor(window.id_site, Period.day(window.day), Limit(page_size), segment)
    bounds = (window.start_ts, window.end_ts)
    parts: list[PageRows] = []
    last_part: dict[Any, int] = {}
    resent = False
    while cursor is not None:
        part = await _next_page(client, encoder, cursor, bounds, in_flight)
        cursor = part.cursor
        for i in part.ids:
            resent = resent or i in last_part
            last_part[i] = len(parts)
        parts.append(part)
        if window.closed and cursor is not None and not cursor.seen:
            # A short page (the next cursor skips nothing, see _core/paging.py) returned every
            # visit after minTimestamp; in a closed window none can arrive or grow any more, so
            # the empty terminator page a live window needs would be a wasted round trip.
            break
    rows = (
        [_latest_only(part, k, last_part) for k, part in enumerate(parts)]
        if resent
        else [(p.visits, p.actions) for p in parts]
    )
    return concat([r[0] for r in rows], VISITS), concat([r[1] for r in rows], ACTIONS)


def _latest_only(part: PageRows, k: int, last_part: dict[Any, int]) -> tuple[Batch, Batch]:
    """The rows of part `k` without the visits (and their actions) a later part sent again."""
    keep = [last_part[i] == k for i in part.ids]
    if all(keep):
        return part.visits, part.actions
    keep_actions = [flag for flag, n in zip(keep, part.n_actions, strict=True) for _ in range(n)]
    return take(part.visits, keep), take(part.actions, keep_actions)


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
