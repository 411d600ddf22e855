"""One Live page to rows, in this process or in a worker process.

Decoding a page of 1,000 visits and building its declared rows costs about 50 ms of CPU, all of
it under one GIL, while the export itself mostly waits on the network. So the engine fetches a
page's bytes and hands them to `encode_page`, which returns the next cursor, the ids of the
visits kept and the rows already in the form the sink writes (`Encoding`):

* `arrow`: a `pyarrow.Table` (DuckDB and Parquet insert it without Python work per row);
* `jsonl`: the JSON lines themselves (JSONL);
* `batch`: Python columns (the other targets, whose drivers want Python values).

The page is decoded into msgspec structs once this process has learnt the keys of Live pages
from one decoded with orjson (`page_structs.py`): both ways give the same rows.

`PageEncoder` runs it in worker processes (`_workers.py`) when the page is big enough to
pay for the trip and the sink takes `arrow` or `jsonl`, whose results cross the process boundary
cheaply; otherwise here. A page with anything unusual about it (not JSON, not a list of visit
objects, keys paging cannot use) gives None: the engine then reads that page again the ordinary
way, whose errors and retries are the client's own.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from datetime import timezone, tzinfo
from typing import TYPE_CHECKING, Any, Literal

import orjson

from .._core.paging import Cursor, advance, keys_of, step
from .._core.periods import site_tz
from ..errors import DecodeError
from ._workers import WorkerError, WorkerPool, WorkerStartError
from .rows import build_visit_rows
from .schema import ACTIONS, VISITS, Batch

if TYPE_CHECKING:
    from .page_structs import DecodedPage, PageStructs

__all__ = ["Encoding", "PageEncoder", "PageRows", "encode_page", "encode_visits"]

Encoding = Literal["batch", "arrow", "jsonl"]

# Below this many bytes a page is encoded here: the trip to a worker (two pickles, two pipes,
# ~1 ms) would cost more than it saves. 64 KB is about 15 visits with their actions.
MIN_WORKER_BODY = 64 * 1024


@dataclass(frozen=True)
class PageRows:
    """What one page gives the window: the next cursor, the visits kept and their rows."""

    cursor: Cursor | None
    ids: list[Any]  # each kept visit's idVisit as Matomo sent it, in row order
    n_actions: list[int]  # each kept visit's number of `actions` rows
    visits: Batch
    actions: Batch
    stamps: list[Any]  # each kept visit's lastActionTimestamp as Matomo sent it, in row order


def encode_visits(
    page: list[dict[str, Any]],
    cursor: Cursor | None,
    bounds: tuple[int, int],
    encoding: Encoding,
    tz: str | None = None,
) -> PageRows:
    """The rows of the decoded, not yet seen visits `page` that the window `bounds` owns (`tz`:
    the site's timezone, by which Matomo shifts its actions' times)."""
    timestamps = [v.get("lastActionTimestamp") for v in page]
    mine, ids = _owned(timestamps, [v.get("idVisit") for v in page], bounds)
    if len(mine) != len(page):
        page = [page[i] for i in mine]
    n_actions, visits, actions = build_visit_rows(page, encoding == "arrow", _tz(tz))
    del page
    stamps = [timestamps[i] for i in mine]
    return _page_rows(cursor, ids, n_actions, visits, actions, encoding, stamps)


def _owned(
    timestamps: list[Any], ids: list[Any], bounds: tuple[int, int]
) -> tuple[list[int], list[Any]]:
    """The positions of the visits the window `bounds` owns, and their idVisit values."""
    lo, hi = bounds
    # Matomo's day includes the next midnight; that visit belongs to the next window. A
    # timestamp sent as a string counts as its number (the pager reads it so); one that is no
    # number keeps its visit here, for the pager to refuse with its own error.
    mine = [i for i, ts in enumerate(timestamps) if _within(ts, lo, hi)]
    owned = [ids[i] for i in mine]
    if len(set(owned)) != len(owned):  # the same visit twice in one page: the later copy
        mine = list({ids[i]: i for i in mine}.values())
        owned = [ids[i] for i in mine]
    return mine, owned


def _within(ts: Any, lo: int, hi: int) -> bool:
    """Whether raw timestamp `ts` lies in [lo, hi), or cannot be read as a number."""
    if type(ts) is not int:
        try:
            ts = int(ts)
        except (TypeError, ValueError):
            return True
    return bool(lo <= ts < hi)


def _page_rows(
    cursor: Cursor | None,
    ids: list[Any],
    n_actions: list[int],
    visits: Batch,
    actions: Batch,
    encoding: Encoding,
    stamps: list[Any],
) -> PageRows:
    if encoding == "arrow":
        from .sinks.arrow import to_arrow

        visits = Batch(VISITS, arrow=to_arrow(visits))
        actions = Batch(ACTIONS, arrow=to_arrow(actions))
    elif encoding == "jsonl":
        from .sinks.files import jsonl_bytes

        visits = Batch(VISITS, jsonl=jsonl_bytes(visits), size=len(visits))
        actions = Batch(ACTIONS, jsonl=jsonl_bytes(actions), size=len(actions))
    return PageRows(cursor, ids, n_actions, visits, actions, stamps)


# Pages this big or bigger are decoded into structs (see page_structs.py). Below it the gain
# is small, and a process that only ever encodes small pages (the exporting process, when
# workers take the big ones) does not import msgspec (~40 ms) and does not learn keys.
MIN_STRUCT_BODY = MIN_WORKER_BODY
# This process's struct decoder, made on first use; it learns the pages' keys as it goes.
_STRUCTS: PageStructs | None = None


def _structs() -> PageStructs:
    global _STRUCTS
    if _STRUCTS is None:
        from .page_structs import PageStructs

        _STRUCTS = PageStructs()
    return _STRUCTS


def encode_page(
    body: bytes | memoryview,
    cursor: Cursor,
    bounds: tuple[int, int],
    encoding: Encoding,
    tz: str | None = None,
) -> PageRows | None:
    """The `PageRows` of a Live page's body, or None when the page is not an ordinary one."""
    enabled = gc.isenabled()
    gc.disable()  # decoding and building create no cycles; see build_visit_rows
    try:
        structs = _structs() if len(body) >= MIN_STRUCT_BODY else None
        decoded = structs.decode(body) if structs is not None else None
        if decoded is not None:
            return _encode_structs(decoded, cursor, bounds, encoding, tz)
        try:
            page = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if isinstance(page, dict) and not page:
            page = []  # Matomo's empty answer can be `{}`
        if not isinstance(page, list) or not all(type(v) is dict for v in page):
            return None
        if structs is not None:
            structs.learn(page)
        try:
            fresh, following = advance(cursor, page)
        except (DecodeError, ValueError):
            return None
        del page
        return encode_visits(fresh, following, bounds, encoding, tz)
    finally:
        if enabled:
            gc.enable()


def _encode_structs(
    page: DecodedPage, cursor: Cursor, bounds: tuple[int, int], encoding: Encoding, tz: str | None
) -> PageRows | None:
    """`encode_page` of a page decoded into structs: the same steps, by position."""
    timestamps, ids = page.keys()
    try:
        fresh, following = step(cursor, keys_of(timestamps, ids))
    except (DecodeError, ValueError):
        return None
    fresh_ts = [timestamps[i] for i in fresh]
    mine, owned = _owned(fresh_ts, [ids[i] for i in fresh], bounds)
    n_actions, visits, actions = page.batches(
        [fresh[i] for i in mine], encoding == "arrow", _tz(tz)
    )
    stamps = [fresh_ts[i] for i in mine]
    return _page_rows(following, owned, n_actions, visits, actions, encoding, stamps)


def _tz(name: str | None) -> tzinfo | None:
    """The tzinfo of a site timezone name; None for UTC (nothing to shift)."""
    if name is None:
        return None
    tz = site_tz(name)
    return None if tz is timezone.utc else tz


def default_workers() -> int:
    """How many worker processes an export uses by default: one per CPU, none on one CPU."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 0 if not cpus or cpus < 2 else min(cpus, 8)


_WORKER_ENCODINGS: dict[str, Encoding] = {"arrow": "arrow", "jsonl": "jsonl"}


class PageEncoder:
    """Runs `encode_page` for one export: in up to `workers` processes, or in this one."""

    def __init__(self, encoding: str, workers: int) -> None:
        # Columns stay in this process: pickling Python lists back would cost what it saves.
        self.encoding: Encoding = _WORKER_ENCODINGS.get(encoding, "batch")
        self.workers = workers if self.encoding != "batch" else 0
        self._pool: WorkerPool | None = None
        # Each site's timezone, once the sites are known: Matomo shifts action times by it.
        self.timezones: dict[int, str | None] = {}

    async def start(self) -> None:
        """Start the worker processes ahead of the first page (they take ~0.2 s to import)."""
        if self.workers and self._pool is None:
            self._pool = WorkerPool(self.workers)
            try:
                await self._pool.start()
            except WorkerStartError:
                self.workers = 0  # pages are encoded in this process, as without workers

    async def encode(self, body: bytes, cursor: Cursor, bounds: tuple[int, int]) -> PageRows | None:
        """The `PageRows` of one page's body (None: read the page the ordinary way)."""
        tz = self.timezones.get(cursor.id_site)
        if not self.workers or len(body) < MIN_WORKER_BODY:
            return encode_page(body, cursor, bounds, self.encoding, tz)
        if self._pool is None:
            self._pool = WorkerPool(self.workers)
        try:
            rows: PageRows | None = await self._pool.run((cursor, bounds, self.encoding, tz), body)
        except WorkerError as e:
            # The page is still here: encode it in this process. A worker that died is replaced
            # on the next page; if none can be started, the rest of the run stays here.
            if isinstance(e, WorkerStartError):
                self.workers = 0
            return encode_page(body, cursor, bounds, self.encoding, tz)
        return rows

    def encode_decoded(
        self,
        page: list[dict[str, Any]],
        cursor: Cursor | None,
        bounds: tuple[int, int],
        id_site: int | None = None,
    ) -> PageRows:
        """The `PageRows` of a page of site `id_site` the client decoded itself (the ordinary
        way)."""
        tz = None if id_site is None else self.timezones.get(id_site)
        return encode_visits(page, cursor, bounds, self.encoding, tz)

    async def aclose(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
