"""Relax Python's cyclic garbage collector while an export runs.

An export allocates millions of short-lived containers (decoded visits, row tuples), almost
none in reference cycles; with the default thresholds the collector runs every 700 net
allocations and regularly walks every live object, which measured at ~20% of an export's CPU.
While at least one export runs, the first-generation threshold is raised; the previous
thresholds come back when the last one ends.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

__all__ = ["RELAXED_THRESHOLDS", "relaxed_gc"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
RELAXED_THRESHOLDS = (50_000, 20, 100)  # gc.set_threshold's three, while an export runs
_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] = gc.get_threshold()


def _enter() -> None:
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*RELAXED_THRESHOLDS)
        _active += 1


def _exit() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            gc.set_threshold(*_saved)


def relaxed_gc(fn: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
    """Run the async function `fn` with the collector's thresholds raised (see the module)."""

    @functools.wraps(fn)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        _enter()
        try:
            return await fn(*args, **kwargs)
        finally:
            _exit()

    return wrapper
