"""The escape hatch of both clients: call, call_typed, call_raw and stream_raw."""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from clients_support import (
    BASE_URL,
    TOKEN,
    Harness,
    Router,
    form,
    query,
    recorded,
    recorded_json,
)
from pydantic import BaseModel

from matomo_client import (
    ApiError,
    ApiErrorKind,
    AsyncMatomo,
    Auth,
    DecodeError,
    Matomo,
    NonJsonBodyError,
    Params,
    Period,
    RetryPolicy,
    VisitsSummary,
)
from matomo_client._core.http import Response
from matomo_client.errors import BodyProblem

pytestmark = pytest.mark.anyio

DAY = Params().id_site(1).period(Period.day(dt.date(2026, 11, 28)))


class Version(BaseModel):
    """A user's own model of API.getMatomoVersion."""

    value: str


async def test_call_returns_decoded_json(harness: Harness) -> None:
    """call() sends the method and parameters and returns the JSON as Matomo sent it."""
    m = harness.client(Router({"Goals.get": recorded("108_")}))
    params = Params().id_site(1).set("period", "month").set("date", "2026-10-01")
    assert await harness.run(m.call, "Goals.get", params) == recorded_json("108_")
    (request,) = harness.calls
    assert query(request)["method"] == "Goals.get"
    assert form(request)["date"] == "2026-10-01"


async def test_call_without_params(harness: Harness) -> None:
    """call() with no Params sends only the method and the token."""
    m = harness.client(Router({"API.getPhpVersion": recorded("005_")}))
    assert await harness.run(m.call, "API.getPhpVersion") == recorded_json("005_")
    assert form(harness.calls[0]) == {"token_auth": TOKEN}


async def test_call_raises_api_errors_untyped(harness: Harness) -> None:
    """call() of an unknown method raises the ApiError itself (NOT_FOUND), not a PreflightError."""
    m = harness.client(Router({"VisitsSummary.getFoo": recorded("192_")}))
    with pytest.raises(ApiError) as info:
        await harness.run(m.call, "VisitsSummary.getFoo", DAY)
    assert info.value.kind is ApiErrorKind.NOT_FOUND
    assert info.value.status == 400
    assert info.value.method == "VisitsSummary.getFoo"


async def test_call_typed_validates_into_a_model(harness: Harness) -> None:
    """call_typed() validates the JSON into the given pydantic model (or a library model)."""
    m = harness.client(Router({"VisitsSummary.get": recorded("015_")}))
    summary = await harness.run(m.call_typed, "VisitsSummary.get", DAY, VisitsSummary)
    assert isinstance(summary, VisitsSummary)
    assert summary.nb_visits == 23
    version = await harness.run(m.call_typed, "API.getMatomoVersion", None, Version)
    assert version == Version(value="5.11.2")


async def test_call_typed_accepts_plain_types(harness: Harness) -> None:
    """call_typed() also validates into plain types such as dict[str, int]."""
    m = harness.client(Router({"VisitsSummary.getVisits": recorded("039_")}))
    visits = await harness.run(m.call_typed, "VisitsSummary.getVisits", DAY, dict[str, int])
    assert visits == {k: int(v) for k, v in recorded_json("039_").items()}


async def test_call_typed_mismatch_is_decode_error(harness: Harness) -> None:
    """call_typed() raises DecodeError naming the method when the JSON does not fit the model."""
    m = harness.client(Router({"VisitsSummary.get": recorded("015_")}))
    with pytest.raises(DecodeError) as info:
        await harness.run(m.call_typed, "VisitsSummary.get", DAY, Version)
    assert info.value.method == "VisitsSummary.get"
    assert "value" in info.value.detail


async def test_call_raw_returns_body_untouched(harness: Harness) -> None:
    """call_raw() returns the body bytes exactly, and sends the requested format in the URL."""
    xml = recorded("008_")
    m = harness.client(Router({"API.getMatomoVersion": xml}), skip_preflight=True)
    body = await harness.run(m.call_raw, "API.getMatomoVersion", None, fmt="xml")
    assert body == xml.body
    assert query(harness.requests[0])["format"] == "xml"


async def test_call_raw_json_bytes_are_not_reencoded(harness: Harness) -> None:
    """call_raw() of a JSON report gives Matomo's own bytes (escapes and all)."""
    answer = recorded("090_")
    m = harness.client(Router({"Actions.getPageTitle": answer}))
    assert await harness.run(m.call_raw, "Actions.getPageTitle", DAY) == answer.body


async def test_call_raw_error_body_raises(harness: Harness) -> None:
    """call_raw() still raises ApiError for Matomo's error body (DISABLED here)."""
    m = harness.client(Router({"Live.getLastVisitsDetails": recorded("225_")}))
    with pytest.raises(ApiError) as info:
        await harness.run(m.call_raw, "Live.getLastVisitsDetails", DAY)
    assert info.value.kind is ApiErrorKind.DISABLED


LOGIN_PAGE = Response(
    200,
    {"content-type": "text/html; charset=utf-8"},
    b"<!DOCTYPE html><html><title>Sign in</title><form action=/sso>...</form></html>",
)
CUT_SHORT = Response(200, {"content-type": "application/json"}, b'[{"label":"/a"},{"lab')


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (LOGIN_PAGE, BodyProblem.HTML),
        (CUT_SHORT, BodyProblem.TRUNCATED),
        (Response(200, {"content-type": "application/json"}, b" \n"), BodyProblem.EMPTY),
    ],
)
async def test_call_raw_of_json_refuses_a_body_that_cannot_be_json(
    harness: Harness, answer: Response, problem: BodyProblem
) -> None:
    """call_raw() asking for JSON raises (and retries) a proxy's page, a cut body or 0 bytes."""
    m = harness.client(
        Router({"Actions.getPageUrls": answer}), retry=RetryPolicy(attempts=2, max_wait=0.01)
    )
    with pytest.raises(NonJsonBodyError) as info:
        await harness.run(m.call_raw, "Actions.getPageUrls", DAY)
    assert info.value.problem is problem
    assert m.stats.retries == 1
    with pytest.raises(NonJsonBodyError):  # stream_raw over a transport that cannot stream
        await harness.run(m.stream_raw, "Actions.getPageUrls", DAY)


@pytest.mark.parametrize(
    ("body", "fmt"),
    [
        (LOGIN_PAGE.body, "html"),  # an HTML report asked for: any bytes
        (CUT_SHORT.body, "csv"),
        (b'cb([{"label":"/a"}])', "json"),  # JSONP (callback=): judged by its ends, it may be JSON
        (b'"5.11.2"', "json"),
    ],
)
async def test_call_raw_keeps_other_formats_and_plausible_json(
    harness: Harness, body: bytes, fmt: str
) -> None:
    """Only format=JSON is checked, and only by its first and last bytes."""
    answer = Response(200, {"content-type": "text/plain"}, body)
    m = harness.client(Router({"Actions.getPageUrls": answer}))
    assert await harness.run(m.call_raw, "Actions.getPageUrls", DAY, fmt=fmt) == body


async def test_stream_raw_over_a_mock_yields_the_body(harness: Harness) -> None:
    """stream_raw() over a transport without streaming yields the whole body once."""
    answer = recorded("049_")
    m = harness.client(Router({"Live.getLastVisitsDetails": answer}))
    chunks = await harness.run(m.stream_raw, "Live.getLastVisitsDetails", DAY)
    assert b"".join(chunks) == answer.body


async def test_stream_raw_over_a_mock_raises_on_error(harness: Harness) -> None:
    """stream_raw() over a mock raises ApiError for an error body."""
    m = harness.client(Router({"VisitsSummary.getFoo": recorded("192_")}))
    with pytest.raises(ApiError) as info:
        await harness.run(m.stream_raw, "VisitsSummary.getFoo", DAY)
    assert info.value.kind is ApiErrorKind.NOT_FOUND


# --- stream_raw through the shipped httpx transports (httpx.MockTransport underneath) -----------

BIG = b"[" + b",".join(b'{"label":"/page-%d","nb_hits":1}' % i for i in range(40_000)) + b"]"


def _pieces(body: bytes, size: int = 65_536) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


class _Server:
    """An httpx.MockTransport handler streaming a body in pieces; the preflight gets 5.11.2."""

    def __init__(self, kind: str, status: int, content_type: str, body: bytes) -> None:
        self.kind = kind
        self.status = status
        self.content_type = content_type
        self.body = body
        self.requests: list[httpx.Request] = []
        self.extra_headers: dict[str, str] = {}
        # Answers (status, headers, body) given, in turn, before the streamed body.
        self.failures: list[tuple[int, dict[str, str], bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if "getMatomoVersion" in str(request.url):
            return httpx.Response(200, json={"value": "5.11.2"})
        if self.failures:
            status, headers, body = self.failures.pop(0)
            return httpx.Response(status, headers=headers, content=body)
        pieces = _pieces(self.body)
        headers = {"content-type": self.content_type, **self.extra_headers}
        if self.kind == "async":

            async def agen() -> AsyncIterator[bytes]:
                for piece in pieces:
                    yield piece

            return httpx.Response(self.status, headers=headers, content=agen())

        def gen() -> Iterator[bytes]:
            yield from pieces

        return httpx.Response(self.status, headers=headers, content=gen())


def _httpx_client(kind: str, server: _Server, **kw: Any) -> Any:
    transport = httpx.MockTransport(server)
    if kind == "async":
        client = httpx.AsyncClient(transport=transport)
        return AsyncMatomo(BASE_URL, auth=Auth.token(TOKEN), http_client=client, **kw)
    return Matomo(
        BASE_URL, auth=Auth.token(TOKEN), http_client=httpx.Client(transport=transport), **kw
    )


async def test_stream_raw_over_httpx_yields_chunks(harness: Harness) -> None:
    """stream_raw() through the httpx transport yields the body in several chunks, unchanged."""
    server = _Server(harness.kind, 200, "application/json; charset=utf-8", BIG)
    m = _httpx_client(harness.kind, server)
    chunks = await harness.run(m.stream_raw, "Actions.getPageUrls", DAY)
    assert len(chunks) > 1
    assert b"".join(chunks) == BIG
    sent = server.requests[-1]
    assert sent.url.path == "/matomo/index.php"
    assert sent.url.params["method"] == "Actions.getPageUrls"
    assert TOKEN not in str(sent.url)
    assert f"token_auth={TOKEN}".encode() in sent.content


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("192_", ApiErrorKind.NOT_FOUND),  # 400 JSON
        ("225_", ApiErrorKind.DISABLED),  # 200 JSON error
        ("182_", ApiErrorKind.AUTH),  # 401 HTML page
    ],
)
async def test_stream_raw_over_httpx_raises_on_error_bodies(
    harness: Harness, prefix: str, kind: ApiErrorKind
) -> None:
    """stream_raw() through the httpx transport raises ApiError (right kind) for error bodies."""
    answer = recorded(prefix)
    server = _Server(harness.kind, answer.status, answer.content_type, answer.body)
    # The invalid-token page would already fail the preflight: go straight to the stream.
    m = _httpx_client(harness.kind, server, skip_preflight=True)
    with pytest.raises(ApiError) as info:
        await harness.run(m.stream_raw, "VisitsSummary.get", DAY)
    assert info.value.kind is kind
    assert info.value.status == answer.status
    assert TOKEN not in repr(info.value)


async def test_http_client_is_used_for_plain_calls(harness: Harness) -> None:
    """A caller's httpx client (http_client=) carries ordinary calls too, token in the body."""
    answer = recorded("015_")
    server = _Server(harness.kind, 200, answer.content_type, answer.body)
    m = _httpx_client(harness.kind, server)
    summary = await harness.run(m.visits_summary.get, 1, Period.day(dt.date(2026, 11, 28)))
    assert summary.nb_visits == 23
    assert [r.url.params["method"] for r in server.requests] == [
        "API.getMatomoVersion",
        "VisitsSummary.get",
    ]
    assert all(r.method == "POST" for r in server.requests)


@pytest.mark.parametrize(
    "content_type", ["text/html; charset=utf-8", "application/vnd.ms-excel", "text/xml"]
)
async def test_stream_raw_over_httpx_keeps_other_formats(
    harness: Harness, content_type: str
) -> None:
    """stream_raw() of a 2xx HTML/CSV/XML report yields every byte (nothing dropped)."""
    body = b"<table>" + b"<tr><td>row</td></tr>" * 20_000 + b"</table>"
    server = _Server(harness.kind, 200, content_type, body)
    m = _httpx_client(harness.kind, server)
    chunks = await harness.run(m.stream_raw, "Actions.getPageUrls", DAY, fmt="html")
    assert b"".join(chunks) == body
    assert server.requests[-1].url.params["format"] == "html"


async def test_stream_raw_over_httpx_small_body(harness: Harness) -> None:
    """stream_raw() of a body smaller than one chunk yields it whole."""
    server = _Server(harness.kind, 200, "application/json", b'{"value":"5.11.2"}')
    m = _httpx_client(harness.kind, server)
    chunks = await harness.run(m.stream_raw, "API.getMatomoVersion")
    assert b"".join(chunks) == b'{"value":"5.11.2"}'


async def test_stream_raw_decodes_gzip(harness: Harness) -> None:
    """stream_raw() yields the decoded body when the server (nginx, say) gzips it."""
    server = _Server(harness.kind, 200, "application/json", gzip.compress(BIG))
    server.extra_headers = {"content-encoding": "gzip"}
    m = _httpx_client(harness.kind, server)
    chunks = await harness.run(m.stream_raw, "Actions.getPageUrls", DAY)
    assert b"".join(chunks) == BIG


async def test_stream_raw_gzipped_error_is_recognised(harness: Harness) -> None:
    """stream_raw() still recognises Matomo's error body when it arrives gzipped."""
    server = _Server(harness.kind, 200, "application/json", gzip.compress(recorded("225_").body))
    server.extra_headers = {"content-encoding": "gzip"}
    m = _httpx_client(harness.kind, server)
    with pytest.raises(ApiError) as info:
        await harness.run(m.stream_raw, "Live.getLastVisitsDetails", DAY)
    assert info.value.kind is ApiErrorKind.DISABLED


async def test_execute_without_waiting_for_the_preflight(harness: Harness) -> None:
    """execute(preflight=False) sends only its own request; the next call still preflights."""
    from matomo_client.endpoints.calls import Call

    m = harness.client(Router({"Goals.get": recorded("108_")}))
    await harness.run(m.execute, Call("Goals.get", DAY), typed=False, preflight=False)
    assert harness.transport is not None
    assert [query(r)["method"] for r in harness.transport.requests] == ["Goals.get"]
    await harness.run(m.call, "Goals.get", DAY)
    assert [query(r)["method"] for r in harness.transport.requests] == [
        "Goals.get",
        "API.getMatomoVersion",
        "Goals.get",
    ]


RATE_LIMITED = (
    429,
    {"content-type": "application/json", "retry-after": "1"},
    b'{"result":"error","message":"Rate limit exceeded"}',
)
GATEWAY = (502, {"content-type": "text/html"}, b"<html><h1>502 Bad Gateway</h1></html>")


async def test_stream_raw_retries_transient_failures_before_the_first_chunk(
    harness: Harness,
) -> None:
    """A 502 or a 429 before any byte came is retried, like any call; the body comes whole."""
    server = _Server(harness.kind, 200, "application/json", BIG)
    server.failures = [GATEWAY, RATE_LIMITED]
    m = _httpx_client(harness.kind, server)
    chunks = await harness.run(m.stream_raw, "Actions.getPageUrls", DAY)
    assert b"".join(chunks) == BIG
    assert m.stats.retries == 2
    assert [r.url.params["method"] for r in server.requests[1:]] == ["Actions.getPageUrls"] * 3


async def test_stream_raw_gives_up_on_permanent_errors_at_once(harness: Harness) -> None:
    """A permanent error (here a bad token's 401) is raised on the first answer, not retried."""
    answer = recorded("182_")
    server = _Server(harness.kind, 200, "application/json", BIG)
    server.failures = [(answer.status, {"content-type": answer.content_type}, answer.body)]
    m = _httpx_client(harness.kind, server, skip_preflight=True)
    with pytest.raises(ApiError) as info:
        await harness.run(m.stream_raw, "Actions.getPageUrls", DAY)
    assert info.value.kind is ApiErrorKind.AUTH
    assert m.stats.retries == 0
    assert len(server.requests) == 1


async def test_calls_inside_a_stream_raw_loop_work(harness: Harness) -> None:
    """The task (or thread) iterating stream_raw can make other calls meanwhile, and after."""
    server = _Server(harness.kind, 200, "application/json", BIG)
    m = _httpx_client(harness.kind, server, max_concurrency=2)
    got, versions = [], []
    if harness.kind == "async":
        async for chunk in m.stream_raw("Actions.getPageUrls", DAY):
            got.append(chunk)
            versions.append(await m.call("API.getMatomoVersion"))
        versions.append(await m.call("API.getMatomoVersion"))
    else:
        for chunk in m.stream_raw("Actions.getPageUrls", DAY):
            got.append(chunk)
            versions.append(m.call("API.getMatomoVersion"))
        versions.append(m.call("API.getMatomoVersion"))
    assert b"".join(got) == BIG
    assert versions == [{"value": "5.11.2"}] * (len(got) + 1)


async def test_stream_raw_can_be_finished_by_another_task() -> None:
    """A stream started in one task and read to its end in another gives its slot back."""
    import anyio

    server = _Server("async", 200, "application/json", BIG)
    m = _httpx_client("async", server, max_concurrency=1)
    stream = m.stream_raw("Actions.getPageUrls", DAY)
    first: list[bytes] = []

    async def start() -> None:
        first.append(await stream.__anext__())

    async with anyio.create_task_group() as tg:
        tg.start_soon(start)
    rest = [chunk async for chunk in stream]
    assert b"".join(first + rest) == BIG
    with anyio.fail_after(5):  # the one slot is free again
        assert await m.call("API.getMatomoVersion") == {"value": "5.11.2"}


async def test_stream_raw_retries_a_login_page_or_an_empty_body(harness: Harness) -> None:
    """A 200 HTML page or 0 bytes instead of JSON, before any chunk, is retried like any call."""
    server = _Server(harness.kind, 200, "application/json", BIG)
    server.failures = [
        (200, {"content-type": "text/html"}, LOGIN_PAGE.body),
        (200, {"content-type": "application/json"}, b""),
    ]
    m = _httpx_client(harness.kind, server, retry=RetryPolicy(attempts=3, max_wait=0.01))
    chunks = await harness.run(m.stream_raw, "Actions.getPageUrls", DAY)
    assert b"".join(chunks) == BIG
    assert m.stats.retries == 2


async def test_stream_raw_of_json_cut_short_raises_at_its_end(harness: Harness) -> None:
    """A streamed JSON array that stops before its `]` raises NonJsonBodyError (TRUNCATED)."""
    server = _Server(harness.kind, 200, "application/json", BIG[:-5000])
    m = _httpx_client(harness.kind, server)
    got: list[bytes] = []

    async def collect() -> None:
        if harness.kind == "async":
            async for chunk in m.stream_raw("Actions.getPageUrls", DAY):
                got.append(chunk)
        else:
            got.extend(m.stream_raw("Actions.getPageUrls", DAY))

    with pytest.raises(NonJsonBodyError) as info:
        await collect()
    assert info.value.problem is BodyProblem.TRUNCATED
    assert b"".join(got) == BIG[:-5000]  # every byte that came was the caller's
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value)
