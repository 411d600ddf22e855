"""The transport protocol: one method, `send`, in an async and a sync flavour."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from matomo_client._core.http import Request, Response

__all__ = ["AsyncTransport", "SyncTransport"]


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
