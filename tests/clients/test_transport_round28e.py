"""Round 28e: an httpx transport or client given as `transport=`, and stream_raw's request count."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from matomo_client import AsyncMatomo, Auth, Matomo, RetryPolicy, endpoints, set_testing

pytestmark = pytest.mark.anyio

URL = "https://stats.example.com/"


async def _app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
    raise AssertionError


@pytest.mark.parametrize(
    "transport",
    [
        httpx.ASGITransport(app=_app),
        httpx.AsyncHTTPTransport(),
        httpx.MockTransport(lambda r: httpx.Response(200)),
    ],
    ids=["ASGITransport", "AsyncHTTPTransport", "MockTransport"],
)
async def test_an_httpx_transport_given_as_transport_is_refused_at_once(transport: Any) -> None:
    """httpx's own transports have no `send`: refused when the client is built, with the way
    to give them (it was an AttributeError on the first call, after the client was made)."""
    with pytest.raises(TypeError, match=r"http_client=httpx\.AsyncClient\(transport=\.\.\.\)"):
        AsyncMatomo(URL, auth=Auth.token("secret-token-123"), transport=transport)
    with pytest.raises(TypeError, match=r"is an httpx transport"):
        await endpoints.GetMatomoVersion().execute(transport)


def test_an_httpx_transport_given_to_the_blocking_client_is_refused_at_once() -> None:
    """The blocking twin names httpx.Client."""
    with pytest.raises(TypeError, match=r"http_client=httpx\.Client\(transport=\.\.\.\)"):
        Matomo(URL, transport=httpx.HTTPTransport())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is an httpx transport"):
        endpoints.GetMatomoVersion().execute_sync(httpx.HTTPTransport())  # type: ignore[arg-type]


async def test_an_httpx_client_given_as_transport_names_http_client() -> None:
    """An httpx client has a `send`, but of httpx requests: the first call raised
    "AttributeError: 'Request' object has no attribute 'extensions'"."""
    async with httpx.AsyncClient() as ac:
        with pytest.raises(TypeError, match=r"httpx\.AsyncClient goes in http_client="):
            AsyncMatomo(URL, transport=ac)  # type: ignore[arg-type]
    with httpx.Client() as c, pytest.raises(TypeError, match=r"httpx\.Client goes in http_client="):
        Matomo(URL, transport=c)  # type: ignore[arg-type]


def _busy_once() -> Any:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if len(sent) == 1:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json={"value": "5.11.2"})

    return handler, sent


async def test_stream_raw_counts_a_retried_call_once_as_call_does() -> None:
    """`stats.requests` counts calls and `stats.retries` the tries after a failure; a retried
    stream_raw counted each try as a request too (2 requests and 1 retry for 2 sent)."""
    set_testing(True)
    try:
        for streamed in (False, True):
            handler, sent = _busy_once()
            client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
            async with AsyncMatomo(
                URL, http_client=client, skip_preflight=True, retry=RetryPolicy(attempts=3)
            ) as m:
                if streamed:
                    body = b"".join([c async for c in m.stream_raw("API.getMatomoVersion")])
                else:
                    body = await m.call_raw("API.getMatomoVersion")
                assert body == b'{"value":"5.11.2"}'
                assert (m.stats.requests, m.stats.retries) == (1, 1)
                assert m.stats.requests + m.stats.retries == len(sent) == 2
            await client.aclose()
    finally:
        set_testing(False)


def test_blocking_stream_raw_counts_a_retried_call_once() -> None:
    """The same in the generated blocking client."""
    set_testing(True)
    try:
        handler, sent = _busy_once()
        with (
            httpx.Client(transport=httpx.MockTransport(handler)) as client,
            Matomo(URL, http_client=client, skip_preflight=True) as m,
        ):
            assert b"".join(m.stream_raw("API.getMatomoVersion")) == b'{"value":"5.11.2"}'
            assert (m.stats.requests, m.stats.retries) == (1, 1)
            assert len(sent) == 2
    finally:
        set_testing(False)
