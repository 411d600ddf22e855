"""Reaching a Matomo behind real-world plumbing: proxies with credentials, TLS that fails,
redirects, logins asked by the web server, bodies that do not decompress (review round 9).

Servers are bare asyncio ones on 127.0.0.1; each test checks what the user is told.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
import ssl
import subprocess
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from matomo_client import AsyncMatomo, Auth, HttpStatusError, Matomo, Params, RetryPolicy
from matomo_client._core.decode import read_json, read_raw
from matomo_client._core.http import Response
from matomo_client._core.url import build_request
from matomo_client.cli import cli
from matomo_client.errors import TransportError
from matomo_client.transports._common import describe
from matomo_client.transports.aiohttp_transport import AiohttpTransport

TOKEN = "c0ffee0123456789abcdef0123456789"
VERSION = b'{"value":"5.11.2"}'
VERSION_REQUEST = build_request("API.getMatomoVersion", Params(), Auth.token(TOKEN))

Handler = Callable[[str, dict[str, str], asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """A one-request-per-connection server on 127.0.0.1; yields its port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            line, *lines = head.split("\r\n")
            pairs = (h.partition(":") for h in lines if h)
            headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
            await reader.readexactly(int(headers.get("content-length", "0")))
            await handler(line, headers, writer)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def raw(status: int, body: bytes = VERSION, extra: str = "") -> bytes:
    """A raw HTTP/1.1 answer that closes the connection."""
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    )
    return (head + extra + "Connection: close\r\n\r\n").encode() + body


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy or CA variable from the machine running the tests."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ssl_cert_file"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return monkeypatch


# --- AiohttpTransport: proxy credentials from HTTP_PROXY -------------------------------------


def test_aiohttp_sends_the_proxy_credentials_to_a_plain_http_proxy(
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    """`HTTP_PROXY=http://user:password@proxy` works for an http:// Matomo as with httpx; before,
    aiohttp left the credentials out (it sends `proxy_headers` only in an https CONNECT) and
    the proxy answered 407 to every request of the `matomo` command."""
    seen: list[tuple[str, dict[str, str]]] = []
    want = "Basic " + base64.b64encode(b"bob:pw").decode()

    async def proxy(line: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        seen.append((line, headers))
        ok = headers.get("proxy-authorization") == want
        writer.write(raw(200) if ok else raw(407, b"", 'Proxy-Authenticate: Basic realm="c"\r\n'))

    async def main() -> Response:
        async with serve(proxy) as port:
            no_proxy_env.setenv("http_proxy", f"http://bob:pw@127.0.0.1:{port}")
            async with AiohttpTransport("http://matomo.invalid/m/") as t:
                return await t.send(VERSION_REQUEST)

    r = asyncio.run(main())
    assert (r.status, r.body) == (200, VERSION)
    assert seen[0][0].startswith("POST http://matomo.invalid/m/index.php?")


def test_aiohttp_keeps_proxy_credentials_out_of_an_https_tunnel(
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    """For an https:// Matomo the credentials go in the CONNECT only, never in the request the
    server reads through the tunnel."""
    connects: list[dict[str, str]] = []
    sent: list[dict[str, Any]] = []

    async def proxy(line: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        connects.append(headers)
        writer.write(b"HTTP/1.1 403 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    async def main() -> None:
        async with serve(proxy) as port:
            no_proxy_env.setenv("https_proxy", f"http://bob:pw@127.0.0.1:{port}")
            async with AiohttpTransport("https://matomo.invalid/") as t:
                session = t._open()
                real = session.request

                def spy(*args: Any, **kw: Any) -> Any:
                    sent.append(kw)
                    return real(*args, **kw)

                no_proxy_env.setattr(session, "request", spy)
                with pytest.raises(TransportError):
                    await t.send(VERSION_REQUEST)

    asyncio.run(main())
    want = "Basic " + base64.b64encode(b"bob:pw").decode()
    assert connects[0]["proxy-authorization"] == want
    assert not any(k.lower() == "proxy-authorization" for k in sent[0]["headers"])


# --- TLS failures name the problem and what to do --------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 (openssl CLI) and a server context with it."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a self-signed test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=other.example",
         "-addext", "subjectAltName=DNS:other.example"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    return cert, tls


async def _version_error(url: str, transport: str, attempts: int = 1) -> TransportError:
    """The TransportError of one version call over the named transport (no retries unless
    `attempts` allows them); `retries` is set on it to the retries the client made."""
    retry = RetryPolicy(attempts=attempts, initial_wait=0.01, max_wait=0.01)
    kw: dict[str, Any] = {"retry": retry, "skip_preflight": True}
    t = AiohttpTransport(url) if transport == "aiohttp" else None
    try:
        async with AsyncMatomo(url, auth=Auth.token(TOKEN), transport=t, **kw) as m:
            with pytest.raises(TransportError) as info:
                await m.api.version()
            info.value.retries = m.stats.retries  # type: ignore[attr-defined]
    finally:
        if t is not None:
            await t.aclose()
    assert TOKEN not in str(info.value) + repr(info.value)
    return info.value


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_untrusted_certificate_says_so_and_what_to_do(
    self_signed: tuple[Path, ssl.SSLContext], no_proxy_env: pytest.MonkeyPatch, transport: str
) -> None:
    """httpx said only "ConnectError", as for a refused connection."""

    async def main() -> TransportError:
        async with serve(lambda *_: asyncio.sleep(0), tls=self_signed[1]) as port:
            return await _version_error(f"https://127.0.0.1:{port}/", transport)

    error = asyncio.run(main())
    text = str(error)
    assert "TLS certificate is not trusted (self-signed certificate)" in text
    assert "SSL_CERT_FILE" in text
    assert "verify=False" in text


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_a_certificate_failure_is_not_retried(
    self_signed: tuple[Path, ssl.SSLContext], no_proxy_env: pytest.MonkeyPatch, transport: str
) -> None:
    """Trying again cannot make the certificate trusted: the command spent 6 s on backoff."""

    async def main() -> TransportError:
        async with serve(lambda *_: asyncio.sleep(0), tls=self_signed[1]) as port:
            return await _version_error(f"https://127.0.0.1:{port}/", transport, attempts=4)

    error = asyncio.run(main())
    assert error.permanent
    assert error.retries == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_certificate_for_another_host_says_so(
    self_signed: tuple[Path, ssl.SSLContext], no_proxy_env: pytest.MonkeyPatch, transport: str
) -> None:
    no_proxy_env.setenv("SSL_CERT_FILE", str(self_signed[0]))  # trusted, but for other.example

    async def main() -> TransportError:
        async with serve(lambda *_: asyncio.sleep(0), tls=self_signed[1]) as port:
            return await _version_error(f"https://127.0.0.1:{port}/", transport)

    assert "TLS certificate is for another host" in str(asyncio.run(main()))


@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_https_url_for_a_plain_http_server_says_so(
    no_proxy_env: pytest.MonkeyPatch, transport: str
) -> None:

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)  # a TLS ClientHello: a web server answers its own 400
        writer.write(raw(400, b"bad request"))
        await writer.drain()
        writer.close()

    async def main() -> TransportError:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            return await _version_error(f"https://127.0.0.1:{port}/", transport)

    assert "does not speak TLS there: is the URL http://" in str(asyncio.run(main()))


def test_a_body_that_does_not_decompress_is_named() -> None:
    """Not just "DecodingError"/"ClientPayloadError", which the command showed as a server it
    cannot reach."""
    try:
        zlib.decompress(b"not gzip")
    except zlib.error as inner:
        try:
            raise httpx.DecodingError("bad") from inner
        except httpx.DecodingError as exc:
            detail, permanent = describe(exc)
    assert detail == "DecodingError: the answer came, but its Content-Encoding could not be decoded"
    assert not permanent
    assert describe(httpx.ConnectError("refused")) == ("ConnectError", False)


# --- redirects and logins asked by the plumbing ----------------------------------------------


def _status_error(status: int, headers: dict[str, str], body: bytes = b"") -> HttpStatusError:
    response = Response(status, {"content-type": "text/html", **headers}, body)
    with pytest.raises(HttpStatusError) as info:
        read_json("API.getMatomoVersion", response, (TOKEN,))
    with pytest.raises(HttpStatusError) as raw_info:
        read_raw("API.getMatomoVersion", response, (TOKEN,))
    assert str(raw_info.value) == str(info.value)
    return info.value


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_names_where_it_goes_without_credentials_or_query(status: int) -> None:
    """Before: "HTTP 301 from Matomo ...: Moved", with nothing on where to or what to do."""
    location = f"https://u:p4ss@new.example/matomo/index.php?module=API&token_auth={TOKEN}#f"
    e = _status_error(status, {"location": location}, b"<html><body>Moved</body></html>")
    assert "redirected to https://new.example/matomo/index.php, not followed" in str(e)
    assert "new address as the base URL" in str(e)
    assert "p4ss" not in str(e)
    assert TOKEN not in str(e) + repr(e)
    assert "module=" not in str(e)


def test_basic_login_of_the_web_server_is_named() -> None:
    e = _status_error(
        401, {"www-authenticate": 'Basic realm="Stats"'}, b"<h1>401 Authorization Required</h1>"
    )
    assert 'asks for an HTTP Basic login (realm "Stats"), not the token' in str(e)
    assert "~/.netrc" in str(e)
    assert "http_client" in str(e)


def test_proxy_login_is_named() -> None:
    e = _status_error(407, {"proxy-authenticate": "Basic"}, b"<h1>407</h1>")
    assert "the proxy asks for a Basic login" in str(e)
    assert "http://user:password@proxy:port" in str(e)


def test_a_challenge_page_shows_its_text_not_its_scripts() -> None:
    page = (
        b"<html><head><title>Just a moment...</title><style>body{font:x}</style>"
        b"<script>window._cf_chl_opt={cType:'managed'};</script></head>"
        b"<body><!-- ray --><p>Verifying you are human.</p></body></html>"
    )
    e = _status_error(403, {}, page)
    assert e.body_excerpt == "Just a moment... Verifying you are human."


# --- credentials in the URL ------------------------------------------------------------------


def test_library_url_with_a_password_says_where_each_credential_goes() -> None:
    """Before: "put credentials in auth=", but auth= takes no HTTP Basic login."""
    with pytest.raises(ValueError, match="must not hold credentials") as info:
        Matomo("https://ann:s3cret@stats.example.com/", auth=Auth.token(TOKEN))
    text = str(info.value)
    assert "s3cret" not in text
    assert "http_client with auth=(user, password)" in text


def test_cli_url_with_a_password_points_to_netrc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATOMO_TOKEN", TOKEN)
    r = CliRunner().invoke(cli, ["sites", "--url", "https://ann:s3cret@Stats.example.com/"])
    assert r.exit_code == 2
    assert "s3cret" not in r.output
    assert TOKEN not in r.output
    assert "~/.netrc (a line 'machine stats.example.com login USER password PASSWORD')" in (
        r.output
    )


def test_the_command_names_an_untrusted_certificate_without_blaming_the_url(
    self_signed: tuple[Path, ssl.SSLContext], no_proxy_env: pytest.MonkeyPatch
) -> None:
    """One line saying what is wrong and what to do; no "check --url", no retries' backoff."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    port = listener.getsockname()[1]
    accepted: list[int] = []
    stop = threading.Event()

    def serve_tls() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:  # a timeout: look at `stop` again
                continue
            accepted.append(1)
            with contextlib.suppress(OSError), self_signed[1].wrap_socket(conn, server_side=True):
                pass

    thread = threading.Thread(target=serve_tls, daemon=True)
    thread.start()
    try:
        r = CliRunner().invoke(
            cli,
            ["sites", "--url", f"https://127.0.0.1:{port}/"],
            env={"MATOMO_TOKEN": TOKEN},
            catch_exceptions=False,
        )
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == 1
    assert len(lines) == 1
    assert "TLS certificate is not trusted" in lines[0]
    assert "--insecure" in lines[0]
    assert "check --url" not in lines[0]
    assert len(accepted) == 1  # tried once: another try cannot make it trusted
