# Generated from src/matomo_client/_async/driver.py by scripts/unasync.py. Do not edit.
"""Runs the core's pure call flows: sends requests, sleeps between retries, counts and logs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from matomo_client._core.flow import Outcome, Send, Sleep, Step
from matomo_client._core.http import Request
from matomo_client._core.retry import is_testing
from matomo_client._sync import _backend
from matomo_client.errors import (
    ApiError,
    HttpStatusError,
    MatomoError,
    NonJsonBodyError,
    TransportError,
)
from matomo_client.transports.base import SyncTransport

__all__ = ["log_failed", "log_response", "out_of_time", "pause", "reason", "run_flow"]

T = TypeVar("T")
logger = logging.getLogger("matomo_client")
_REASON_MAX = 160  # characters of an error message a log line shows
# Before Python 3.11, asyncio's timeout (`asyncio.wait_for`) is not the builtin TimeoutError.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)


def _send(transport: SyncTransport, step: Send) -> Outcome:
    started = time.perf_counter()
    try:
        response = transport.send(step.request)
    except MatomoError as exc:
        log_failed(step.request, exc, started, step.attempt)
        return exc
    except (OSError, *_TIMEOUTS) as exc:  # a user transport that does not translate
        error = TransportError(
            step.request.matomo_method, type(exc).__name__, isinstance(exc, _TIMEOUTS)
        )
        log_failed(step.request, error, started, step.attempt)
        return error
    log_response(step.request, response.status, len(response.body), started, step.attempt)
    return response


def log_response(
    request: Request, status: int, size: int | None, started: float, attempt: int
) -> None:
    """Log an answer at DEBUG: the request's summary, status, size, time since `started`."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s -> HTTP %d, %s bytes, %.0f ms, attempt %d",
            request.summary(),
            status,
            "?" if size is None else size,
            (time.perf_counter() - started) * 1000,
            attempt,
        )


def log_failed(request: Request, error: MatomoError, started: float, attempt: int) -> None:
    """Log at DEBUG a request that got no answer (the error says why, never with the token)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s -> no answer after %.0f ms, attempt %d: %s",
            request.summary(),
            (time.perf_counter() - started) * 1000,
            attempt,
            reason(error),
        )


def reason(error: MatomoError) -> str:
    """What went wrong, in a few words for a log line (errors never hold the token)."""
    if isinstance(error, TransportError):
        what = "timed out" if error.timeout else "transport error"
        return f"{what} ({error.detail})" if error.detail else what
    if isinstance(error, ApiError):
        return f"HTTP {error.status}, Matomo error ({error.kind.name}): {_short(error.message)}"
    if isinstance(error, HttpStatusError):
        wait = f", Retry-After {error.retry_after:g} s" if error.retry_after is not None else ""
        return f"HTTP {error.status}{wait}"
    if isinstance(error, NonJsonBodyError):
        return f"HTTP {error.status}, {error.problem.value} body ({error.content_type or '?'})"
    return f"{type(error).__name__}: {_short(str(error))}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"


def run_flow(
    flow: Generator[Step, Outcome, T],
    transport: SyncTransport,
    *,
    limiter: Any = None,
    on_retry: Callable[[Sleep], None] | None = None,
) -> T:
    """Drive `flow` to its result over `transport`; `limiter` bounds requests in flight."""
    gate: AbstractContextManager[Any] = limiter if limiter is not None else nullcontext()
    started = time.monotonic()
    request: Request | None = None
    try:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                request = step.request
                with gate:
                    outcome = _send(transport, step)
                step = flow.send(outcome)
            else:
                if out_of_time(step, time.monotonic() - started):
                    flow.close()
                    raise step.error
                pause(step, on_retry, request)
                step = flow.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def out_of_time(step: Sleep, elapsed: float) -> bool:
    """Whether waiting `step` out after `elapsed` seconds of the call would pass its max_total
    (logged at INFO, since the error it then raises does not say why it was not retried)."""
    spent = elapsed + (0 if is_testing() else step.seconds) > step.max_total
    if spent:
        logger.info(
            "not retrying %s after %s: waiting %.1f s more would pass the %g s retry budget "
            "(RetryPolicy.max_total)",
            step.error.method,
            reason(step.error),
            step.seconds,
            step.max_total,
        )
    return spent


def pause(
    step: Sleep,
    on_retry: Callable[[Sleep], None] | None = None,
    request: Request | None = None,
) -> None:
    """Log a retry, count it (`on_retry`) and wait out its backoff."""
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "retrying %s in %.1f s after %s (attempt %d failed)",
            request.summary() if request is not None else step.error.method,
            step.seconds,
            reason(step.error),
            step.attempt,
        )
    if on_retry is not None:
        on_retry(step)
    _backend.sleep(0 if is_testing() else step.seconds)
