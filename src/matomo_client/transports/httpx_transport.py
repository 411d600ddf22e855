"""The shipped transports, over httpx; httpx exceptions become `TransportError` here."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterator, Iterator

import httpx

from matomo_client._core.http import Request, Response
from matomo_client.errors import TransportError

__all__ = ["AsyncHttpxTransport", "HttpxTransport", "StreamedResponse"]

_USER_AGENT = "matomo-client (+https://pypi.org/project/matomo-client/)"


def _timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout, connect=min(timeout, 10.0) if timeout else None)


def _warn_insecure(verify: bool) -> None:
    if verify is False:
        warnings.warn(
            "TLS certificate verification is off: the token can be read by anyone on the path",
            stacklevel=4,
        )


def _translate(exc: httpx.HTTPError, request: Request) -> TransportError:
    # Never str(exc): httpx messages can quote the URL; ours carries no token, but keep it terse.
    kind = type(exc).__name__
    timeout = isinstance(exc, httpx.TimeoutException)
    return TransportError(request.matomo_method, timeout=timeout, detail=kind)


def _response(r: httpx.Response, body: bytes) -> Response:
    return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, body)


class StreamedResponse:
    """Status and headers of a streamed response; iterate `chunks` for the body."""

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers


class AsyncHttpxTransport:
    """Sends requests with an `httpx.AsyncClient` (yours via `client=`, or one it owns)."""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        verify: bool = True,
    ) -> None:
        self.base_url = base_url
        self._owns = client is None
        _warn_insecure(verify)
        # Redirects are never followed: a POST body holding the token must not travel elsewhere.
        self._client = client or httpx.AsyncClient(
            timeout=_timeout(timeout),
            verify=verify,
            follow_redirects=False,
            headers={"User-Agent": _USER_AGENT},
        )

    async def send(self, request: Request) -> Response:
        """Send one request and read the whole body."""
        try:
            r = await self._client.request(
                request.method,
                self.base_url + request.path,
                headers=dict(request.headers),
                content=request.body,
                follow_redirects=False,
            )
            return _response(r, r.content)
        except httpx.HTTPError as exc:
            raise _translate(exc, request) from exc

    @contextlib.asynccontextmanager
    async def stream(
        self, request: Request
    ) -> AsyncIterator[tuple[StreamedResponse, AsyncIterator[bytes]]]:
        """Send one request and yield the status/headers and an iterator over body chunks."""
        try:
            async with self._client.stream(
                request.method,
                self.base_url + request.path,
                headers=dict(request.headers),
                content=request.body,
                follow_redirects=False,
            ) as r:
                head = StreamedResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()})
                yield head, _wrap_async(r.aiter_bytes(), request)
        except httpx.HTTPError as exc:
            raise _translate(exc, request) from exc

    async def aclose(self) -> None:
        """Close the httpx client if this transport created it."""
        if self._owns:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"AsyncHttpxTransport({self.base_url!r})"


async def _wrap_async(chunks: AsyncIterator[bytes], request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    except httpx.HTTPError as exc:
        raise _translate(exc, request) from exc


def _wrap_sync(chunks: Iterator[bytes], request: Request) -> Iterator[bytes]:
    try:
        yield from chunks
    except httpx.HTTPError as exc:
        raise _translate(exc, request) from exc


class HttpxTransport:
    """Sends requests with an `httpx.Client` (yours via `client=`, or one it owns)."""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        verify: bool = True,
    ) -> None:
        self.base_url = base_url
        self._owns = client is None
        _warn_insecure(verify)
        self._client = client or httpx.Client(
            timeout=_timeout(timeout),
            verify=verify,
            follow_redirects=False,
            headers={"User-Agent": _USER_AGENT},
        )

    def send(self, request: Request) -> Response:
        """Send one request and read the whole body."""
        try:
            r = self._client.request(
                request.method,
                self.base_url + request.path,
                headers=dict(request.headers),
                content=request.body,
                follow_redirects=False,
            )
            return _response(r, r.content)
        except httpx.HTTPError as exc:
            raise _translate(exc, request) from exc

    @contextlib.contextmanager
    def stream(self, request: Request) -> Iterator[tuple[StreamedResponse, Iterator[bytes]]]:
        """Send one request and yield the status/headers and an iterator over body chunks."""
        try:
            with self._client.stream(
                request.method,
                self.base_url + request.path,
                headers=dict(request.headers),
                content=request.body,
                follow_redirects=False,
            ) as r:
                head = StreamedResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()})
                yield head, _wrap_sync(r.iter_bytes(), request)
        except httpx.HTTPError as exc:
            raise _translate(exc, request) from exc

    def close(self) -> None:
        """Close the httpx client if this transport created it."""
        if self._owns:
            self._client.close()

    def __repr__(self) -> str:
        return f"HttpxTransport({self.base_url!r})"
