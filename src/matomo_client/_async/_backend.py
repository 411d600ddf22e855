"""What the async client needs from a concurrency library (anyio: asyncio and trio)."""

from __future__ import annotations

import anyio

__all__ = ["Limiter", "Lock", "sleep"]

sleep = anyio.sleep


def Limiter(n: int) -> anyio.CapacityLimiter:
    """At most `n` holders at once."""
    return anyio.CapacityLimiter(n)


def Lock() -> anyio.Lock:
    """A mutual-exclusion lock."""
    return anyio.Lock()
