"""The pure retry decision: what is transient, how long to wait, when to give up."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from matomo_client._core.decode import read_json
from matomo_client._core.http import Response
from matomo_client._core.retry import (
    TOO_SLOW_RETRIES,
    RetryPolicy,
    is_testing,
    is_transient,
    next_wait,
    set_testing,
)
from matomo_client.errors import (
    ApiError,
    ApiErrorKind,
    BodyProblem,
    DecodeError,
    HttpStatusError,
    MatomoError,
    NonJsonBodyError,
    PreflightError,
    TransportError,
)

A = ApiErrorKind
NO_JITTER = RetryPolicy(attempts=10, initial_wait=1.0, multiplier=2.0, max_wait=30.0, jitter=0.0)
BUSY = HttpStatusError(503, "M.a", "busy")


@pytest.fixture(autouse=True)
def _real_waits() -> Iterator[None]:
    """Every test starts and ends with real (non-testing) waits."""
    set_testing(False)
    yield
    set_testing(False)


def api(kind: ApiErrorKind, message: str = "m", status: int = 200) -> ApiError:
    return ApiError(kind, message, "M.a", status)


def body(problem: BodyProblem) -> NonJsonBodyError:
    return NonJsonBodyError(200, "text/html", b"<html>", "M.a", problem)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TransportError("M.a", "ConnectError"), True),
        (TransportError("M.a", "ReadTimeout", timeout=True), True),
        (HttpStatusError(429, "M.a", "", 5.0), True),
        (HttpStatusError(500, "M.a"), True),
        (HttpStatusError(502, "M.a"), True),
        (HttpStatusError(503, "M.a"), True),
        (HttpStatusError(504, "M.a"), True),
        (HttpStatusError(400, "M.a"), False),
        (HttpStatusError(401, "M.a"), False),
        (HttpStatusError(403, "M.a"), False),
        (HttpStatusError(404, "M.a"), False),
        (HttpStatusError(301, "M.a"), False),
        (api(A.RATE_LIMITED, "slow down", 429), True),
        # Retrying a brute-force block extends it: permanent.
        (
            api(A.RATE_LIMITED, "Too many failed logins. Please wait and try again later.", 500),
            False,
        ),
        (api(A.TOO_SLOW, "Could not run the query in time."), True),
        (api(A.AUTH, status=401), False),
        (api(A.PERMISSION, status=401), False),
        (api(A.NOT_FOUND, status=400), False),
        (api(A.INVALID_PARAMETER), False),
        (api(A.DISABLED), False),
        # Matomo's own error page on a 5xx (its database down, say): passing, as a proxy's is.
        (api(A.UNKNOWN, "SQLSTATE[HY000] [2002] Connection refused", 500), True),
        (api(A.UNKNOWN, status=503), True),
        (api(A.UNKNOWN, status=200), False),
        (body(BodyProblem.EMPTY), True),
        (body(BodyProblem.TRUNCATED), True),
        (body(BodyProblem.HTML), True),
        (body(BodyProblem.NOT_UTF8), False),
        (body(BodyProblem.OTHER_FORMAT), False),
        (DecodeError("M.a", "expected a list"), False),
        (PreflightError("5.0.0", ("X.y",)), False),
        (MatomoError("base class"), False),
    ],
    ids=repr,
)
def test_transient_or_permanent(error: MatomoError, transient: bool) -> None:
    """Each kind of failure is retried or not, as SPEC §2.9 and the brief decide."""
    assert is_transient(error) is transient
    decision = next_wait(RetryPolicy(), 1, error, 0.0, 0.0)
    assert (decision is not None) is transient


def test_backoff_grows_exponentially_then_caps() -> None:
    """Without jitter the waits are initial * multiplier**(n-1), capped at max_wait."""
    waits = [next_wait(NO_JITTER, n, BUSY, 0.0, 0.0) for n in range(1, 10)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_huge_attempt_numbers_do_not_overflow() -> None:
    """A very large attempt number gives max_wait instead of an OverflowError."""
    policy = RetryPolicy(attempts=10_000, multiplier=10.0)
    assert policy.backoff(5_000) == policy.max_wait
    assert next_wait(policy, 5_000, BUSY, 0.0, 0.0) == policy.max_wait


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.5, 0.999999])
@pytest.mark.parametrize("attempt", [1, 3, 8])
def test_jitter_is_bounded(rand: float, attempt: int) -> None:
    """With jitter j a wait lies in [(1 - j) * backoff, backoff] and is never negative."""
    policy = RetryPolicy(attempts=10, jitter=0.5)
    base = policy.backoff(attempt)
    wait = next_wait(policy, attempt, BUSY, 0.0, rand)
    assert wait is not None
    assert base * 0.5 <= wait <= base
    assert wait == pytest.approx(base * (1 - 0.5 * rand))


def test_full_jitter_can_reach_zero() -> None:
    """jitter=1 spreads waits over the whole [0, backoff] range."""
    policy = RetryPolicy(jitter=1.0)
    assert next_wait(policy, 2, BUSY, 0.0, 0.0) == policy.backoff(2)
    assert next_wait(policy, 2, BUSY, 0.0, 0.999) == pytest.approx(policy.backoff(2) * 0.001)


def test_retry_after_is_honoured_over_a_shorter_backoff() -> None:
    """A Retry-After longer than the backoff is waited in full, without jitter shortening it."""
    error = HttpStatusError(429, "M.a", "", retry_after=12.0)
    assert next_wait(RetryPolicy(jitter=0.5), 1, error, 0.0, 0.9) == 12.0


def test_retry_after_shorter_than_backoff_keeps_backoff() -> None:
    """Retry-After: 0 does not make us hammer the server: the backoff still applies."""
    error = HttpStatusError(429, "M.a", "", retry_after=0.0)
    assert next_wait(NO_JITTER, 3, error, 0.0, 0.0) == 4.0


def test_retry_after_of_a_matomo_error_body_is_honoured() -> None:
    """A 429 with Matomo's JSON error body and a Retry-After is waited as long as asked."""
    response = Response(
        429,
        {"content-type": "application/json", "retry-after": "7"},
        b'{"result":"error","message":"Rate limit exceeded"}',
    )
    with pytest.raises(ApiError) as caught:
        read_json("Live.getLastVisitsDetails", response)
    assert caught.value.kind is A.RATE_LIMITED
    assert caught.value.retry_after == 7.0
    assert next_wait(RetryPolicy(jitter=0.5), 1, caught.value, 0.0, 0.9) == 7.0


def test_retry_after_beyond_max_total_gives_up_at_once() -> None:
    """A Retry-After is never cut short (an early try earns another refusal): one above
    max_wait is waited in full when max_total leaves room, and one that max_total does not
    leave room for is raised at once, with its retry_after."""
    error = HttpStatusError(503, "M.a", "", retry_after=3600.0)
    assert next_wait(RetryPolicy(max_wait=30.0), 1, error, 0.0, 0.0) is None
    minute = HttpStatusError(429, "M.a", "", retry_after=60.0)
    assert next_wait(RetryPolicy(max_wait=30.0), 1, minute, 0.0, 0.9) == 60.0
    assert next_wait(RetryPolicy(max_wait=30.0, max_total=300.0), 1, minute, 250.0, 0.9) is None
    assert next_wait(RetryPolicy(max_wait=3600.0, max_total=math.inf), 1, error, 0.0, 0.0) == 3600
    at_cap = HttpStatusError(429, "M.a", "", retry_after=30.0)
    assert next_wait(RetryPolicy(max_wait=30.0), 1, at_cap, 0.0, 0.9) == 30.0


def test_attempts_are_respected() -> None:
    """With attempts=N there are N-1 waits; the N-th failure gives up."""
    policy = RetryPolicy(attempts=3)
    assert next_wait(policy, 1, BUSY, 0.0, 0.0) is not None
    assert next_wait(policy, 2, BUSY, 0.0, 0.0) is not None
    assert next_wait(policy, 3, BUSY, 0.0, 0.0) is None
    assert next_wait(RetryPolicy.never(), 1, BUSY, 0.0, 0.0) is None


def test_max_total_is_respected() -> None:
    """No retry starts when elapsed time plus the wait would exceed max_total."""
    policy = RetryPolicy(attempts=10, initial_wait=4.0, jitter=0.0, max_total=10.0)
    assert next_wait(policy, 1, BUSY, 6.0, 0.0) == 4.0  # 6 + 4 = 10: still within budget
    assert next_wait(policy, 1, BUSY, 6.5, 0.0) is None
    assert next_wait(policy, 1, BUSY, 100.0, 0.0) is None


def test_simulated_run_stays_within_budgets() -> None:
    """Driving next_wait like a client does never exceeds attempts or max_total."""
    policy = RetryPolicy(attempts=50, initial_wait=1.0, max_wait=8.0, max_total=40.0)
    elapsed, attempt, waits = 0.0, 0, []
    while True:
        attempt += 1
        wait = next_wait(policy, attempt, BUSY, elapsed, 0.3)
        if wait is None:
            break
        waits.append(wait)
        elapsed += wait
    assert elapsed <= policy.max_total
    assert attempt < policy.attempts  # the time budget ran out first
    assert max(waits) <= policy.max_wait


def test_too_slow_is_retried_a_limited_number_of_times() -> None:
    """A query that hit the server's time limit is retried TOO_SLOW_RETRIES times, no more."""
    error = api(A.TOO_SLOW, "Could not run the query in time.")
    policy = RetryPolicy(attempts=10)
    decisions = [next_wait(policy, n, error, 0.0, 0.0) for n in range(1, 5)]
    assert [d is not None for d in decisions] == [n <= TOO_SLOW_RETRIES for n in range(1, 5)]


def test_set_testing_makes_waits_zero_but_keeps_decisions() -> None:
    """In testing mode every wait is 0, yet permanent errors and attempts still give up."""
    set_testing(True)
    assert is_testing()
    policy = RetryPolicy(attempts=3)
    assert next_wait(policy, 1, HttpStatusError(429, "M.a", "", 20.0), 0.0, 0.5) == 0.0
    assert next_wait(policy, 1, HttpStatusError(429, "M.a", "", 600.0), 0.0, 0.5) is None
    assert next_wait(policy, 3, BUSY, 0.0, 0.5) is None
    assert next_wait(policy, 1, api(A.AUTH, status=401), 0.0, 0.5) is None
    set_testing(False)
    assert not is_testing()
    assert next_wait(policy, 1, BUSY, 0.0, 0.0) == policy.initial_wait


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"attempts": -1},
        {"attempts": 2.5},
        {"attempts": True},
        {"max_wait": -1.0},
        {"max_wait": math.inf},
        {"initial_wait": -0.1},
        {"initial_wait": math.nan},
        {"multiplier": 0.5},
        {"jitter": -0.1},
        {"jitter": 1.5},
        {"max_total": -1.0},
        {"max_total": math.nan},
        {"max_wait": "30"},
    ],
    ids=repr,
)
def test_policy_validation(kwargs: dict[str, object]) -> None:
    """Nonsensical policy values are refused with ValueError at construction."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_accepts_sensible_edges() -> None:
    """attempts=1, zero waits, no jitter and an unlimited total are all valid."""
    policy = RetryPolicy(attempts=1, max_wait=0, initial_wait=0, jitter=0, max_total=math.inf)
    assert policy.attempts == 1


@pytest.mark.parametrize(("attempt", "rand"), [(0, 0.0), (1, -0.1), (1, 1.0)])
def test_next_wait_rejects_bad_inputs(attempt: int, rand: float) -> None:
    """attempt counts from 1 and rand must be in [0, 1): anything else is a driver bug."""
    with pytest.raises(ValueError, match=r"attempt|rand"):
        next_wait(RetryPolicy(), attempt, BUSY, 0.0, rand)
