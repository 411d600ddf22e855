"""One API call as a pure generator: it yields what to do; the driver does it and answers.

The shape follows httpx's auth flows. A driver (async or sync) runs it::

    step = next(flow)
    while True:
        if isinstance(step, Send): step = flow.send(<Response or TransportError>)
        elif isinstance(step, Sleep): <sleep step.seconds>; step = flow.send(None)
    # StopIteration.value is the decoded result; a MatomoError propagates out of flow.send

No clock, sleep or randomness is touched here: the driver supplies `rand` for jitter.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

from matomo_client._core.http import Request, Response
from matomo_client._core.retry import RetryPolicy, next_wait, retry_after_beyond_budget
from matomo_client.errors import MatomoError

__all__ = ["CallFlow", "Send", "Sleep", "Step", "call_flow"]

T = TypeVar("T")
logger = logging.getLogger("matomo_client")


@dataclass(frozen=True, slots=True)
class Send:
    """Send this request through the transport and return its Response (or the TransportError);
    `attempt` counts the tries of this call, 1 for the first."""

    request: Request
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds before retrying, because of `error` (the `attempt`-th failure).

    `max_total` is the policy's budget for the whole call: the flow counts only the waits, so
    the driver, which owns the clock, gives up instead when the tries took the rest of it.
    """

    seconds: float
    error: MatomoError
    attempt: int
    max_total: float = math.inf


Step = Send | Sleep
Outcome = Response | MatomoError | None
CallFlow = Generator[Step, Outcome, T]


def call_flow(
    request: Request,
    decode: Callable[[Response], T],
    policy: RetryPolicy,
    rand: Callable[[], float],
) -> Generator[Step, Outcome, T]:
    """Send `request`, decode the response, and retry transient failures as `policy` allows."""
    attempt = 0
    waited = 0.0
    while True:
        outcome = yield Send(request, attempt + 1)
        try:
            if isinstance(outcome, MatomoError):
                raise outcome
            if outcome is None:  # pragma: no cover - a driver bug, not a user error
                raise RuntimeError("the driver sent no response for a Send step")
            return decode(outcome)
        except MatomoError as exc:
            attempt += 1
            failure = exc
            wait = next_wait(policy, attempt, failure, waited, rand())
            if wait is None:
                asked = retry_after_beyond_budget(policy, attempt, failure, waited)
                if asked is not None:  # as the drivers log a wait that would pass max_total
                    logger.info(
                        "not retrying %s: Matomo asked to wait %g s, more than the %g s retry "
                        "budget leaves (RetryPolicy.max_total)",
                        failure.method,
                        asked,
                        policy.max_total,
                    )
                raise
            waited += wait
        yield Sleep(wait, failure, attempt, policy.max_total)
