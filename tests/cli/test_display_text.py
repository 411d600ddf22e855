"""Names and paths are shown as they are: `[...]` and `:...:` are not rich markup or emoji codes.

Site names come from the server and targets from the user; `Shop [staging]` used to lose its
`[staging]` in `matomo sites`, and a name with `[/bold]` crashed it with 'internal error'.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import http_server, invoke

NAME = "Shop [staging] [/bold] :cat:"
SITE = {
    "idsite": "1",
    "name": NAME,
    "main_url": "https://shop.example.com/[x]",
    "timezone": "UTC",
    "currency": "USD",
    "ecommerce": "0",
    "ts_created": "2020-01-01 00:00:00",
}


class _Matomo(BaseHTTPRequestHandler):
    """Answers the version and the site list; nothing else is asked by `matomo sites`."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        method = parse_qs(urlsplit(self.path).query).get("method", [""])[0]
        answer = {"value": "5.11.2"} if method == "API.getMatomoVersion" else [SITE]
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def matomo_url() -> Iterator[str]:
    """A 127.0.0.1 Matomo whose one site has brackets and colons in its name."""
    with http_server(_Matomo) as url:
        yield url


def test_sites_table_shows_names_as_they_are(matomo_url: str) -> None:
    """`matomo sites` prints `Shop [staging] [/bold] :cat:` whole, exit 0."""
    r = invoke(["sites"], env={"MATOMO_URL": matomo_url, "MATOMO_TOKEN": "t0ken-for-the-test"})
    assert r.exit_code == 0, r.stderr
    assert NAME in r.stdout
    assert "https://shop.example.com/[x]" in r.stdout


def test_export_summary_shows_the_target_as_typed() -> None:
    """The summary's title names a target with brackets and colons as it was typed."""
    target = "a[1] :cat:.sqlite"
    r = invoke(
        ["export", "visits", "--sandbox", "--site", "3", "--from", "yesterday", "--to",
         "yesterday", "--out", target],
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert f"visits export to {target}" in r.stdout
