"""Runs the core's pure call flows: sends requests, sleeps between retries, counts and logs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, TypeVar

from matomo_client._async import _backend
from matomo_client._core.flow import Outcome, Send, Sleep, Step
from matomo_client._core.retry import is_testing
from matomo_client.errors import MatomoError, TransportError
from matomo_client.transports.base import AsyncTransport

__all__ = ["out_of_time", "pause", "run_flow"]

T = TypeVar("T")
logger = logging.getLogger("matomo_client")


async def _send(transport: AsyncTransport, step: Send) -> Outcome:
    started = time.perf_counter()
    try:
        response = await transport.send(step.request)
    except MatomoError as exc:
        logger.debug("%s failed: %s", step.request.matomo_method, type(exc).__name__)
        return exc
    except (OSError, TimeoutError) as exc:  # a user transport that does not translate
        logger.debug("%s failed: %s", step.request.matomo_method, type(exc).__name__)
        return TransportError(
            step.request.matomo_method, type(exc).__name__, isinstance(exc, TimeoutError)
        )
    logger.debug(
        "%s -> HTTP %s, %d bytes, %.0f ms",
        step.request.matomo_method,
        response.status,
        len(response.body),
        (time.perf_counter() - started) * 1000,
    )
    return response


async def run_flow(
    flow: Generator[Step, Outcome, T],
    transport: AsyncTransport,
    *,
    limiter: Any = None,
    on_retry: Callable[[Sleep], None] | None = None,
) -> T:
    """Drive `flow` to its result over `transport`; `limiter` bounds requests in flight."""
    gate: AbstractAsyncContextManager[Any] = limiter if limiter is not None else nullcontext()
    started = time.monotonic()
    try:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                async with gate:
                    outcome = await _send(transport, step)
                step = flow.send(outcome)
            else:
                if out_of_time(step, time.monotonic() - started):
                    flow.close()
                    raise step.error
                await pause(step, on_retry)
                step = flow.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def out_of_time(step: Sleep, elapsed: float) -> bool:
    """Whether waiting `step` out after `elapsed` seconds of the call would pass its max_total."""
    return elapsed + (0 if is_testing() else step.seconds) > step.max_total


async def pause(step: Sleep, on_retry: Callable[[Sleep], None] | None = None) -> None:
    """Log a retry, count it (`on_retry`) and wait out its backoff."""
    logger.info(
        "retrying %s in %.1f s after %s (attempt %d)",
        step.error.method,
        step.seconds,
        type(step.error).__name__,
        step.attempt,
    )
    if on_retry is not None:
        on_retry(step)
    await _backend.sleep(0 if is_testing() else step.seconds)
