"""Shared pieces of the httpx transports: timeouts, error translation, responses."""

from __future__ import annotations

import httpx

from matomo_client._core.http import Request, Response
from matomo_client.errors import TransportError
from matomo_client.transports._common import (
    USER_AGENT,
    StreamedResponse,
    describe,
    forget_frames,
    warn_insecure,
)

__all__ = [
    "USER_AGENT",
    "StreamedResponse",
    "response_of",
    "timeout_of",
    "translate",
    "warn_insecure",
]


def timeout_of(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """An httpx timeout: `timeout` seconds for each wait (to read, write, get a pooled connection),
    at most 10 s to connect; not a bound on a whole answer that keeps coming."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout, connect=min(timeout, 10.0) if timeout else None)


def translate(exc: httpx.HTTPError, request: Request) -> TransportError:
    """Our TransportError for an httpx error: its class name (and a TLS problem), never the URL."""
    # Never str(exc): httpx messages can quote the URL; ours carries no token, but keep it terse.
    timeout = isinstance(exc, httpx.TimeoutException)
    detail, permanent = describe(exc)
    forget_frames(exc)  # their locals hold the token (see forget_frames)
    return TransportError(
        request.matomo_method, timeout=timeout, detail=detail, permanent=permanent
    )


def response_of(r: httpx.Response, body: bytes) -> Response:
    """A neutral Response from an httpx response and its body."""
    return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, body)
