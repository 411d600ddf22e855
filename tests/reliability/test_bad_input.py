"""Bad input to the library: each is a ValueError at construction or one error of the tree, never a hang.

Covers what a caller or a broken server can throw at the clients: invalid base URLs, site ids
<= 0, segments full of reserved characters (sent intact and answered), huge limits, non-UTF-8
and empty bodies, servers that never answer or stall mid-body, and a 200 MB body through
`stream_raw` in bounded memory. Both clients, real httpx transports where it matters.
"""

from __future__ import annotations

import socket
import threading
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import anyio
import httpx
import pytest

from matomo_client import (
    AsyncMatomo,
    Auth,
    Cursor,
    Limit,
    Matomo,
    MatomoError,
    MockTransport,
    NonJsonBodyError,
    Params,
    Period,
    Response,
    RetryPolicy,
    SyncMockTransport,
    TransportError,
)
from matomo_client.errors import ApiError, BodyProblem, HttpStatusError
from matomo_client.sandbox import Sandbox, SandboxConfig

TOKEN = "sandbox-token"
DAY = Period.day(date(2024, 5, 10))
VERSION = Response(200, {"content-type": "application/json"}, b'{"value":"5.11.2"}')


# --- construction -----------------------------------------------------------------------------

BAD_URLS = [
    "ftp://stats.example.com/",
    "file:///etc/passwd",
    "stats.example.com",
    "http://",
    "http:///index.php",
    "https://stats example.com/",
    " https://stats.example.com/",
    "https://stats.example.com/\n",
    "https://stats.example.com:99999/",
    "https://user:secret@stats.example.com/",
    "https://stats.example.com/?token_auth=x",
    "http://[::1/",
    "",
]


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("client", [AsyncMatomo, Matomo])
def test_invalid_base_urls_are_value_errors(client: Any, url: str) -> None:
    """Every invalid base URL is a ValueError at construction, and the message does not echo a secret."""
    with pytest.raises(ValueError, match="base URL") as info:
        client(url, auth=Auth.token(TOKEN))
    assert "secret" not in str(info.value)
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize("client", [AsyncMatomo, Matomo])
def test_a_base_url_that_is_not_a_str_says_so(client: Any) -> None:
    """Bytes (or anything not a str) as the base URL name the type, not an 'empty' URL."""
    with pytest.raises(ValueError, match="base URL must be a str, not bytes"):
        client(b"https://stats.example.com/", auth=Auth.token(TOKEN))


BAD_OPTIONS = [
    ({"timeout": float("nan")}, "timeout"),
    ({"timeout": float("inf")}, "timeout"),
    ({"timeout": "5"}, "timeout"),
    ({"timeout": 0}, "timeout"),
    ({"retry": 3}, "retry must be a RetryPolicy"),
    ({"max_concurrency": 0}, "max_concurrency"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS, ids=repr)
@pytest.mark.parametrize("client", [AsyncMatomo, Matomo])
def test_bad_client_options_fail_at_construction(
    client: Any, options: dict[str, Any], message: str
) -> None:
    """A wrong timeout, retry or max_concurrency is a ValueError naming it, before any request
    (not an AttributeError on the first retry, nor httpx's error on the first request)."""
    with pytest.raises(ValueError, match=message):
        client("https://stats.example.com/", auth=Auth.token(TOKEN), **options)


def test_an_http_client_of_the_other_kind_is_refused() -> None:
    """A blocking httpx.Client given to AsyncMatomo (and the reverse) is a TypeError at once."""
    import httpx

    with httpx.Client() as sync_http, pytest.raises(TypeError, match=r"httpx\.AsyncClient"):
        AsyncMatomo("https://stats.example.com/", http_client=sync_http)  # type: ignore[arg-type]
    async_http = httpx.AsyncClient()
    with pytest.raises(TypeError, match=r"httpx\.Client, not AsyncClient"):
        Matomo("https://stats.example.com/", http_client=async_http)  # type: ignore[arg-type]


def test_a_period_that_is_not_a_period_is_a_value_error() -> None:
    """A string where a Period goes is a ValueError naming Period, with no request sent."""
    transport = _counting_sync()
    with (
        Matomo("https://stats.example.com/", transport=transport) as m,
        pytest.raises(ValueError, match="period must be a Period"),
    ):
        m.visits_summary.get(1, "day")  # type: ignore[arg-type]
    assert transport.requests == []


def _counting_sync() -> SyncMockTransport:
    return SyncMockTransport(lambda r: VERSION)


BAD_CALLS = [
    ("visits_summary.get", (0, DAY)),
    ("visits_summary.get", (-1, DAY)),
    ("visits_summary.get", (True, DAY)),
    ("visits_summary.get", ("1; DROP", DAY)),
    ("actions.page_urls", (0, DAY)),
    ("referrers.all", (-5, DAY)),
    ("live.last_visits", (1, DAY, 0)),
    ("live.last_visits", (1, DAY, 10**12)),
    ("live.last_visits", (0, DAY, 10)),
    ("sites.get", (0,)),
]


@pytest.mark.parametrize(("method", "args"), BAD_CALLS, ids=[f"{m}{a[:1]}" for m, a in BAD_CALLS])
def test_bad_ids_and_limits_fail_before_any_request(method: str, args: tuple[Any, ...]) -> None:
    """Site ids <= 0 (or not ids) and limits below 1 or above the cap are ValueErrors, with no request sent."""
    transport = _counting_sync()
    with Matomo("https://stats.example.com/", transport=transport) as m:
        module, name = method.split(".")
        with pytest.raises(ValueError, match=r"idSite|[Ll]imit"):
            getattr(getattr(m, module), name)(*args)
    assert transport.requests == []


@pytest.mark.parametrize("n", [0, -1, 10**7, 10**100, 2.5, True])
def test_limits_and_cursors_refuse_out_of_range(n: Any) -> None:
    """Limit and Cursor refuse sizes below 1, above the cap, floats and booleans."""
    with pytest.raises(ValueError, match="Limit"):
        Limit(n)
    with pytest.raises((ValueError, TypeError)):
        Cursor(1, DAY, n)


# --- segments with reserved characters, sent to the sandbox ------------------------------------

SEGMENTS = [
    "browserCode==FF;countryCode==de",
    "countryCode==de,countryCode==fr;visitorType==new",
    "referrerName==a%2Cb",
    "pageUrl=@a&b=c",
    "pageTitle=@Café & Crème = ; ,",
    "referrerKeyword==日本語 🙂",
    "userId==a+b%20c",
    "pageUrl=@%26%3D%3B",
]


@pytest.mark.anyio
@pytest.mark.parametrize("segment", SEGMENTS)
async def test_segments_with_reserved_characters_arrive_intact(segment: str) -> None:
    """A segment with &, =, ;, ,, + and Unicode reaches the server byte for byte and is answered."""
    sb = Sandbox(SandboxConfig(seed=2, days=10, visits_per_day=5, today=date(2024, 5, 15)))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    async with AsyncMatomo("http://sandbox.test/", auth=Auth.token(TOKEN), http_client=http) as m:
        for call in (
            lambda: m.visits_summary.get(1, DAY, segment=segment),
            lambda: m.live.last_visits(1, DAY, 5, segment=segment),
        ):
            refusal = ""
            try:
                await call()
            except ApiError as e:  # the sandbox may not know the dimension: still an answer
                refusal = e.message.lower()
            assert refusal == "" or "segment" in refusal
            sent = sb.requests[-1]
            assert sent.params["segment"] == segment
            assert sent.status == 200


@pytest.mark.anyio
async def test_huge_filter_limit_through_the_escape_hatch_is_answered() -> None:
    """A filter_limit far beyond any real table goes out as given and comes back as data, not a hang or a crash."""
    sb = Sandbox(SandboxConfig(seed=2, days=10, visits_per_day=5, today=date(2024, 5, 15)))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    async with AsyncMatomo("http://sandbox.test/", auth=Auth.token(TOKEN), http_client=http) as m:
        params = Params().id_site(1).period(DAY).set("filter_limit", 10**30)
        visits = await m.call("Live.getLastVisitsDetails", params)
    assert isinstance(visits, list)
    assert len(visits) == len(sb.world.day_visits(1, date(2024, 5, 10)))
    assert sb.requests[-1].params["filter_limit"] == str(10**30)


# --- bodies a broken server sends ---------------------------------------------------------------


def _answering(body: bytes, status: int = 200, ctype: str = "application/json") -> Any:
    def handler(request: Any) -> Response:
        if request.matomo_method == "API.getMatomoVersion":
            return VERSION
        return Response(status, {"content-type": ctype}, body)

    return handler


BODIES = [
    # (body, status, content type, error class, body problem or None, retried?)
    (b'{"value":"\xff\xfe caf\xe9"}', 200, "application/json", NonJsonBodyError, BodyProblem.NOT_UTF8, False),
    (b"\xff\xfe[\x00{\x00", 200, "application/json", NonJsonBodyError, BodyProblem.NOT_UTF8, False),
    (b"<html>caf\xe9 \xff</html>", 502, "text/html; charset=latin-1", HttpStatusError, None, True),
    (b"", 200, "application/json", NonJsonBodyError, BodyProblem.EMPTY, True),
    (b"", 200, "", NonJsonBodyError, BodyProblem.EMPTY, True),
    (b"", 503, "", HttpStatusError, None, True),
    (b"", 404, "text/html", HttpStatusError, None, False),
    (b"   \n", 200, "application/json", NonJsonBodyError, BodyProblem.EMPTY, True),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "ctype", "error", "problem", "retried"), BODIES)
@pytest.mark.anyio
async def test_broken_bodies_raise_one_error_of_the_tree(
    body: bytes, status: int, ctype: str, error: type, problem: Any, retried: bool
) -> None:
    """Non-UTF-8 and 0-byte bodies raise the right MatomoError (retried only when a retry can help), for typed, plain and raw calls (a raw one returns non-UTF-8 bytes as they came)."""
    attempts = 3
    transport = MockTransport(_answering(body, status, ctype))
    async with AsyncMatomo(
        "https://stats.example.com/", transport=transport, retry=RetryPolicy(attempts=attempts)
    ) as m:
        with pytest.raises(error) as info:
            await m.visits_summary.get(1, DAY)
        if problem is not None:
            assert info.value.problem is problem
        calls = len([r for r in transport.requests if r.matomo_method == "VisitsSummary.get"])
        assert calls == (attempts if retried else 1)
        with pytest.raises(error):
            await m.call("VisitsSummary.get", Params().id_site(1).period(DAY))
        if 200 <= status < 300 and problem is not BodyProblem.EMPTY:
            assert await m.call_raw("VisitsSummary.get") == body  # raw: the bytes as they came
        else:  # 0 bytes cannot be the JSON a raw call asks for by default
            with pytest.raises(error):
                await m.call_raw("VisitsSummary.get")


def test_broken_bodies_sync_client() -> None:
    """The blocking client raises the same errors for a non-UTF-8 and an empty body."""
    for body, problem in ((b'{"a":"\xff"}', BodyProblem.NOT_UTF8), (b"", BodyProblem.EMPTY)):
        transport = SyncMockTransport(_answering(body))
        with Matomo("https://stats.example.com/", transport=transport) as m:
            with pytest.raises(NonJsonBodyError) as info:
                m.visits_summary.get(1, DAY)
            assert info.value.problem is problem


# --- servers that never answer, or stall half-way ------------------------------------------------


def _silent_server(mode: str) -> tuple[socket.socket, threading.Event]:
    """A 127.0.0.1 listener that accepts and then never answers ("silent") or stalls mid-body."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)
            if mode == "stall":
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b'Content-Length: 1000\r\n\r\n[{"idVisit":1'
                )
        for c in held:
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener, stop


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["silent", "stall"])
async def test_servers_that_never_finish_time_out(mode: str) -> None:
    """A server that never answers, or stops mid-body, gives TransportError(timeout) after the retries, never a hang."""
    listener, stop = _silent_server(mode)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        with anyio.fail_after(60):  # a guard against a hang, not a timing assertion
            async with AsyncMatomo(
                url, auth=Auth.token(TOKEN), timeout=0.2, retry=RetryPolicy(attempts=2),
                skip_preflight=True,
            ) as m:  # fmt: skip
                with pytest.raises(TransportError) as info:
                    await m.live.last_visits(1, DAY, 10)
                assert info.value.timeout
                with pytest.raises(TransportError):
                    async for _ in m.stream_raw("Live.getLastVisitsDetails"):
                        pass
    finally:
        stop.set()
        listener.close()
    assert TOKEN not in repr(info.value) + str(info.value)
    assert m.stats.retries >= 1


def test_server_that_never_answers_sync() -> None:
    """The blocking client times out the same way."""
    listener, stop = _silent_server("silent")
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    try:
        m = Matomo(
            url, auth=Auth.token(TOKEN), timeout=0.2, retry=RetryPolicy(attempts=2),
            skip_preflight=True,
        )  # fmt: skip
        with m, pytest.raises(TransportError) as info:
            m.sites.list()
    finally:
        stop.set()
        listener.close()
    assert info.value.timeout


# --- a 200 MB body through stream_raw -------------------------------------------------------------

BIG = 200 * 1024 * 1024
CHUNK = 256 * 1024


def _piece(i: int) -> bytes:
    """Chunk `i` of a JSON array 200 MB long: `[` + visit objects + `]`, made on demand."""
    row = b'{"idVisit":"%d","actionDetails":[],"pad":"' % i
    fill = CHUNK - len(row) - 3
    return (
        (b"[" if i == 0 else b",")
        + row
        + b"x" * fill
        + b'"}'
        + (b"]" if i == BIG // CHUNK - 1 else b"")
    )


class _LazyBody(httpx.AsyncByteStream, httpx.SyncByteStream):
    """A body generated chunk by chunk while it is read: never whole in memory."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self:
            yield piece

    def __iter__(self) -> Iterator[bytes]:
        for i in range(BIG // CHUNK):
            piece = _piece(i)
            self.sent += len(piece)
            yield piece


def _big_handler(body: _LazyBody) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if b"getMatomoVersion" in request.url.query:
            return httpx.Response(200, json={"value": "5.11.2"})
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=body)

    return handler


@pytest.mark.anyio
async def test_stream_raw_200_mb_in_bounded_memory() -> None:
    """200 MB of JSON through stream_raw (async, httpx transport) arrive whole while traced memory grows by a few MB at most."""
    body = _LazyBody()
    http = httpx.AsyncClient(transport=httpx.MockTransport(_big_handler(body)))
    async with AsyncMatomo("https://stats.example.com/", http_client=http) as m:
        await m.preflight()
        total = 0
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            async for chunk in m.stream_raw("Live.getLastVisitsDetails"):
                total += len(chunk)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    assert total == body.sent >= BIG - CHUNK
    assert peak < 16 * 1024 * 1024, f"peak traced memory grew by {peak / 1e6:.1f} MB"


def test_stream_raw_200_mb_in_bounded_memory_sync() -> None:
    """The blocking client streams the same 200 MB body in bounded memory."""
    body = _LazyBody()
    http = httpx.Client(transport=httpx.MockTransport(_big_handler(body)))
    with Matomo("https://stats.example.com/", http_client=http) as m:
        m.preflight()
        total = 0
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            for chunk in m.stream_raw("Live.getLastVisitsDetails"):
                total += len(chunk)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    assert total == body.sent >= BIG - CHUNK
    assert peak < 16 * 1024 * 1024, f"peak traced memory grew by {peak / 1e6:.1f} MB"


def test_every_error_above_is_in_the_one_tree() -> None:
    """The errors these tests expect all derive from MatomoError (one except clause catches them)."""
    for cls in (NonJsonBodyError, HttpStatusError, TransportError, ApiError):
        assert issubclass(cls, MatomoError)
