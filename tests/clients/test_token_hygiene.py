"""The API token never shows: not in a URL, an exception, a repr or a log record (SPEC 2.8).

Every scenario runs with a marker token, under token and Bearer auth, against a server that
does its worst: it echoes the token back in error messages, HTML pages and proxy bodies.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from clients_support import BASE_URL, TOKEN, VERSION, Harness, form, method_of, recorded

from matomo_client import (
    AsyncMatomo,
    Auth,
    Matomo,
    MatomoError,
    Params,
    Period,
    RetryPolicy,
)
from matomo_client._core.http import Request, Response
from matomo_client.transports import json_response

pytestmark = pytest.mark.anyio

DAY = Period.day(dt.date(2026, 11, 28))
HTML = {"content-type": "text/html; charset=utf-8"}


def sent_token(request: Request) -> str:
    """The token as this request carried it (body or header), so a server can echo it."""
    auth = request.headers.get("Authorization", "")
    return auth.removeprefix("Bearer ") if auth else form(request).get("token_auth", "")


def echo(make: Callable[[str, Request], Response]) -> Callable[[Request], Response]:
    """A server that answers the preflight, then echoes the token in every other answer."""

    def handler(request: Request) -> Response:
        if method_of(request) == "API.getMatomoVersion":
            return VERSION
        return make(sent_token(request), request)

    return handler


def matomo_page(message: str, status: int) -> Response:
    """Matomo's recorded HTML error page, with another message in it."""
    page = recorded("182_").body.replace(
        b"Unable to authenticate with the provided token. It is either invalid or expired.",
        message.encode(),
    )
    return Response(status, HTML, page)


def _raise(exc: BaseException) -> Response:
    raise exc


SCENARIOS: dict[str, Callable[[str, Request], Response]] = {
    "json error": lambda t, r: json_response(
        {"result": "error", "message": f"The token {t} is not valid."}, 401
    ),
    "html 401 page": lambda t, r: matomo_page(f"Unable to authenticate with token {t}.", 401),
    "html 500 page": lambda t, r: matomo_page(f"Too many failed logins for {t}.", 500),
    "proxy 502 echoing the body": lambda t, r: Response(502, HTML, b"<pre>" + r.body + b"</pre>"),
    "proxy 200 login page": lambda t, r: Response(200, HTML, f"<p>bad key {t}</p>".encode()),
    "truncated json": lambda t, r: Response(
        200, {"content-type": "application/json"}, f'{{"token": "{t}", "nb_'.encode()
    ),
    "wrong shape": lambda t, r: json_response({"nb_visits": t, t: [t]}),
    "transport error": lambda t, r: _raise(ConnectionError(f"failed sending {t}")),
    "xml error": lambda t, r: Response(
        200,
        {"content-type": "text/xml"},
        f'<?xml version="1.0"?><result><error message="no {t}" /></result>'.encode(),
    ),
    "plain text error": lambda t, r: Response(
        200, {"content-type": "text/plain"}, f"Error: token {t} refused".encode()
    ),
    "plugin off at a typed call": lambda t, r: json_response(
        {"result": "error", "message": f"The plugin Goals is not enabled ({t})."}
    ),
}


def assert_clean(text: str, where: str) -> None:
    """The marker token is not in `text`."""
    assert TOKEN not in text, f"the token leaked into {where}: {text[:300]!r}"


def check_everything(
    m: Any, auth: Auth, requests: list[Request], caplog: pytest.LogCaptureFixture
) -> None:
    """No URL, repr or log record holds the token; the body or header carries it as intended."""
    assert requests
    for request in requests:
        assert_clean(request.path, "a request URL")
        assert_clean(repr(request), "a Request repr")
        if auth.style == "token":
            assert form(request)["token_auth"] == TOKEN
            assert "Authorization" not in request.headers
        else:
            assert request.headers["Authorization"] == f"Bearer {TOKEN}"
            assert TOKEN.encode() not in request.body
    assert_clean(repr(m), "the client repr")
    assert_clean(repr(m._transport), "the transport repr")
    assert_clean(repr(auth) + str(auth), "the Auth repr")
    assert caplog.records, "DEBUG logging produced no records to check"
    for record in caplog.records:
        assert_clean(record.getMessage(), "a log record")
        assert_clean(repr(record.args), "log record arguments")


def assert_error_clean(exc: BaseException) -> None:
    """The exception, its fields, and its whole chained traceback are free of the token."""
    assert_clean(str(exc), "an exception message")
    assert_clean(repr(exc), "an exception repr")
    assert_clean(repr(vars(exc)), "an exception's fields")
    assert_clean("".join(traceback.format_exception(exc)), "a formatted traceback")


@pytest.fixture(params=["token", "bearer"])
def auth(request: pytest.FixtureRequest) -> Auth:
    """Both ways of sending the token."""
    return Auth.token(TOKEN) if request.param == "token" else Auth.bearer(TOKEN)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_errors_never_show_the_token(
    harness: Harness, auth: Auth, scenario: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every error path, with the server echoing the token, keeps it out of sight."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")
    m = harness.client(echo(SCENARIOS[scenario]), auth=auth, retry=RetryPolicy(attempts=2))
    if scenario == "plugin off at a typed call":
        call = harness.run(m.visits_summary.get, 1, DAY)
    else:
        call = harness.run(m.call_typed, "VisitsSummary.get", Params().id_site(1), dict[str, int])
    with pytest.raises(MatomoError) as info:
        await call
    assert_error_clean(info.value)
    check_everything(m, auth, harness.requests, caplog)


@pytest.mark.parametrize("scenario", ["json error", "html 401 page", "proxy 502 echoing the body"])
async def test_raw_calls_never_show_the_token(
    harness: Harness, auth: Auth, scenario: str, caplog: pytest.LogCaptureFixture
) -> None:
    """call_raw() and stream_raw() errors keep the token out of sight too."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")
    m = harness.client(echo(SCENARIOS[scenario]), auth=auth, retry=RetryPolicy(attempts=1))
    for fn in (m.call_raw, m.stream_raw):
        with pytest.raises(MatomoError) as info:
            await harness.run(fn, "Goals.get", Params().id_site(1))
        assert_error_clean(info.value)
    check_everything(m, auth, harness.requests, caplog)


async def test_preflight_errors_never_show_the_token(
    harness: Harness, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    """An error answering the preflight keeps the token out of sight."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")

    def handler(request: Request) -> Response:
        message = f"The plugin API is not enabled for {sent_token(request)}"
        return json_response({"result": "error", "message": message})

    m = harness.client(handler, auth=auth)
    with pytest.raises(MatomoError) as info:
        await harness.run(m.sites.list)
    assert_error_clean(info.value)
    check_everything(m, auth, harness.requests, caplog)


async def test_bulk_item_errors_never_show_the_token(
    harness: Harness, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    """A bulk item error echoing the token is scrubbed."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")
    m = harness.client(
        echo(lambda t, r: json_response([{"result": "error", "message": f"bad token {t}"}])),
        auth=auth,
    )
    (result,) = await harness.run(m.api.bulk, [("API.getMatomoVersion", Params())])
    assert result.error is not None
    assert_error_clean(result.error)
    assert_clean(repr(result), "a BulkResult repr")
    check_everything(m, auth, harness.requests, caplog)


async def test_successful_calls_log_without_the_token(
    harness: Harness, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    """DEBUG logging of ordinary calls and retries never holds the token."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")
    answers = [Response(503, HTML, TOKEN.encode()), recorded("015_")]
    m = harness.client(echo(lambda t, r: answers.pop(0)), auth=auth)
    await harness.run(m.visits_summary.get, 1, DAY)
    assert any("retrying" in r.getMessage() for r in caplog.records)
    check_everything(m, auth, harness.requests, caplog)


async def test_httpx_errors_never_show_the_token(
    harness: Harness, auth: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    """An httpx error whose text holds the token becomes a TransportError without it."""
    caplog.set_level(logging.DEBUG, logger="matomo_client")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot send {request.content.decode()}", request=request)

    transport = httpx.MockTransport(refuse)
    kw: dict[str, Any] = {"auth": auth, "retry": RetryPolicy(attempts=2)}
    m: Any
    if harness.kind == "async":
        m = AsyncMatomo(BASE_URL, http_client=httpx.AsyncClient(transport=transport), **kw)
    else:
        m = Matomo(BASE_URL, http_client=httpx.Client(transport=transport), **kw)
    with pytest.raises(MatomoError) as info:
        await harness.run(m.sites.list)
    assert_clean(str(info.value), "an exception message")
    assert_clean(repr(info.value), "an exception repr")
    assert_clean(repr(m) + repr(m._transport), "the client and transport reprs")
    for record in caplog.records:
        assert_clean(record.getMessage(), "a log record")
