"""The retry decision, as a pure function: is this error worth another try, and after how long?

The drivers own the clock, the randomness and the sleeping; they call `next_wait` after each
failure with the attempt number, the time spent so far and a random number in [0, 1), and either
sleep the returned seconds and try again, or re-raise when it returns None. `set_testing(True)`
turns every wait into 0 (like stamina's) so test suites retry without sleeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from matomo_client.errors import (
    ApiError,
    ApiErrorKind,
    BodyProblem,
    HttpStatusError,
    MatomoError,
    NonJsonBodyError,
    TransportError,
)

__all__ = [
    "RetryPolicy",
    "is_testing",
    "is_transient",
    "next_wait",
    "retry_after_beyond_budget",
    "set_testing",
]

# HTTP statuses that a gateway or an overloaded server sends and that clear up by themselves.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})

# A query that hit the server's time limit (live_query_max_execution_time) is retried this many
# times only: it may have met a busy moment, but the same query usually stays too slow.
TOO_SLOW_RETRIES = 1

# Body problems a proxy or a cut connection cause; the others are the server's deliberate answer.
_TRANSIENT_BODY_PROBLEMS = frozenset({BodyProblem.EMPTY, BodyProblem.TRUNCATED, BodyProblem.HTML})

_testing = False


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry transient failures (capped, jittered exponential backoff).

    `attempts` counts every try, the first included (1 = never retry); the n-th wait is
    `min(max_wait, initial_wait * multiplier**(n-1))`, shortened by up to `jitter` (a fraction)
    at random; no retry starts once `max_total` seconds would be exceeded. `max_wait` caps the
    waits the client chooses; a server's `Retry-After` is waited in full, longer than `max_wait`
    too, when `max_total` leaves room for it, and the call fails at once when it does not.
    """

    attempts: int = 5
    max_wait: float = 30.0
    initial_wait: float = 0.5
    multiplier: float = 2.0
    jitter: float = 0.5
    max_total: float = 300.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise ValueError(f"attempts must be an int, got {self.attempts!r}")
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts}")
        _check("max_wait", self.max_wait, low=0.0)
        _check("initial_wait", self.initial_wait, low=0.0)
        _check("multiplier", self.multiplier, low=1.0)
        _check("jitter", self.jitter, low=0.0, high=1.0)
        _check("max_total", self.max_total, low=0.0, allow_inf=True)

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that tries once and never retries."""
        return cls(attempts=1)

    def backoff(self, attempt: int) -> float:
        """The wait after failure number `attempt` (1-based) before jitter, capped at max_wait."""
        if attempt < 1:
            raise ValueError(f"attempt must be >= 1, got {attempt}")
        try:
            wait = self.initial_wait * self.multiplier ** (attempt - 1)
        except OverflowError:
            return self.max_wait
        return min(self.max_wait, wait)


def _check(
    name: str, value: object, *, low: float, high: float = math.inf, allow_inf: bool = False
) -> None:
    """Raise ValueError unless `value` is a real number in [low, high] (finite unless allowed)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")


def set_testing(enabled: bool) -> None:
    """Make every retry wait 0 seconds (decisions stay the same), or restore real waits."""
    global _testing
    _testing = bool(enabled)


def is_testing() -> bool:
    """Whether `set_testing(True)` is in force."""
    return _testing


def is_transient(error: MatomoError) -> bool:
    """Whether trying the same request again may succeed."""
    if isinstance(error, TransportError):
        return not error.permanent
    if isinstance(error, HttpStatusError):
        return error.status in TRANSIENT_STATUSES
    if isinstance(error, NonJsonBodyError):
        return error.problem in _TRANSIENT_BODY_PROBLEMS
    if isinstance(error, ApiError):
        if error.kind is ApiErrorKind.RATE_LIMITED:
            # Matomo's brute-force block ("Too many failed logins", plugins/Login) counts every
            # request from the IP, so retrying only extends the block: fail at once instead.
            return "too many failed logins" not in error.message.lower()
        if error.kind is ApiErrorKind.UNKNOWN and error.status in TRANSIENT_STATUSES:
            # Matomo's own error page on a 5xx, e.g. its database down ("SQLSTATE[HY000]
            # [2002] Connection refused"): as passing as a proxy's 5xx page.
            return True
        return error.kind is ApiErrorKind.TOO_SLOW
    # DecodeError, PreflightError and anything else: the same answer would come back.
    return False


def next_wait(
    policy: RetryPolicy, attempt: int, error: MatomoError, elapsed: float, rand: float
) -> float | None:
    """Seconds to wait before the next try, or None to give up.

    `attempt` is 1 after the first failure; `elapsed` the seconds since the first try started;
    `rand` a random number in [0, 1) from the driver. A `Retry-After` (on an HttpStatusError, or
    an ApiError such as a 429 with Matomo's JSON error body) is waited for in full, even past
    `policy.max_wait`: a try sooner than the server asked only earns another refusal and spends
    the tries left. One that `max_total` leaves no room for gives up at once (the error keeps
    `.retry_after`).
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if not 0 <= rand < 1:
        raise ValueError(f"rand must be in [0, 1), got {rand}")
    if attempt >= policy.attempts or not is_transient(error):
        return None
    if (
        isinstance(error, ApiError)
        and error.kind is ApiErrorKind.TOO_SLOW
        and attempt > TOO_SLOW_RETRIES
    ):
        return None
    wait = policy.backoff(attempt) * (1 - policy.jitter * rand)
    retry_after = getattr(error, "retry_after", None)  # HttpStatusError, ApiError
    if retry_after is not None:
        wait = max(wait, retry_after)
    if elapsed + wait > policy.max_total:
        return None
    return 0.0 if _testing else wait


def retry_after_beyond_budget(
    policy: RetryPolicy, attempt: int, error: MatomoError, elapsed: float
) -> float | None:
    """The `Retry-After` that made `next_wait` give up, or None when something else did (no
    tries left, a permanent error): a call Matomo asked to wait longer than `max_total` leaves."""
    retry_after = getattr(error, "retry_after", None)
    if retry_after is None or attempt >= policy.attempts or not is_transient(error):
        return None
    return float(retry_after) if elapsed + retry_after > policy.max_total else None
