"""Page bodies reach worker processes through a shared memory file (Linux), or by pipe."""

from __future__ import annotations

import os
import sys
from datetime import date
from typing import Any

import orjson
import pytest

from matomo_client import Cursor, Limit, Period
from matomo_client.export import _workers
from matomo_client.export._workers import WorkerPool
from matomo_client.export.encode import encode_page

pytestmark = pytest.mark.anyio

DAY = date(2024, 3, 1)
START = 1_709_251_200  # 2024-03-01 00:00 UTC
BOUNDS = (START, START + 86_400)
needs_memfd = pytest.mark.skipif(
    not hasattr(os, "memfd_create"), reason="no memfd_create here (not Linux): bodies go by pipe"
)


def _body(first: int, n: int, pad: int = 0) -> bytes:
    """A Live page of `n` visits from idVisit `first`, each with a `pad`-character title."""
    return orjson.dumps(
        [
            {
                "idSite": 1,
                "idVisit": i,
                "lastActionTimestamp": START + i,
                "actionDetails": [
                    {"type": "action", "url": f"/p/{i}", "title": "x" * pad, "timestamp": START + i}
                ],
            }
            for i in range(first, first + n)
        ]
    )


def _args() -> tuple[Any, ...]:
    return (Cursor(1, Period.day(DAY), Limit(100_000)), BOUNDS, "jsonl")


async def _through_one_worker(bodies: list[bytes]) -> list[Any]:
    pool = WorkerPool(1)
    try:
        return [await pool.run(_args(), body) for body in bodies]
    finally:
        await pool.aclose()


def _expected(body: bytes) -> Any:
    rows = encode_page(body, *_args())
    assert rows is not None
    return rows


@needs_memfd
async def test_bodies_go_through_a_shared_file_that_grows_for_a_bigger_body() -> None:
    """Consecutive pages through one worker, a long one (growing the file past its first
    size), then a short one over the long one's bytes: each page gives the rows it gives
    here, none mixed with the page before."""
    big = _body(100, 40, pad=40_000)  # about 1.6 MB: more than the file's first 1 MB
    assert len(big) > _workers._SHARED_SIZE
    bodies = [_body(1, 5), big, _body(7, 2), _body(9, 3)]
    pool = WorkerPool(1)
    try:
        got = [await pool.run(_args(), body) for body in bodies]
        (worker,) = pool._all
        assert worker.shared is not None  # the shared file, not the pipe, carried them
        assert len(worker.shared.map) >= len(big)
    finally:
        await pool.aclose()
    assert worker.shared is None  # closed with its worker
    for rows, body in zip(got, bodies, strict=True):
        want = _expected(body)
        assert rows.ids == want.ids
        assert rows.visits.jsonl == want.visits.jsonl
        assert rows.actions.jsonl == want.actions.jsonl
    assert got[2].ids == [7, 8]


async def test_bodies_go_by_pipe_where_there_are_no_memory_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without `memfd_create` (macOS, or a sandbox refusing it) the worker reads bodies from
    its pipe, big ones included, with the same rows."""
    monkeypatch.setattr(_workers, "_shared_body", lambda: None)
    bodies = [_body(1, 3), _body(100, 40, pad=40_000), _body(7, 2)]
    got = await _through_one_worker(bodies)
    for rows, body in zip(got, bodies, strict=True):
        want = _expected(body)
        assert rows.ids == want.ids
        assert rows.actions.jsonl == want.actions.jsonl


@needs_memfd
async def test_a_refused_memory_file_falls_back_to_the_pipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`memfd_create` failing (seccomp, no memory) is not an error: bodies go by pipe."""

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "memfd_create", refuse)
    pool = WorkerPool(1)
    try:
        rows = await pool.run(_args(), _body(1, 3))
        assert pool._all[0].shared is None
    finally:
        await pool.aclose()
    assert rows.ids == [1, 2, 3]


@pytest.mark.skipif(sys.platform != "linux", reason="counts open file descriptors in /proc")
async def test_closing_the_pool_leaves_no_shared_file_open() -> None:
    """Each worker's memory file is closed with the pool: a long-lived process running many
    exports does not collect descriptors."""

    def fds() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    before = fds()
    await _through_one_worker([_body(1, 3)])
    await _through_one_worker([_body(1, 3)])
    assert fds() <= before
