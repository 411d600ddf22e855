"""The real client over an in-process sandbox (no port, no network), for the export tests."""

from __future__ import annotations

import httpx

from matomo_client import AsyncMatomo, Auth
from matomo_client.sandbox import Sandbox


def sandbox_client(sb: Sandbox) -> AsyncMatomo:
    """An `AsyncMatomo` answered by `sb` in-process, with the sandbox's super-user token."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    return AsyncMatomo("http://sandbox.test/", auth=Auth.token(sb.config.token), http_client=http)
