# Generated from src/matomo_client/_async/httpx_transport.py by scripts/unasync.py. Do not edit.
"""Sends neutral requests over httpx; httpx errors become `TransportError` at this boundary."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from matomo_client._core.http import Request, Response
from matomo_client.transports._httpx_common import (
    USER_AGENT,
    StreamedResponse,
    response_of,
    timeout_of,
    translate,
    warn_insecure,
)

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is 3.11+

__all__ = ["HttpxTransport"]

# Clients a forked child process inherited: kept referenced so that the child never closes the
# sockets its parent is still using (closing them here would not affect the parent, but letting
# them be collected would warn about unclosed sockets).
_INHERITED: list[Any] = []


class HttpxTransport:
    """Sends requests with an `httpx.Client` (yours via `client=`, or one it owns).

    `timeout` holds on yours too, unless it is left at 30 s while yours has a timeout of its own.
    """

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        verify: bool = True,
    ) -> None:
        if client is not None and not isinstance(client, httpx.Client):
            raise TypeError(f"http_client must be an httpx.Client, not {type(client).__name__}")
        self.base_url = base_url
        self._owns = client is None
        warn_insecure(verify)
        self._timeout, self._verify = timeout, verify
        self._client = client or self._new_client()
        self._pid = os.getpid()
        # Sent with each request, so that `timeout` holds on a client given with `client=` too
        # (httpx's own default there is 5 s); unless `timeout` was left at its default and that
        # client has a timeout of its own.
        self._request_timeout = timeout_of(timeout)
        if client is not None and timeout == 30.0 and client.timeout != httpx.Timeout(5.0):
            self._request_timeout = client.timeout

    def _new_client(self) -> httpx.Client:
        # Redirects are never followed: a POST body holding the token must not travel elsewhere.
        return httpx.Client(
            timeout=timeout_of(self._timeout),
            verify=self._verify,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    def _client_here(self) -> httpx.Client:
        """The httpx client to send with: after a fork, the child's own one.

        A child process (multiprocessing's fork, a prefork server) inherits the parent's pooled
        connections; parent and children writing to one socket garble requests and can read
        each other's answers. So a child opens its own connections (a client given with
        `client=` is the caller's to manage and is kept).
        """
        if self._owns and self._pid != os.getpid():
            _INHERITED.append(self._client)
            self._client, self._pid = self._new_client(), os.getpid()
        return self._client

    def send(self, request: Request) -> Response:
        """Send one request and read the whole body.

        The body is read through the stream, not `Response.content`: an httpx response and its
        bound stream refer to each other, so a body stored on the response would only be freed
        by Python's cyclic collector, and an export's multi-megabyte pages piled up between
        collections (peak memory grew with the length of the export).
        """
        try:
            with self._client_here().stream(
                request.method,
                self.base_url + request.path,
                headers=dict(request.headers),
                content=request.body,
                follow_redirects=False,
                timeout=self._request_timeout,
            ) as r:
                body = b"".join([chunk for chunk in r.iter_bytes()])
                return response_of(r, body)
        except httpx.HTTPError as exc:
            raise translate(exc, request) from exc

    @contextlib.contextmanager
    def stream(self, request: Request) -> Iterator[tuple[StreamedResponse, Iterator[bytes]]]:
        """Send one request and yield the status/headers and an iterator over body chunks."""
        try:
            with self._client_here().stream(
                request.method,
                self.base_url + request.path,
                headers=dict(request.headers),
                content=request.body,
                follow_redirects=False,
                timeout=self._request_timeout,
            ) as r:
                head = StreamedResponse(r.status_code, {k.lower(): v for k, v in r.headers.items()})
                yield head, _wrap_chunks(r.iter_bytes(), request)
        except httpx.HTTPError as exc:
            raise translate(exc, request) from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the httpx client if this transport created it."""
        if self._owns and self._pid != os.getpid():  # a forked child: its parent's connections
            _INHERITED.append(self._client)
        elif self._owns:
            self._client.close()

    def __repr__(self) -> str:
        return f"HttpxTransport({self.base_url!r})"


def _wrap_chunks(chunks: Iterator[bytes], request: Request) -> Iterator[bytes]:
    try:
        for chunk in chunks:
            yield chunk
    except httpx.HTTPError as exc:
        raise translate(exc, request) from exc
