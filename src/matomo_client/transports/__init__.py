"""Transports: the one-method protocol, the httpx and aiohttp transports, and a mock for tests.

A transport turns a neutral `Request` into a neutral `Response`. It knows the base URL; the
request's `path` is relative to it. Any object with a matching `send` method works. The shipped
transports are imported on first use, so choosing one never imports the other's HTTP library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matomo_client._core.http import Request, Response
from matomo_client._lazy import lazy_getattr
from matomo_client.transports.base import AsyncTransport, SyncTransport
from matomo_client.transports.mock import (
    MockTransport,
    SyncMockTransport,
    json_response,
    request_params,
)

if TYPE_CHECKING:
    from matomo_client.transports.aiohttp_transport import AiohttpTransport
    from matomo_client.transports.httpx_transport import AsyncHttpxTransport, HttpxTransport

_LAZY = {
    "AiohttpTransport": ".aiohttp_transport",
    "AsyncHttpxTransport": ".httpx_transport",
    "HttpxTransport": ".httpx_transport",
}

if not TYPE_CHECKING:  # for mypy, a module `__getattr__` would make every misspelt name Any
    __getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = [
    "AiohttpTransport",
    "AsyncHttpxTransport",
    "AsyncTransport",
    "HttpxTransport",
    "MockTransport",
    "Request",
    "Response",
    "SyncMockTransport",
    "SyncTransport",
    "json_response",
    "request_params",
]
