"""RetryPolicy.max_total bounds the whole call: the time the tries take counts, not only the waits."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from clients_support import Harness, method_of

from matomo_client import AsyncMatomo, HttpStatusError, RetryPolicy
from matomo_client._async import client as async_client
from matomo_client._async import driver as async_driver
from matomo_client._core.http import Request, Response
from matomo_client._sync import client as sync_client
from matomo_client._sync import driver as sync_driver
from matomo_client.transports import json_response
from matomo_client.transports._common import StreamedResponse

pytestmark = pytest.mark.anyio

# Each try takes 10 s of the fake clock; the waits (zero in testing mode) take none.
POLICY = RetryPolicy(attempts=10, initial_wait=1.0, jitter=0.0, max_total=25.0)


class Clock:
    """A fake `time` module whose clock moves only when a slow server answers."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Replace the clock of both drivers and both clients."""
    fake = Clock()
    for module in (async_driver, sync_driver, async_client, sync_client):
        monkeypatch.setattr(module, "time", fake, raising=False)
    return fake


async def test_slow_failures_stop_at_max_total(harness: Harness, clock: Clock) -> None:
    """Tries of 10 s each with max_total=25: the third try's failure is the last, not the tenth."""

    def slow_503(request: Request) -> Response:
        if method_of(request) == "API.getMatomoVersion":
            return json_response({"value": "5.1.0"})
        clock.now += 10.0
        return Response(503, {"content-type": "text/html"}, b"busy")

    m = harness.client(slow_503, retry=POLICY, skip_preflight=True)
    with pytest.raises(HttpStatusError, match="503"):
        await harness.run(m.call, "API.getPiwikVersion")
    assert len(harness.calls) == 3  # failures at 10 s and 20 s are retried, the one at 30 s not
    assert m.stats.retries == 2


class SlowStreams:
    """A streaming transport whose every answer is a 503 after 10 s of the fake clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent = 0

    async def send(self, request: Request) -> Response:
        raise AssertionError("stream_raw streams")

    @contextlib.asynccontextmanager
    async def stream(
        self, request: Request
    ) -> AsyncIterator[tuple[StreamedResponse, AsyncIterator[bytes]]]:
        self.sent += 1
        self.clock.now += 10.0

        async def chunks() -> AsyncIterator[bytes]:
            yield b"busy"

        yield StreamedResponse(503, {"content-type": "text/html"}), chunks()


async def test_stream_raw_stops_at_max_total(clock: Clock) -> None:
    """stream_raw counts the time of its tries against max_total too."""
    transport = SlowStreams(clock)
    m: Any = AsyncMatomo(
        "https://stats.example.com/", transport=transport, retry=POLICY, skip_preflight=True
    )
    with pytest.raises(HttpStatusError, match="503"):
        async for _ in m.stream_raw("API.getPiwikVersion"):
            pass
    assert transport.sent == 3
