"""Errors as the clients raise them: the right class and kind, the page's message, the method."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from clients_support import Harness, Router, recorded

from matomo_client import (
    ApiError,
    ApiErrorKind,
    DecodeError,
    HttpStatusError,
    MatomoError,
    NonJsonBodyError,
    Params,
    Period,
    PreflightError,
    RetryPolicy,
    TransportError,
)
from matomo_client._core.http import Request, Response
from matomo_client.transports import json_response

pytestmark = pytest.mark.anyio

DAY = Period.day(dt.date(2026, 11, 28))
INVALID_TOKEN = "Unable to authenticate with the provided token. It is either invalid or expired."


async def test_invalid_token_page_is_auth_with_its_message(harness: Harness) -> None:
    """The recorded 401 HTML invalid-token page is ApiError AUTH with the page's own message."""
    m = harness.client(Router({"VisitsSummary.get": recorded("182_")}), skip_preflight=True)
    with pytest.raises(ApiError) as info:
        await harness.run(m.visits_summary.get, 1, DAY)
    err = info.value
    assert err.kind is ApiErrorKind.AUTH
    assert err.status == 401
    assert err.message == INVALID_TOKEN
    assert err.method == "VisitsSummary.get"


async def test_invalid_bearer_page_is_auth(harness: Harness) -> None:
    """The recorded 401 page for an invalid Bearer token is ApiError AUTH too."""
    m = harness.client(Router({"VisitsSummary.get": recorded("189_")}), skip_preflight=True)
    with pytest.raises(ApiError) as info:
        await harness.run(m.visits_summary.get, 1, DAY)
    assert info.value.kind is ApiErrorKind.AUTH


@pytest.mark.parametrize("prefix", ["229_", "230_"])
async def test_brute_force_page_is_rate_limited(harness: Harness, prefix: str) -> None:
    """The recorded 500 HTML brute-force page is ApiError RATE_LIMITED with its message."""
    m = harness.client(Router({"VisitsSummary.get": recorded(prefix)}), skip_preflight=True)
    with pytest.raises(ApiError) as info:
        await harness.run(m.visits_summary.get, 1, DAY)
    assert info.value.kind is ApiErrorKind.RATE_LIMITED
    assert info.value.status == 500
    assert "Too many failed logins" in info.value.message


async def test_live_disabled_is_disabled(harness: Harness) -> None:
    """The recorded 'Visits log is deactivated' answer to a Live page is ApiError DISABLED."""
    m = harness.client(Router({"Live.getLastVisitsDetails": recorded("225_")}))
    with pytest.raises(ApiError) as info:
        await harness.run(m.live.last_visits, 2, DAY, 3)
    assert info.value.kind is ApiErrorKind.DISABLED
    assert info.value.method == "Live.getLastVisitsDetails"


async def test_unknown_site_is_not_found(harness: Harness) -> None:
    """The recorded 'unexpected website' answer (HTTP 200) to sites.get(999) is NOT_FOUND."""
    m = harness.client(Router({"SitesManager.getSiteFromId": recorded("197_")}))
    with pytest.raises(ApiError) as info:
        await harness.run(m.sites.get, 999)
    assert info.value.kind is ApiErrorKind.NOT_FOUND
    assert info.value.status == 200


def _respond(answer: Any) -> Any:
    def handler(request: Request) -> Response:
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return handler


HTML = {"content-type": "text/html; charset=utf-8"}
ERROR_CASES = [
    ("recorded 401 page", recorded("182_"), ApiError),
    ("recorded 400 unknown method", recorded("192_"), PreflightError),
    ("recorded 200 JSON error", recorded("204_"), ApiError),
    ("recorded 500 page", recorded("229_"), ApiError),
    ("proxy 502", Response(502, HTML, b"<html><h1>502 Bad Gateway</h1></html>"), HttpStatusError),
    ("proxy login", Response(200, HTML, b"<html><form>login</form></html>"), NonJsonBodyError),
    ("empty body", Response(200, {}, b""), NonJsonBodyError),
    ("wrong shape", json_response({"nb_visits": "many"}), DecodeError),
    ("no answer", ConnectionRefusedError("refused"), TransportError),
]


@pytest.mark.parametrize(
    ("answer", "error"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
async def test_every_error_carries_the_method(
    harness: Harness, answer: Any, error: type[MatomoError]
) -> None:
    """Each kind of failure raises its MatomoError subclass with `.method` set to the call's."""
    m = harness.client(_respond(answer), skip_preflight=True, retry=RetryPolicy(attempts=2))
    with pytest.raises(error) as info:
        await harness.run(m.visits_summary.get, 1, DAY)
    assert info.value.method == "VisitsSummary.get"
    assert "VisitsSummary.get" in str(info.value)
    assert "VisitsSummary.get" in repr(info.value)


async def test_decode_error_for_a_list_where_a_site_is_expected(harness: Harness) -> None:
    """sites.get() answered with a list of sites is a DecodeError naming the method."""
    m = harness.client(Router({"SitesManager.getSiteFromId": recorded("009_")}))
    with pytest.raises(DecodeError) as info:
        await harness.run(m.sites.get, 1)
    assert info.value.method == "SitesManager.getSiteFromId"


async def test_bulk_answer_of_the_wrong_length_is_a_decode_error(harness: Harness) -> None:
    """A bulk answer with fewer items than asked for is a DecodeError, not a silent shift."""
    m = harness.client(Router({"API.getBulkRequest": [{"value": "5.11.2"}]}))
    with pytest.raises(DecodeError, match="2 answers"):
        await harness.run(
            m.api.bulk, [("API.getMatomoVersion", Params()), ("API.getMatomoVersion", Params())]
        )


async def test_transport_of_the_other_flavour_is_refused_at_once() -> None:
    """A blocking transport given to AsyncMatomo or Endpoint.execute (and an async one to Matomo
    or execute_sync) is a TypeError naming it, before any request, not a coroutine error later."""
    from matomo_client import AsyncMatomo, Matomo, endpoints
    from matomo_client.transports import MockTransport, SyncMockTransport

    def answer(request: Request) -> Response:
        return json_response({"value": "5.11.2"})

    blocking, async_ = SyncMockTransport(answer), MockTransport(answer)
    with pytest.raises(TypeError, match=r"SyncMockTransport\.send is blocking"):
        AsyncMatomo("https://stats.example.com/", transport=blocking)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"MockTransport\.send is async"):
        Matomo("https://stats.example.com/", transport=async_)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"SyncMockTransport\.send is blocking"):
        await endpoints.GetMatomoVersion().execute(blocking)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"MockTransport\.send is async"):
        endpoints.GetMatomoVersion().execute_sync(async_)  # type: ignore[arg-type]
    assert blocking.requests == async_.requests == []
    assert await endpoints.GetMatomoVersion().execute(async_) == "5.11.2"
    assert endpoints.GetMatomoVersion().execute_sync(blocking) == "5.11.2"
