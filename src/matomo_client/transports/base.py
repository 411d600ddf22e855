"""The transport protocol: one method, `send`, in an async and a sync flavour."""

from __future__ import annotations

import inspect
import sys
from typing import Protocol, runtime_checkable

from matomo_client._core.http import Request, Response

__all__ = ["AsyncTransport", "SyncTransport", "check_transport"]


@runtime_checkable
class AsyncTransport(Protocol):
    """Sends one request and returns its response; raises `TransportError` when no response came."""

    async def send(self, request: Request) -> Response:
        """Send `request` to the server and return the whole response."""
        ...


@runtime_checkable
class SyncTransport(Protocol):
    """The blocking twin of `AsyncTransport`."""

    def send(self, request: Request) -> Response:
        """Send `request` to the server and return the whole response."""
        ...


def check_transport(transport: object, flavour: type) -> None:
    """Refuse a transport of the other flavour than `flavour` (a blocking one for `AsyncMatomo`),
    and an httpx client or transport given as a transport.

    Given to the wrong client, it would otherwise fail on the first request with a bare
    TypeError or AttributeError about a coroutine.
    """
    name = type(transport).__name__
    httpx = sys.modules.get("httpx")  # not imported here: a client given another never loads it
    if httpx is not None and isinstance(transport, (httpx.Client, httpx.AsyncClient)):
        # Its `send` takes an httpx.Request: the first call failed with an AttributeError.
        raise TypeError(f"an httpx.{name} goes in http_client=, not transport=")
    send = getattr(transport, "send", None)
    if send is None and (
        hasattr(transport, "handle_async_request") or hasattr(transport, "handle_request")
    ):
        # An httpx transport: it failed only on the first request, with AttributeError:
        # 'ASGITransport' object has no attribute 'send'.
        client = "httpx.AsyncClient" if flavour is AsyncTransport else "httpx.Client"
        raise TypeError(
            f"{name} is an httpx transport, not a matomo-client one (it has no send(request) "
            f"method): give it inside an httpx client, http_client={client}(transport=...)"
        )
    is_async = inspect.iscoroutinefunction(send)
    if flavour is SyncTransport and is_async:
        raise TypeError(
            f"{name}.send is async, for AsyncMatomo and Endpoint.execute; Matomo and "
            "Endpoint.execute_sync need a blocking transport, e.g. SyncMockTransport"
        )
    if flavour is AsyncTransport and not is_async and inspect.isroutine(send):
        raise TypeError(
            f"{name}.send is blocking, for Matomo and Endpoint.execute_sync; AsyncMatomo and "
            "Endpoint.execute need an async transport, e.g. MockTransport"
        )
