"""What the async client needs from a concurrency library (anyio: asyncio and trio)."""

from __future__ import annotations

import anyio

__all__ = ["Limiter", "Lock", "sleep"]

sleep = anyio.sleep


def Limiter(n: int) -> anyio.Semaphore:
    """At most `n` holders at once. A semaphore, not a `CapacityLimiter`: a slot may be taken in
    one task and given back in another, or held by a generator across `yield` (`stream_raw`)
    while its task makes other calls."""
    return anyio.Semaphore(n)


def Lock() -> anyio.Lock:
    """A mutual-exclusion lock."""
    return anyio.Lock()
