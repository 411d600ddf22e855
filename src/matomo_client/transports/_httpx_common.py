"""Shared pieces of the httpx transports: timeouts, the TLS warning, error translation."""

from __future__ import annotations

import warnings

import httpx

from matomo_client._core.http import Request, Response
from matomo_client.errors import TransportError

__all__ = [
    "USER_AGENT",
    "StreamedResponse",
    "response_of",
    "timeout_of",
    "translate",
    "warn_insecure",
]

USER_AGENT = "matomo-client (+https://pypi.org/project/matomo-client/)"


def timeout_of(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """An httpx timeout: `timeout` seconds overall, at most 10 s to connect."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout, connect=min(timeout, 10.0) if timeout else None)


def warn_insecure(verify: bool) -> None:
    """Warn when TLS certificate verification is turned off."""
    if verify is False:
        warnings.warn(
            "TLS certificate verification is off: the token can be read by anyone on the path",
            stacklevel=4,
        )


def translate(exc: httpx.HTTPError, request: Request) -> TransportError:
    """Our TransportError for an httpx error (terse: class name only, never the URL)."""
    # Never str(exc): httpx messages can quote the URL; ours carries no token, but keep it terse.
    kind = type(exc).__name__
    timeout = isinstance(exc, httpx.TimeoutException)
    return TransportError(request.matomo_method, timeout=timeout, detail=kind)


def response_of(r: httpx.Response, body: bytes) -> Response:
    """A neutral Response from an httpx response and its body."""
    return Response(r.status_code, {k.lower(): v for k, v in r.headers.items()}, body)


class StreamedResponse:
    """Status and headers of a streamed response; iterate `chunks` for the body."""

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers
