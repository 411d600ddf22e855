"""`matomo_client.check.check_server`, the library behind `matomo check`, against the sandbox."""

from __future__ import annotations

import httpx
import pytest

from matomo_client import AsyncMatomo, Auth
from matomo_client.check import check_server
from matomo_client.errors import ApiError, ApiErrorKind
from matomo_client.sandbox import Sandbox, SandboxConfig


def client_for(sb: Sandbox, token: str) -> AsyncMatomo:
    """An AsyncMatomo talking to `sb` in-process with `token`."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    return AsyncMatomo("http://sandbox.invalid/", auth=Auth.token(token), http_client=http)


@pytest.mark.anyio
async def test_all_checks_pass_on_a_healthy_server() -> None:
    """Version, token, the three sites, the visits log and reports of each site are all reported ok."""
    sb = Sandbox(SandboxConfig(days=3, visits_per_day=5))
    async with client_for(sb, sb.config.token) as m:
        lines = await check_server(m)
    assert all(line.ok for line in lines)
    assert [line.what for line in lines[:3]] == ["server", "token", "sites"]
    assert lines[0].detail == "Matomo 5.11.2"
    assert lines[2].detail.startswith("3 visible")
    assert sum(line.what == "visits log" for line in lines) == 3
    # Two requests after the preflight: the site list and one bulk request for every probe.
    assert sb.request_count == 3


@pytest.mark.anyio
async def test_visits_log_off_is_a_failed_line_naming_the_site() -> None:
    """A site with the visits log deactivated gives one failed line carrying Matomo's DISABLED error."""
    sb = Sandbox(SandboxConfig(days=3, visits_per_day=5, live_disabled_sites=frozenset({2})))
    async with client_for(sb, sb.config.token) as m:
        lines = await check_server(m)
    failed = [line for line in lines if not line.ok]
    assert [(line.what, line.detail) for line in failed] == [("visits log", "site 2 Blog")]
    assert isinstance(failed[0].error, ApiError)
    assert failed[0].error.kind is ApiErrorKind.DISABLED


@pytest.mark.anyio
async def test_bad_token_stops_at_the_token_line() -> None:
    """An invalid token fails the token check and nothing after it is attempted."""
    sb = Sandbox(SandboxConfig(days=3, visits_per_day=5))
    async with client_for(sb, "not-the-token") as m:
        lines = await check_server(m)
    assert [(line.ok, line.what) for line in lines] == [(False, "token")]
    assert "not-the-token" not in lines[0].detail
    assert sb.request_count == 1
