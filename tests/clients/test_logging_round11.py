"""The `matomo_client` logger: one DEBUG line per request that tells it apart (method, site,
dates, paging, status, size, time, attempt), INFO per retry, and never the token in any form.

Every record of every logger is captured at DEBUG (httpx's included) and searched for the token
raw, URL-encoded and form-encoded, in its message, arguments, attributes and traceback.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
from clients_support import VERSION, Harness, Scripted, method_of, recorded

from matomo_client import AsyncMatomo, Auth, Matomo, MatomoError, Params, Period, RetryPolicy
from matomo_client._async.driver import out_of_time
from matomo_client._core.flow import Sleep
from matomo_client._core.http import Request, Response
from matomo_client._core.url import build_request
from matomo_client.errors import HttpStatusError
from matomo_client.transports import json_response

pytestmark = pytest.mark.anyio

# A token whose raw, URL-encoded and form-encoded forms all differ.
TOKEN = "MARKERtok+en/9=x&y~MARKER"
FORMS = (TOKEN, quote(TOKEN, safe=""), quote_plus(TOKEN), quote(TOKEN))
HTML = {"content-type": "text/html; charset=utf-8"}
DAY = Period.day(dt.date(2026, 11, 28))
BASE = "https://stats.example.com/"
LINE = re.compile(
    r"^(?P<what>.+) -> HTTP (?P<status>\d+), (?P<size>\d+|\?) bytes, \d+ ms, attempt (?P<attempt>\d+)$"
)


def client_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records of the `matomo_client` logger itself."""
    return [r for r in caplog.records if r.name == "matomo_client"]


def request_lines(caplog: pytest.LogCaptureFixture) -> list[re.Match[str]]:
    """The DEBUG request lines, parsed."""
    found = [
        LINE.match(r.getMessage()) for r in client_records(caplog) if r.levelno == logging.DEBUG
    ]
    return [m for m in found if m is not None]


def assert_no_token(caplog: pytest.LogCaptureFixture) -> None:
    """No record of any logger shows the token in any form, in any part of it."""
    assert caplog.records, "nothing was logged: the check would prove nothing"
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        text = formatter.format(record) + repr(record.args) + repr(vars(record))
        for form in FORMS:
            assert form not in text, f"the token leaked into a log record: {text[:400]!r}"


def echo_token(request: Request) -> str:
    """The token as the request carried it, for a server that echoes it back."""
    auth = request.headers.get("Authorization", "")
    if auth:
        return auth.removeprefix("Bearer ")
    from urllib.parse import parse_qsl

    return dict(parse_qsl(request.body.decode("ascii")))["token_auth"]


@pytest.fixture(params=["token", "bearer"])
def auth(request: pytest.FixtureRequest) -> Auth:
    """Both ways of sending the token."""
    return Auth.token(TOKEN) if request.param == "token" else Auth.bearer(TOKEN)


async def test_each_request_is_one_debug_line_that_tells_it_apart(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Method, the parameters that matter, status, size, time and attempt; not hideColumns."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")
    page = json_response([{"idVisit": 1}])
    m = harness.client(Scripted([page]))
    params = (
        Params()
        .id_site(3)
        .set("period", "day")
        .set("date", "2026-11-28")
        .segment("browserCode==FF")
        .set("filter_limit", 10)
        .set("filter_offset", 20)
        .set("minTimestamp", 1795910399)
        .set("hideColumns", "actionDetails")
    )
    await harness.run(m.call, "Live.getLastVisitsDetails", params)
    lines = request_lines(caplog)
    assert [line["what"].split()[0] for line in lines] == [
        "API.getMatomoVersion",
        "Live.getLastVisitsDetails",
    ]
    assert lines[1]["what"] == (
        "Live.getLastVisitsDetails idSite=3 period=day date=2026-11-28 segment=browserCode==FF "
        "filter_limit=10 filter_offset=20 minTimestamp=1795910399"
    )
    assert (lines[1]["status"], lines[1]["size"], lines[1]["attempt"]) == (
        "200",
        str(len(page.body)),
        "1",
    )


async def test_retries_are_numbered_and_say_why(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Each try is logged with its attempt number; each retry at INFO names the request, the
    status or Matomo's message, and the wait."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")
    too_slow = json_response(
        {"result": "error", "message": "Maximum execution time of 30 seconds exceeded"}, 500
    )
    answers = [Response(503, HTML, b"<p>down</p>"), too_slow, recorded("015_")]
    m = harness.client(Scripted(answers))
    await harness.run(m.visits_summary.get, 1, DAY)
    calls = [line for line in request_lines(caplog) if "VisitsSummary.get" in line["what"]]
    assert [(c["status"], c["attempt"]) for c in calls] == [
        ("503", "1"),
        ("500", "2"),
        ("200", "3"),
    ]
    retries = [r.getMessage() for r in client_records(caplog) if r.levelno == logging.INFO]
    assert len(retries) == 2, retries
    assert retries[0].startswith("retrying VisitsSummary.get idSite=1 period=day date=2026-11-28 ")
    assert retries[0].endswith("after HTTP 503 (attempt 1 failed)")
    assert "HTTP 500, Matomo error (" in retries[1]
    assert "Maximum execution time" in retries[1]
    assert retries[1].endswith("(attempt 2 failed)")


async def test_a_request_that_got_no_answer_is_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection error is a DEBUG line with the request, the time and what failed."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")

    def refuse(request: Request) -> Response:
        if method_of(request) == "API.getMatomoVersion":
            return VERSION
        raise ConnectionRefusedError("nobody there")

    m = harness.client(refuse, retry=RetryPolicy(attempts=2))
    with pytest.raises(MatomoError):
        await harness.run(m.call, "VisitsSummary.get", Params().id_site(2))
    failed = [r.getMessage() for r in client_records(caplog) if "no answer" in r.getMessage()]
    assert len(failed) == 2
    assert failed[0].startswith("VisitsSummary.get idSite=2 -> no answer after ")
    assert failed[0].endswith("attempt 1: transport error (ConnectionRefusedError)")
    assert "attempt 2:" in failed[1]


def httpx_client(
    harness: Harness, auth: Auth, serve: Callable[[httpx.Request], httpx.Response]
) -> Any:
    """The async or sync client over httpx (whose transport streams) answered by `serve`."""
    transport = httpx.MockTransport(serve)
    kw: dict[str, Any] = {"auth": auth, "retry": RetryPolicy(attempts=2)}
    if harness.kind == "async":
        return AsyncMatomo(BASE, http_client=httpx.AsyncClient(transport=transport), **kw)
    return Matomo(BASE, http_client=httpx.Client(transport=transport), **kw)


async def test_a_streamed_body_is_logged_with_its_size_even_when_left_early(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """stream_raw logs each try: a 502 then the body, whole or as far as the caller read it."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")
    body = b"[" + b",".join(b'{"n": %d}' % i for i in range(20000)) + b"]"
    answers: list[httpx.Response] = []

    def serve(request: httpx.Request) -> httpx.Response:
        if b"getMatomoVersion" in request.url.query:
            return httpx.Response(200, json={"value": "5.2.0"})
        return answers.pop(0)

    m = httpx_client(harness, Auth.token(TOKEN), serve)
    params = Params().id_site(1).set("filter_limit", -1)
    answers += [httpx.Response(502, text="bad gateway"), httpx.Response(200, content=body)]
    chunks = await harness.run(m.stream_raw, "Live.getLastVisitsDetails", params)
    assert b"".join(chunks) == body
    pieces = [body[i : i + 10_000] for i in range(0, len(body), 10_000)]
    if harness.kind == "async":

        async def chunked() -> Any:
            for piece in pieces:
                yield piece

        answers.append(httpx.Response(200, content=chunked()))
    else:
        answers.append(httpx.Response(200, content=iter(pieces)))
    stream = m.stream_raw("Live.getLastVisitsDetails", params)
    if harness.kind == "async":
        await stream.__anext__()
        await stream.aclose()
    else:
        next(stream)
        stream.close()
    lines = [line for line in request_lines(caplog) if line["what"].startswith("Live.")]
    assert [(line["what"], line["status"], line["attempt"]) for line in lines] == [
        ("Live.getLastVisitsDetails idSite=1 filter_limit=-1", "502", "1"),
        ("Live.getLastVisitsDetails idSite=1 filter_limit=-1", "200", "2"),
        ("Live.getLastVisitsDetails idSite=1 filter_limit=-1", "200", "1"),
    ]
    assert lines[0]["size"] == "?"
    assert lines[1]["size"] == str(len(body))
    assert 0 < int(lines[2]["size"]) < len(body)
    assert_no_token(caplog)


async def test_a_bulk_request_names_its_calls(
    harness: Harness, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    """API.getBulkRequest: how many calls and which methods, never the outer `filter_limit`;
    the site its calls all ask about, which the outer request names too."""
    caplog.set_level(logging.DEBUG)
    m = harness.client(Scripted([json_response([{"a": 1}, {"b": 2}, {"c": 3}])]), auth=auth)
    p = Params().id_site(1).set("period", "day").set("date", "2026-11-28")
    await harness.run(
        m.api.bulk, [("VisitsSummary.get", p), ("Actions.get", p), ("VisitsSummary.get", p)]
    )
    (line,) = [line for line in request_lines(caplog) if "Bulk" in line["what"]]
    assert line["what"] == "API.getBulkRequest idSite=1 (3 calls: VisitsSummary.get, Actions.get)"
    assert_no_token(caplog)


def test_the_summary_never_shows_the_token_even_in_a_logged_parameter() -> None:
    """A segment that happens to hold the token (raw or Bearer) is scrubbed from the summary."""
    params = Params().id_site(1).segment(f"visitorId=={TOKEN}")
    for auth in (Auth.token(TOKEN), Auth.bearer(TOKEN)):
        summary = build_request("Live.getLastVisitsDetails", params, auth).summary()
        assert summary == "Live.getLastVisitsDetails idSite=1 segment=visitorId==***"
    long = build_request("VisitsSummary.get", Params().segment("x" * 500), Auth.anonymous())
    assert long.summary() == "VisitsSummary.get segment=" + "x" * 99 + "…"


def test_a_call_that_runs_out_of_retry_budget_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """Giving up because the next wait would pass `max_total` is logged at INFO with why."""
    caplog.set_level(logging.INFO, logger="matomo_client")
    step = Sleep(0.0, HttpStatusError(503, "VisitsSummary.get"), 3, max_total=10.0)
    assert out_of_time(step, elapsed=11.0)
    (record,) = client_records(caplog)
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("not retrying VisitsSummary.get after HTTP 503: ")
    assert "10 s retry budget" in record.getMessage()


async def test_nothing_is_formatted_when_debug_is_off(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the logger at WARNING, no request summary is built (the export's hot path)."""
    caplog.set_level(logging.WARNING, logger="matomo_client")

    def boom(self: Request) -> str:
        raise AssertionError("a request summary was built with DEBUG off")

    monkeypatch.setattr(Request, "summary", boom)
    m = harness.client(Scripted([recorded("015_")]))
    await harness.run(m.visits_summary.get, 1, DAY)


def _html_page(t: str, r: Request) -> Response:
    page = recorded("182_").body.replace(
        b"Unable to authenticate with the provided token. It is either invalid or expired.",
        f"Unable to authenticate with {t}, {quote(t)}".encode(),
    )
    return Response(401, HTML, page)


def _raise(exc: BaseException) -> Response:
    raise exc


SCENARIOS: dict[str, Callable[[str, Request], Response]] = {
    "json 401 echoing the token": lambda t, r: json_response(
        {"result": "error", "message": f"The token {t} is not valid."}, 401
    ),
    "matomo html 401 page": _html_page,
    "proxy 502 echoing the body": lambda t, r: Response(502, HTML, b"<pre>" + r.body + b"</pre>"),
    "503 echoing the token, retried": lambda t, r: Response(503, HTML, t.encode()),
    "proxy 200 login page": lambda t, r: Response(200, HTML, f"<p>bad key {t}</p>".encode()),
    "too slow, retried": lambda t, r: json_response(
        {"result": "error", "message": f"Maximum execution time exceeded for {t}"}, 500
    ),
    "transport error quoting the token": lambda t, r: _raise(ConnectionError(f"sent {t}")),
    "timeout quoting the token": lambda t, r: _raise(TimeoutError(f"sent {quote(t)}")),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("call", ["call", "call_raw", "stream_raw"])
async def test_no_log_record_holds_the_token_on_any_failure(
    harness: Harness, auth: Auth, scenario: str, call: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every logger at DEBUG, a server echoing the token on every error path: no record has it."""
    caplog.set_level(logging.DEBUG)

    def handler(request: Request) -> Response:
        if method_of(request) == "API.getMatomoVersion":
            return VERSION
        return SCENARIOS[scenario](echo_token(request), request)

    m = harness.client(handler, auth=auth, retry=RetryPolicy(attempts=3))
    params = Params().id_site(1).set("period", "day").set("date", "2026-11-28")
    with pytest.raises(MatomoError):
        await harness.run(getattr(m, call), "VisitsSummary.get", params)
    assert request_lines(caplog) or any("no answer" in r.getMessage() for r in caplog.records)
    assert_no_token(caplog)


async def test_no_log_record_holds_the_token_over_httpx(
    harness: Harness, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    """Over the real httpx transport (its own `httpx` and `httpcore` loggers at DEBUG too), a
    success, a retried 503 and a 401 page echoing the token: no record has it."""
    caplog.set_level(logging.DEBUG)
    answers = iter(["503", "ok", "401"])

    def serve(request: httpx.Request) -> httpx.Response:
        if b"getMatomoVersion" in request.url.query:
            return httpx.Response(200, json={"value": "5.2.0"})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or TOKEN
        kind = next(answers)
        if kind == "503":
            return httpx.Response(503, text=f"busy {token}", headers={"Retry-After": "0"})
        if kind == "ok":
            return httpx.Response(200, json={"nb_visits": 3})
        return httpx.Response(401, json={"result": "error", "message": f"bad {token}"})

    m = httpx_client(harness, auth, serve)
    params = Params().id_site(1).set("period", "day").set("date", "2026-11-28")
    assert await harness.run(m.call, "VisitsSummary.get", params) == {"nb_visits": 3}
    with pytest.raises(MatomoError):
        await harness.run(m.call, "VisitsSummary.get", params)
    assert {r.name for r in caplog.records} >= {"matomo_client", "httpx"}
    assert_no_token(caplog)


@pytest.fixture
def anyio_backend() -> str:
    """One backend is enough here: the drivers are covered under both in the other tests."""
    return "asyncio"


async def test_the_export_logs_every_page_and_never_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An export over the sandbox (5xx faults retried) logs each Live page with its site, day
    and paging, each retry, and no record of any logger holds the token."""
    from matomo_client.export import export_visits
    from matomo_client.sandbox import Faults, Sandbox, SandboxConfig

    caplog.set_level(logging.DEBUG)
    config = SandboxConfig(
        seed=3, days=4, visits_per_day=12, token=TOKEN, today=dt.date(2026, 11, 29),
        faults=Faults(error_5xx_rate=0.2, retry_after_s=0),
    )  # fmt: skip
    sb = Sandbox(config)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    async with AsyncMatomo("http://sandbox.test/", auth=Auth.token(TOKEN), http_client=http) as m:
        summary = await export_visits(
            m, sites=[1], start="2026-11-26", end="2026-11-28", target=str(tmp_path / "v.jsonl"),
            page_size=5, workers=0, now=dt.datetime(2026, 11, 29, 12, tzinfo=dt.timezone.utc),
        )  # fmt: skip
    assert summary.visits > 0
    pages = [line["what"] for line in request_lines(caplog) if "Live." in line["what"]]
    assert pages, "no Live page was logged"
    assert all(re.search(r"idSite=1 period=day date=\S+ filter_limit=\d+ ", p) for p in pages)
    assert any("filter_offset=" in p for p in pages)
    assert any(r.getMessage().startswith("retrying ") for r in client_records(caplog))
    assert_no_token(caplog)
