"""`AiohttpTransport` against real servers on 127.0.0.1 (asyncio only, as aiohttp is).

Two kinds of server: the served sandbox (`served_sandbox`, a real Matomo look-alike), and a bare
HTTP/1.1 server written here on asyncio streams that records each request as it came off the wire
and can misbehave on purpose: redirect, hang, cut a body short, speak TLS with a self-signed cert.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import anyio
import pytest

from matomo_client import ApiError, AsyncMatomo, Auth, HttpStatusError, Params, RetryPolicy
from matomo_client._core.url import build_request
from matomo_client.errors import TransportError
from matomo_client.transports._common import USER_AGENT
from matomo_client.transports.aiohttp_transport import AiohttpTransport

pytestmark = pytest.mark.anyio

TOKEN = "MARKERf00dfeed5ecret0123456789MARKER"
LIVE = "Live.getLastVisitsDetails"
PARAMS = Params({"idSite": 3, "period": "day", "date": "2024-05-01", "segment": "pageUrl=@/a b;é"})
VERSION = b'{"value":"5.11.2"}'
VERSION_REQUEST = build_request("API.getMatomoVersion", Params(), Auth.token(TOKEN))


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs under asyncio only."""
    return "asyncio"


@dataclass
class Seen:
    """One request as the server read it: method, request target, headers (lower-cased), body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[Seen, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    """A bare keep-alive HTTP/1.1 server; `answer` writes whatever it likes for each request."""

    answer: Answer
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    closed: int = 0
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while not writer.is_closing():
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                line, *lines = head.split("\r\n")
                pairs = (h.partition(":") for h in lines if h)
                headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
                method, target, _ = line.split(" ")
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.seen.append(seen := Seen(method, target, headers, body))
                await self.answer(seen, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the server stops (a cancelled task would be logged)
        finally:
            self.closed += 1
            writer.close()


@contextlib.asynccontextmanager
async def serve(
    answer: Answer, path: str = "/", tls: ssl.SSLContext | None = None
) -> AsyncIterator[Server]:
    """A `Server` on a free 127.0.0.1 port; its `url` ends in `path`."""
    srv = Server(answer)
    server = await asyncio.start_server(srv.handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    srv.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}{path}"
    try:
        yield srv
    finally:
        server.close()
        for task in srv.tasks:
            task.cancel()
        await asyncio.gather(*srv.tasks, return_exceptions=True)
        await server.wait_closed()


def reply(status: int = 200, body: bytes = VERSION, extra: str = "", n: int | None = None) -> bytes:
    """A raw HTTP response; its Content-Length `n` may claim more bytes than `body` has."""
    n = len(body) if n is None else n
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {n}\r\n"
    return (head + extra + "\r\n").encode() + body


def answering(data: bytes | Callable[[Seen], bytes], *, close: bool = False) -> Answer:
    """An answer writing `data` (or `data(seen)`), then closing the connection if `close`."""

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(data(seen) if callable(data) else data)
        await writer.drain()
        if close:
            writer.close()

    return answer


async def hang(seen: Seen, writer: asyncio.StreamWriter) -> None:
    """Read the request, never answer (cancelled when the server stops)."""
    await asyncio.Event().wait()


@contextlib.asynccontextmanager
async def client(
    url: str, *, token: str = TOKEN, retry: RetryPolicy | None = None, **transport_kw: Any
) -> AsyncIterator[AsyncMatomo]:
    """An AsyncMatomo (no preflight; no retries unless given) over a fresh AiohttpTransport."""
    transport = AiohttpTransport(url, **transport_kw)
    auth, retry = Auth.token(token), retry or RetryPolicy.never()
    try:
        async with AsyncMatomo(
            url, auth=auth, transport=transport, retry=retry, skip_preflight=True
        ) as m:
            yield m
    finally:
        await transport.aclose()


async def collect(chunks: AsyncIterator[bytes], into: list[bytes]) -> None:
    """Append each chunk to `into` (what came before an error stays visible)."""
    async for chunk in chunks:
        into.append(chunk)


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_round_trip_matches_httpx(served_sandbox: str) -> None:
    """Preflight, a Live page and an auth error come out the same over aiohttp as over httpx."""
    page = Params({"idSite": 1, "period": "day", "date": "yesterday", "filter_limit": 20})
    results = []
    for kind in ("httpx", "aiohttp"):
        transport = AiohttpTransport(served_sandbox) if kind == "aiohttp" else None
        async with AsyncMatomo(
            served_sandbox, auth=Auth.token("sandbox-token"), transport=transport
        ) as m:
            results.append((await m.api.version(), await m.call_raw(LIVE, page)))
        async with AsyncMatomo(served_sandbox, auth=Auth.token("wrong"), transport=transport) as m:
            with pytest.raises(ApiError) as info:
                await m.api.version()
            results.append(repr(info.value))
        if transport is not None:
            await transport.aclose()
    assert results[:2] == results[2:]
    (version, body), error = results[2:]
    assert version == "5.11.2"
    assert len(json.loads(body)) == 20
    assert error.startswith("ApiError(")
    assert "kind=AUTH" in error


async def test_request_reaches_the_server_unchanged() -> None:
    """Target, POST body and headers arrive as built; the token only in the body."""
    async with (
        serve(answering(reply(body=b"[]")), path="/matomo/") as srv,
        client(srv.url + "index.php") as m,
    ):
        assert await m.call(LIVE, PARAMS) == []
    expected = build_request(LIVE, PARAMS, Auth.token(TOKEN))
    [seen] = srv.seen
    assert seen.method == "POST"
    assert seen.target == "/matomo/" + expected.path
    assert TOKEN not in seen.target
    assert "token_auth" not in seen.target
    assert seen.body == expected.body
    assert dict(parse_qsl(seen.body.decode()))["token_auth"] == TOKEN
    assert dict(parse_qsl(seen.body.decode()))["segment"] == "pageUrl=@/a b;é"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.headers["content-length"] == str(len(expected.body))
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["user-agent"] == USER_AGENT
    assert "matomo-client" in USER_AGENT


async def test_redirect_is_not_followed() -> None:
    """A 302 raises HttpStatusError(302), for calls and streams; its target is never asked for."""

    def route(seen: Seen) -> bytes:
        if seen.target.startswith("/elsewhere"):
            return reply(body=b"[]")
        return reply(302, b"", extra="Location: /elsewhere/index.php\r\n")

    async with serve(answering(route)) as srv, client(srv.url) as m:
        with pytest.raises(HttpStatusError) as info:
            await m.call(LIVE, PARAMS)
        assert info.value.status == 302
        with pytest.raises(HttpStatusError, match="HTTP 302"):
            async for _ in m.stream_raw(LIVE, PARAMS):
                pass
    assert [s.target.split("?")[0] for s in srv.seen] == ["/index.php", "/index.php"]


async def test_connection_refused_is_a_terse_transport_error() -> None:
    """A closed port: TransportError(timeout=False) from aiohttp's error, no token/URL/body in it."""
    port = closed_port()
    async with client(f"http://127.0.0.1:{port}/") as m:
        with pytest.raises(TransportError) as info:
            await m.call(LIVE, PARAMS)
    exc = info.value
    assert exc.timeout is False
    assert exc.method == LIVE
    assert isinstance(exc.__cause__, aiohttp.ClientConnectorError)
    for text in (str(exc), repr(exc)):
        for leak in (TOKEN, "token_auth", "index.php", "idSite", "pageUrl", str(port)):
            assert leak not in text


async def test_silent_server_times_out() -> None:
    """A server that never answers: TransportError(timeout=True) after about `timeout` seconds."""
    async with serve(hang) as srv, client(srv.url, timeout=0.3) as m:
        started = time.monotonic()
        with pytest.raises(TransportError) as info, anyio.fail_after(5):
            await m.call(LIVE, PARAMS)
        elapsed = time.monotonic() - started
    assert info.value.timeout is True
    assert isinstance(info.value.__cause__, asyncio.TimeoutError)  # TimeoutError from 3.11
    assert 0.25 <= elapsed < 5
    assert len(srv.seen) == 1


async def test_stream_stalling_mid_body_times_out() -> None:
    """A streamed body that stops arriving: TransportError(timeout=True) from the chunk reader."""

    async def stall(seen: Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(reply(body=b"[" + b'{"idVisit":1},' * 1000, n=10**6))
        await writer.drain()
        await asyncio.Event().wait()

    async with serve(stall) as srv, client(srv.url, timeout=0.3) as m:
        got: list[bytes] = []
        with pytest.raises(TransportError) as info, anyio.fail_after(5):
            await collect(m.stream_raw(LIVE, PARAMS), got)
    assert info.value.timeout is True
    assert b"".join(got).startswith(b'[{"idVisit":1}')


async def test_body_cut_short_is_a_transport_error_and_retried() -> None:
    """Content-Length larger than what came: TransportError, retried as transient; streams too."""
    cut = answering(reply(body=b'[{"idVisit":1', n=1000), close=True)
    async with serve(cut) as srv:
        async with client(srv.url, retry=RetryPolicy(attempts=3)) as m:
            with pytest.raises(TransportError) as info:
                await m.call(LIVE, PARAMS)
            assert m.stats.retries == 2
        assert len(srv.seen) == 3
        assert info.value.timeout is False
        assert isinstance(info.value.__cause__, aiohttp.ClientPayloadError)
        async with client(srv.url) as m:
            with pytest.raises(TransportError):
                async for _ in m.stream_raw(LIVE, PARAMS):
                    pass


async def test_stream_raw_yields_a_multi_megabyte_body_in_chunks(served_sandbox: str) -> None:
    """stream_raw over aiohttp yields the whole body in chunks, equal to call_raw's bytes."""
    everything = Params({"idSite": 1, "period": "range", "date": "last30", "filter_limit": -1})
    async with client(served_sandbox, token="sandbox-token") as m:
        chunks = [chunk async for chunk in m.stream_raw(LIVE, everything)]
        whole = await m.call_raw(LIVE, everything)
    assert len(whole) > 2_000_000
    assert b"".join(chunks) == whole
    assert len(chunks) > 10
    assert max(len(c) for c in chunks[1:]) <= 64 * 1024
    assert isinstance(json.loads(whole), list)


def test_repr_and_constructor_checks() -> None:
    """repr shows the normalised base URL only; verify=False warns at the caller; bad args fail."""
    t = AiohttpTransport("http://127.0.0.1:8080/matomo/index.php", timeout=5)
    assert repr(t) == "AiohttpTransport('http://127.0.0.1:8080/matomo/')"
    with pytest.warns(UserWarning, match="verification is off") as caught:
        AiohttpTransport("https://stats.example.com/", verify=False)
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AiohttpTransport("https://stats.example.com/", timeout=None)
    for bad_url in ("ftp://x", "", "http://user:pw@x/", "stats.example.com"):
        with pytest.raises(ValueError, match="base URL"):
            AiohttpTransport(bad_url)
    for bad_timeout in (0, -1.5):
        with pytest.raises(ValueError, match="timeout"):
            AiohttpTransport("http://x/", timeout=bad_timeout)


async def test_aclose_closes_connections_and_a_later_send_reopens() -> None:
    """aclose closes the pooled connection (twice is harmless); the next send opens a new one."""
    async with serve(answering(reply(extra="X-Seen: yes\r\n"))) as srv:
        t = AiohttpTransport(srv.url)
        await t.aclose()  # never opened: nothing to do
        r = await t.send(VERSION_REQUEST)
        assert (r.status, r.body, r.headers["x-seen"]) == (200, VERSION, "yes")
        assert (await t.send(VERSION_REQUEST)).body == VERSION
        assert (srv.connections, srv.closed) == (1, 0)  # kept alive between the two
        await t.aclose()
        await t.aclose()
        for _ in range(200):
            if srv.closed:
                break
            await asyncio.sleep(0.01)
        assert srv.closed == 1
        assert (await t.send(VERSION_REQUEST)).body == VERSION
        assert srv.connections == 2
        await t.aclose()


async def test_non_ascii_host_and_path_are_encoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A base URL with a non-ASCII host and path goes out as httpx sends it: the host in IDNA
    (`xn--...`), the path percent-encoded; a repeated response header's values are joined."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kw: Any) -> Any:
        return real("127.0.0.1" if "xn--bcher-kva" in str(host) else host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    answer = answering(reply(extra="Vary: a\r\nVary: b\r\n"))
    async with serve(answer, path="/matómo/") as srv:
        port = srv.url.split(":")[2].split("/")[0]
        url = f"http://bücher.example:{port}/matómo/"
        t = AiohttpTransport(url)
        try:
            r = await t.send(VERSION_REQUEST)
        finally:
            await t.aclose()
    assert (r.status, r.body, r.headers["vary"]) == (200, VERSION, "a, b")
    assert srv.seen[0].headers["host"] == f"xn--bcher-kva.example:{port}"
    assert srv.seen[0].target.startswith("/mat%C3%B3mo/index.php")


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with the openssl CLI."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_https_self_signed_certificate(
    self_signed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A self-signed cert fails verification; verify=False or SSL_CERT_FILE naming it succeeds."""
    cert, key = self_signed
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with serve(answering(reply()), tls=tls) as srv:
        async with client(srv.url) as m:
            with pytest.raises(TransportError) as info:
                await m.call("API.getMatomoVersion")
        assert info.value.timeout is False
        assert isinstance(info.value.__cause__, aiohttp.ClientConnectorCertificateError)
        assert srv.seen == []
        with pytest.warns(UserWarning, match="verification is off"):
            insecure = AiohttpTransport(srv.url, verify=False)
        assert (await insecure.send(VERSION_REQUEST)).body == VERSION
        await insecure.aclose()
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        async with client(srv.url) as m:
            assert await m.call("API.getMatomoVersion") == {"value": "5.11.2"}
        assert len(srv.seen) == 2


def test_under_trio_the_error_says_to_use_httpx() -> None:
    """Under trio, where aiohttp cannot run, the first request says so and names the way out."""
    import trio

    async def main() -> None:
        transport = AiohttpTransport("http://127.0.0.1:9/")
        with pytest.raises(RuntimeError, match=r"asyncio only.*httpx"):
            await transport.send(VERSION_REQUEST)
        await transport.aclose()

    trio.run(main)


async def test_async_with_closes_the_session() -> None:
    """`async with AiohttpTransport(url) as t` gives `t` and closes its connections on exit."""
    async with serve(answering(reply())) as srv:
        async with AiohttpTransport(srv.url) as t:
            assert (await t.send(VERSION_REQUEST)).body == VERSION
            assert srv.closed == 0
        for _ in range(200):
            if srv.closed:
                break
            await asyncio.sleep(0.01)
        assert (srv.connections, srv.closed) == (1, 1)


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variable from the machine running the tests."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


async def test_netrc_credentials_are_read_once_and_sent(
    no_proxy_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A `$NETRC` entry for the server's host adds its HTTP Basic credentials to every request;
    the file is read once per transport, not once a request (as aiohttp's `trust_env` does)."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ann password s3cret\n")
    netrc.chmod(0o600)
    no_proxy_env.setenv("NETRC", str(netrc))
    import aiohttp.helpers

    reads = []
    real = aiohttp.helpers.netrc_from_env
    no_proxy_env.setattr(aiohttp.helpers, "netrc_from_env", lambda: reads.append(1) or real())
    async with serve(answering(reply())) as srv, client(srv.url) as m:
        assert await m.api.version() == "5.11.2"
        first = len(reads)  # the proxy lookup reads it too, for a proxy's credentials
        for _ in range(3):
            assert await m.api.version() == "5.11.2"
    assert [s.headers.get("authorization") for s in srv.seen] == ["Basic YW5uOnMzY3JldA=="] * 4
    assert first >= 1
    assert len(reads) == first


async def test_the_requests_own_authorization_wins_over_netrc(
    no_proxy_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With `Auth.bearer` the request's own `Authorization` goes out, not the `.netrc` one (and
    no error: aiohttp refuses to combine the two)."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ann password s3cret\n")
    netrc.chmod(0o600)
    no_proxy_env.setenv("NETRC", str(netrc))
    async with serve(answering(reply())) as srv:
        transport = AiohttpTransport(srv.url)
        async with AsyncMatomo(
            srv.url, auth=Auth.bearer(TOKEN), transport=transport, skip_preflight=True
        ) as m:
            assert await m.api.version() == "5.11.2"
        await transport.aclose()
    assert [s.headers.get("authorization") for s in srv.seen] == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize("bypass", [False, True])
async def test_proxy_from_the_environment(no_proxy_env: pytest.MonkeyPatch, bypass: bool) -> None:
    """`http_proxy` sends each request through the proxy (absolute-form target) unless
    `no_proxy` names the host."""
    async with serve(answering(reply())) as proxy, serve(answering(reply())) as server:
        no_proxy_env.setenv("http_proxy", proxy.url)
        if bypass:
            no_proxy_env.setenv("no_proxy", "127.0.0.1")
        async with client(server.url) as m:
            for _ in range(2):
                assert await m.api.version() == "5.11.2"
    through, direct = (server, proxy) if bypass else (proxy, server)
    assert direct.seen == []
    assert len(through.seen) == 2
    targets = {s.target.split("?")[0] for s in through.seen}
    assert targets == ({"/index.php"} if bypass else {server.url + "index.php"})


async def test_requests_sent_together_share_one_environment_lookup(
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    """The first requests, sent at once, wait for one proxy/.netrc lookup, not one each."""
    from matomo_client.transports import aiohttp_transport

    lookups = []
    real = aiohttp_transport._from_environment
    no_proxy_env.setattr(
        aiohttp_transport, "_from_environment", lambda url: lookups.append(url) or real(url)
    )
    async with (
        serve(answering(reply())) as srv,
        client(srv.url) as m,
        anyio.create_task_group() as tg,
    ):
        for _ in range(4):
            tg.start_soon(m.api.version)
    assert len(srv.seen) == 4
    assert len(lookups) == 1
