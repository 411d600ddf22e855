"""What the sync client needs from a concurrency library (threads). Hand-written twin of _async."""

from __future__ import annotations

import threading
import time

__all__ = ["Limiter", "Lock", "sleep"]

sleep = time.sleep


def Limiter(n: int) -> threading.BoundedSemaphore:
    """At most `n` holders at once."""
    return threading.BoundedSemaphore(n)


def Lock() -> threading.Lock:
    """A mutual-exclusion lock."""
    return threading.Lock()
