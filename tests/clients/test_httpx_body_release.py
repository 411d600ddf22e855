"""The httpx transports hand the body over without leaving a copy only the cyclic GC can free.

An httpx response and its bound stream refer to each other. A body stored on the response
(`Response.content`) therefore lives until Python's cyclic collector runs, which during an
export (collector thresholds raised) let multi-megabyte pages pile up.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest

from matomo_client._core.http import Request
from matomo_client.transports import AsyncHttpxTransport, HttpxTransport

BODY = b'{"value":"5.11.2"}' * 1000


def _handler(request: httpx.Request) -> httpx.Response:
    # A streamed body, as from a real server: nothing is stored on the response up front.
    return httpx.Response(200, stream=httpx.ByteStream(BODY))


def _request() -> Request:
    return Request("POST", "index.php", {"content-type": "application/x-www-form-urlencoded"}, b"")


def _stored_bodies() -> int:
    return sum(
        1
        for o in gc.get_objects()
        if isinstance(o, httpx.Response) and getattr(o, "_content", None) is not None
    )


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.anyio
async def test_async_transport_keeps_no_body_on_the_httpx_response(no_cyclic_gc: None) -> None:
    """After AsyncHttpxTransport.send returns, no httpx response holds the body it read."""
    before = _stored_bodies()
    async with httpx.AsyncClient(transport=httpx.MockTransport(_handler)) as client:
        transport = AsyncHttpxTransport("http://matomo.test/", client=client)
        response = await transport.send(_request())
        assert response.body == BODY
        del response
        assert _stored_bodies() == before


def test_sync_transport_keeps_no_body_on_the_httpx_response(no_cyclic_gc: None) -> None:
    """After HttpxTransport.send returns, no httpx response holds the body it read."""
    before = _stored_bodies()
    with httpx.Client(transport=httpx.MockTransport(_handler)) as client:
        transport = HttpxTransport("http://matomo.test/", client=client)
        response = transport.send(_request())
        assert response.body == BODY
        del response
        assert _stored_bodies() == before
