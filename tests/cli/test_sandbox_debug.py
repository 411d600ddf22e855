"""`matomo sandbox --debug` logs one line per request, and never a token.

Tokens reach the sandbox in the POST body (token_auth), an Authorization header, or (refused,
as by Matomo) the query string; none of them may appear in the log.
"""

from __future__ import annotations

import logging
import re
import subprocess

import anyio
import httpx
import pytest

from matomo_client.sandbox import Sandbox, SandboxConfig

from .conftest import serve

TOKEN = "s3cret-super-tok"
VIEWER = "v13wer-tok"
VERSION = "index.php?module=API&method=API.getMatomoVersion&format=json"
SITES = "index.php?module=API&method=SitesManager.getSitesIdWithAtLeastViewAccess&format=json"
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ")  # as -v's lines


def _requests(client: httpx.Client) -> list[int]:
    """A token in the body, a viewer's in a Bearer header, a token in the query: the statuses."""
    return [
        client.post(VERSION, data={"token_auth": TOKEN}).status_code,
        client.post(SITES, headers={"Authorization": f"Bearer {VIEWER}"}).status_code,
        client.get(f"{VERSION}&token_auth={TOKEN}").status_code,
    ]


def test_served_sandbox_logs_each_request_without_tokens() -> None:
    """Served with --debug: stderr has a timestamped line per request with method, Matomo
    method, status and time."""
    argv = ["-m", "matomo_client.cli", "sandbox", "--port", "0", "--debug", "--days", "3"]
    argv += ["--visits-per-day", "2", "--token", TOKEN, "--viewer", f"{VIEWER}:1"]
    with (
        serve(*argv, stderr=subprocess.PIPE) as served,
        httpx.Client(base_url=served.url, timeout=10) as client,
    ):
        assert _requests(client) == [200, 200, 401]
    assert served.process.stderr is not None
    stderr = served.process.stderr.read()
    lines = [line for line in stderr.splitlines() if "matomo_client.sandbox" in line]
    assert len(lines) == 3, stderr
    assert all(STAMP.match(line) for line in lines), stderr
    assert " DEBUG matomo_client.sandbox: POST /index.php API.getMatomoVersion" in lines[0]
    assert "-> HTTP 200" in lines[0]
    assert lines[0].endswith(" ms")
    assert "SitesManager.getSitesIdWithAtLeastViewAccess -> HTTP 200" in lines[1]
    assert " DEBUG matomo_client.sandbox: GET /index.php API.getMatomoVersion" in lines[2]
    assert "-> HTTP 401" in lines[2]
    assert TOKEN not in stderr
    assert VIEWER not in stderr
    assert "***" not in stderr  # nothing had to be scrubbed: the lines never held a token


def test_request_log_lines_hold_no_token(caplog: pytest.LogCaptureFixture) -> None:
    """The sandbox's own log records (before any CLI scrubbing) leave every token out."""
    sandbox = Sandbox(SandboxConfig(days=3, visits_per_day=2, token=TOKEN, viewers={VIEWER: {1}}))

    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=sandbox.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test/") as c:
            return [
                (await c.post(VERSION, data={"token_auth": TOKEN})).status_code,
                (await c.post(SITES, headers={"Authorization": f"Bearer {VIEWER}"})).status_code,
                (await c.get(f"{VERSION}&token_auth={TOKEN}")).status_code,
            ]

    with caplog.at_level(logging.DEBUG, logger="matomo_client.sandbox"):
        assert anyio.run(go) == [200, 200, 401]
    records = [r for r in caplog.records if r.name == "matomo_client.sandbox"]
    assert [r.levelno for r in records] == [logging.DEBUG] * 3
    text = "\n".join(r.getMessage() for r in records)
    assert "POST /index.php API.getMatomoVersion -> HTTP 200" in text
    assert TOKEN not in text
    assert VIEWER not in text
