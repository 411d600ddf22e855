"""Retries and the concurrency bound, through both clients."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import anyio
import httpx
import pytest
from clients_support import BASE_URL, TOKEN, Harness, Router, Scripted, recorded

from matomo_client import (
    ApiError,
    ApiErrorKind,
    AsyncMatomo,
    Auth,
    HttpStatusError,
    Matomo,
    Period,
    RetryPolicy,
    TransportError,
    set_testing,
)
from matomo_client._core.flow import Send, Sleep, call_flow
from matomo_client._core.http import Request, Response
from matomo_client.endpoints import VisitsSummaryGet
from matomo_client.transports import json_response

pytestmark = pytest.mark.anyio

DAY = Period.day(dt.date(2026, 11, 28))
SUMMARY = recorded("015_")


def status(code: int, body: bytes = b"", **headers: str) -> Response:
    """A bare HTTP answer, as a proxy or load balancer sends it."""
    return Response(code, {"content-type": "text/html", **headers}, body)


async def test_503_then_200_is_retried(harness: Harness) -> None:
    """A 503 followed by a 200 succeeds, after exactly one retry."""
    m = harness.client(Scripted([status(503, b"<h1>busy</h1>"), SUMMARY]))
    summary = await harness.run(m.visits_summary.get, 1, DAY)
    assert summary.nb_visits == 23
    assert m.stats.retries == 1
    assert len(harness.calls) == 2


async def test_429_with_retry_after_then_200(harness: Harness) -> None:
    """A 429 with Retry-After is retried and then succeeds."""
    m = harness.client(Scripted([status(429, b"slow down", **{"retry-after": "7"}), SUMMARY]))
    assert (await harness.run(m.visits_summary.get, 1, DAY)).nb_visits == 23
    assert m.stats.retries == 1


def test_retry_after_sets_the_wait() -> None:
    """The pure call flow waits the server's Retry-After (7 s) rather than its own backoff."""
    set_testing(False)
    try:
        endpoint = VisitsSummaryGet(1, DAY)
        flow = endpoint.flow(Auth.token(TOKEN), RetryPolicy(initial_wait=0.5), lambda: 0.0)
        step = next(flow)
        assert isinstance(step, Send)
        step = flow.send(status(429, b"", **{"retry-after": "7"}))
        assert isinstance(step, Sleep)
        assert step.seconds == 7.0
        assert isinstance(step.error, HttpStatusError)
        assert step.attempt == 1
        assert isinstance(flow.send(None), Send)
    finally:
        set_testing(True)


def test_retry_after_is_waited_in_full_past_max_wait_within_max_total() -> None:
    """A Retry-After longer than max_wait is waited in full while max_total has room (not cut
    to max_wait, which only earned another 429); one beyond max_total is raised at once."""
    set_testing(False)
    try:

        def fail_after(seconds: float) -> Any:
            def fail(response: Response) -> Any:
                raise HttpStatusError(429, "X.y", retry_after=seconds)

            return fail

        policy = RetryPolicy(max_wait=3.0, max_total=120.0)
        flow = call_flow(Request("POST", "index.php"), fail_after(60), policy, lambda: 0)
        next(flow)
        step = flow.send(status(429))
        assert isinstance(step, Sleep)
        assert step.seconds == 60

        flow = call_flow(Request("POST", "index.php"), fail_after(3600), policy, lambda: 0)
        next(flow)
        with pytest.raises(HttpStatusError) as caught:
            flow.send(status(429))
        assert caught.value.retry_after == 3600
    finally:
        set_testing(True)


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("182_", ApiErrorKind.AUTH),
        ("192_", ApiErrorKind.NOT_FOUND),
        ("204_", ApiErrorKind.INVALID_PARAMETER),
        ("201_", ApiErrorKind.PERMISSION),
    ],
)
async def test_permanent_errors_fail_at_once(
    harness: Harness, prefix: str, kind: ApiErrorKind
) -> None:
    """AUTH, NOT_FOUND, INVALID_PARAMETER and PERMISSION errors are raised after one request."""
    m = harness.client(Router({"VisitsSummary.get": recorded(prefix)}), skip_preflight=True)
    with pytest.raises(ApiError) as info:
        await harness.run(m.call, "VisitsSummary.get")
    assert info.value.kind is kind
    assert len(harness.requests) == 1
    assert m.stats.retries == 0


async def test_retries_run_out(harness: Harness) -> None:
    """A server that keeps answering 503 gets `attempts` tries, then the HttpStatusError."""
    m = harness.client(Router({"VisitsSummary.get": status(503)}), retry=RetryPolicy(attempts=3))
    with pytest.raises(HttpStatusError) as info:
        await harness.run(m.visits_summary.get, 1, DAY)
    assert info.value.status == 503
    assert info.value.method == "VisitsSummary.get"
    assert len(harness.calls) == 3
    assert m.stats.retries == 2


async def test_truncated_json_is_retried(harness: Harness) -> None:
    """A body cut off mid-JSON is retried, and the next whole answer is used."""
    cut = Response(200, {"content-type": "application/json"}, SUMMARY.body[:40])
    m = harness.client(Scripted([cut, SUMMARY]))
    assert (await harness.run(m.visits_summary.get, 1, DAY)).nb_visits == 23
    assert m.stats.retries == 1


async def test_connect_error_is_retried_then_raised(harness: Harness) -> None:
    """httpx.ConnectError is retried, then raised as TransportError naming the method."""
    tries: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        tries.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)
    kw: dict[str, Any] = {
        "auth": Auth.token(TOKEN),
        "retry": RetryPolicy(attempts=3),
        "skip_preflight": True,
    }
    m: Any
    if harness.kind == "async":
        m = AsyncMatomo(BASE_URL, http_client=httpx.AsyncClient(transport=transport), **kw)
    else:
        m = Matomo(BASE_URL, http_client=httpx.Client(transport=transport), **kw)
    with pytest.raises(TransportError) as info:
        await harness.run(m.visits_summary.get, 1, DAY)
    assert info.value.method == "VisitsSummary.get"
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert len(tries) == 3
    assert m.stats.retries == 2


async def test_connect_error_then_success(harness: Harness) -> None:
    """One dropped connection followed by an answer succeeds."""
    answers: list[Any] = [httpx.ReadTimeout("slow"), None]

    def flaky(request: httpx.Request) -> httpx.Response:
        failure = answers.pop(0)
        if failure is not None:
            raise failure
        return httpx.Response(200, content=SUMMARY.body, headers=dict(SUMMARY.headers))

    transport = httpx.MockTransport(flaky)
    m: Any
    if harness.kind == "async":
        client = httpx.AsyncClient(transport=transport)
        m = AsyncMatomo(BASE_URL, http_client=client, skip_preflight=True)
    else:
        m = Matomo(BASE_URL, http_client=httpx.Client(transport=transport), skip_preflight=True)
    assert (await harness.run(m.visits_summary.get, 1, DAY)).nb_visits == 23
    assert m.stats.retries == 1


async def test_plain_os_error_from_a_user_transport(harness: Harness) -> None:
    """A user transport raising OSError gets a TransportError with the method, after retries."""

    def broken(request: Request) -> Response:
        raise ConnectionResetError("reset by peer")

    m = harness.client(broken, skip_preflight=True, retry=RetryPolicy(attempts=2))
    with pytest.raises(TransportError) as info:
        await harness.run(m.sites.list)
    assert info.value.method == "SitesManager.getSitesWithAtLeastViewAccess"
    assert len(harness.requests) == 2


# --- max_concurrency -----------------------------------------------------------------------------


class _Gauge:
    """Counts requests in flight and remembers the most seen at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


class _SlowAsync:
    def __init__(self, gauge: _Gauge) -> None:
        self.gauge = gauge

    async def send(self, request: Request) -> Response:
        self.gauge.enter()
        try:
            await anyio.sleep(0.005)
            return json_response({"value": "5.11.2"})
        finally:
            self.gauge.leave()


class _SlowSync:
    def __init__(self, gauge: _Gauge) -> None:
        self.gauge = gauge

    def send(self, request: Request) -> Response:
        self.gauge.enter()
        try:
            time.sleep(0.005)
            return json_response({"value": "5.11.2"})
        finally:
            self.gauge.leave()


async def test_max_concurrency_bounds_requests_in_flight() -> None:
    """Twenty concurrent calls with max_concurrency=3 never have more than 3 requests in flight."""
    gauge = _Gauge()
    m = AsyncMatomo(BASE_URL, transport=_SlowAsync(gauge), max_concurrency=3, skip_preflight=True)
    results: list[str] = []

    async def one() -> None:
        results.append(await m.api.version())

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(one)
    assert results == ["5.11.2"] * 20
    assert gauge.most == 3


def test_max_concurrency_bounds_threads() -> None:
    """The sync client shared by twenty threads keeps at most 3 requests in flight."""
    gauge = _Gauge()
    m = Matomo(BASE_URL, transport=_SlowSync(gauge), max_concurrency=3, skip_preflight=True)
    results: list[str] = []

    def one() -> None:
        results.append(m.api.version())

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["5.11.2"] * 20
    assert 1 <= gauge.most <= 3


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_max_concurrency_must_be_positive(bad: Any) -> None:
    """max_concurrency below 1 or not a whole number is a ValueError."""
    with pytest.raises(ValueError, match="max_concurrency"):
        AsyncMatomo(BASE_URL, max_concurrency=bad)
    with pytest.raises(ValueError, match="max_concurrency"):
        Matomo(BASE_URL, max_concurrency=bad)
