"""The shipped transports over httpx (the blocking one is generated from the async one)."""

from matomo_client._async.httpx_transport import AsyncHttpxTransport
from matomo_client._sync.httpx_transport import HttpxTransport
from matomo_client.transports._httpx_common import StreamedResponse

__all__ = ["AsyncHttpxTransport", "HttpxTransport", "StreamedResponse"]
