"""Transports: the one-method protocol, the httpx transport, and a mock for tests.

A transport turns a neutral `Request` into a neutral `Response`. It knows the base URL; the
request's `path` is relative to it. Any object with a matching `send` method works.
"""

from matomo_client._core.http import Request, Response
from matomo_client.transports.base import AsyncTransport, SyncTransport
from matomo_client.transports.httpx_transport import AsyncHttpxTransport, HttpxTransport
from matomo_client.transports.mock import (
    MockTransport,
    SyncMockTransport,
    json_response,
    request_params,
)

__all__ = [
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
