"""Shared by the examples: a client for MATOMO_URL/MATOMO_TOKEN, or an in-process sandbox.

With MATOMO_URL unset, the examples run against `matomo_client.sandbox`: they work as they are.
"""

from __future__ import annotations

import os

import httpx

from matomo_client import AsyncMatomo, Auth


def connect() -> AsyncMatomo:
    """A client for the Matomo in MATOMO_URL (token from MATOMO_TOKEN), else for the sandbox."""
    url = os.environ.get("MATOMO_URL")
    if url:
        return AsyncMatomo(url, auth=Auth.token(os.environ["MATOMO_TOKEN"]))
    from matomo_client.sandbox import Sandbox, SandboxConfig

    sandbox = Sandbox(SandboxConfig(days=30, visits_per_day=40))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app))
    return AsyncMatomo(
        "http://sandbox.invalid/", auth=Auth.token(sandbox.config.token), http_client=http
    )
