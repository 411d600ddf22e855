"""The library as an integration developer uses it: pickled errors, timeouts, headers, imports."""

from __future__ import annotations

import pickle
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import httpx
import pytest

from matomo_client import (
    ApiError,
    ApiErrorKind,
    AsyncMatomo,
    Auth,
    DecodeError,
    HttpStatusError,
    Matomo,
    MatomoError,
    NonJsonBodyError,
    PreflightError,
    Request,
    Response,
    RetryPolicy,
    SyncMockTransport,
    TransportError,
)
from matomo_client.endpoints import GetMatomoVersion
from matomo_client.transports import AsyncHttpxTransport, HttpxTransport, MockTransport

URL = "https://stats.example.com/"
VERSION_BODY = b'{"value":"5.11.2"}'


def _errors() -> list[MatomoError]:
    """One fresh error of each class (a test adds notes to them)."""
    return [
        MatomoError("plain", "X.y"),
        ApiError(ApiErrorKind.PERMISSION, "You can't access this resource", "Live.getX", 401, 3.0),
        HttpStatusError(502, "A.b", "<html>bad gateway</html>", 5.0),
        NonJsonBodyError(200, "text/html", b"<html>login</html>", "A.b"),
        DecodeError("A.b", "shape"),
        TransportError("A.b", "ConnectError", timeout=True, permanent=True),
        PreflightError("3.14.1", ["A.b"], "is too old", "A.b"),
    ]


def _raise_with_a_note(error: MatomoError) -> None:
    """A worker that adds context to a library error before it crosses the process boundary."""
    try:
        raise error
    except MatomoError as exc:
        if sys.version_info >= (3, 11):
            exc.add_note("while exporting site 7")
        else:  # what add_note does
            exc.__notes__ = ["while exporting site 7"]
        exc.id_site = 7  # type: ignore[attr-defined]
        raise


@pytest.mark.parametrize("error", _errors(), ids=lambda e: type(e).__name__)
def test_an_errors_notes_and_added_attributes_survive_pickling(error: MatomoError) -> None:
    """Notes (`add_note`) and attributes added to an error are kept by pickle, as for any exception."""
    shown = (str(error), repr(error), error.method)
    try:
        _raise_with_a_note(error)
    except MatomoError as exc:
        back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(error)
    assert back.__notes__ == ["while exporting site 7"]
    assert back.id_site == 7
    assert (str(back), repr(back), back.method) == shown


def test_an_error_raised_in_a_worker_process_keeps_its_note() -> None:
    """An ApiError from a ProcessPoolExecutor worker arrives with its fields and its note."""
    with ProcessPoolExecutor(1) as pool, pytest.raises(ApiError) as caught:
        pool.submit(_raise_with_a_note, _errors()[1]).result()
    assert caught.value.kind is ApiErrorKind.PERMISSION
    assert caught.value.status == 401
    assert caught.value.__notes__ == ["while exporting site 7"]


def _recording_timeouts(seen: list[dict[str, Any]]) -> httpx.MockTransport:
    """An httpx mock transport that notes the timeout each request carried."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions["timeout"]))
        return httpx.Response(200, json={"value": "5.11.2"})

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(
    ("client_timeout", "ours", "read"),
    [
        (None, {"timeout": 60.0}, 60.0),
        (None, {}, 30.0),
        (8.0, {}, 8.0),
        (8.0, {"timeout": 3.0}, 3.0),
    ],
    ids=["ours-given", "both-default", "theirs-configured", "ours-wins"],
)
def test_timeout_holds_on_a_given_http_client(
    client_timeout: float | None, ours: dict[str, float], read: float
) -> None:
    """`timeout=` applies through `http_client=` (not httpx's 5 s), unless only that client set one."""
    seen: list[dict[str, Any]] = []
    mock = _recording_timeouts(seen)
    http = (
        httpx.Client(transport=mock)
        if client_timeout is None
        else httpx.Client(transport=mock, timeout=client_timeout)
    )
    with http, Matomo(URL, http_client=http, skip_preflight=True, **ours) as m:  # type: ignore[arg-type]
        m.api.version()
    assert seen[0]["read"] == read


@pytest.mark.anyio
async def test_timeout_holds_on_a_given_async_http_client() -> None:
    """The async client sends its `timeout` with each request through the caller's httpx client."""
    seen: list[dict[str, Any]] = []
    http = httpx.AsyncClient(transport=_recording_timeouts(seen))
    async with http, AsyncMatomo(URL, http_client=http, timeout=60, skip_preflight=True) as m:
        await m.api.version()
    assert seen[0]["read"] == 60.0


def test_options_a_given_transport_or_http_client_would_ignore_are_refused() -> None:
    """`timeout=`/`verify=False` with `transport=`, or `verify=False` with `http_client=`: ValueError."""
    transport = SyncMockTransport(lambda r: Response(200, {}, VERSION_BODY))
    with pytest.raises(ValueError, match="set them on the transport"):
        Matomo(URL, transport=transport, timeout=120)
    with pytest.raises(ValueError, match="set them on the transport"):
        AsyncMatomo(URL, transport=MockTransport(lambda r: Response(200)), verify=False)
    with httpx.Client() as http, pytest.raises(ValueError, match="verify=False"):
        Matomo(URL, http_client=http, verify=False)
    Matomo(URL, transport=transport, timeout=30.0)  # the default is no conflict


class _UserTransport:
    """A transport as a user writes one over urllib: header names as the server sent them."""

    def __init__(self, *answers: Response) -> None:
        self.answers = list(answers)

    def send(self, request: Request) -> Response:
        return self.answers.pop(0)


def test_header_names_from_a_custom_transport_are_read_in_any_case() -> None:
    """`Retry-After` and `Content-Type` count whatever their case, so a 429's wait is honoured."""
    slow_down = Response(429, {"Retry-After": "7", "Content-Type": "text/plain"}, b"slow down")
    with pytest.raises(HttpStatusError) as caught:
        GetMatomoVersion().execute_sync(_UserTransport(slow_down), retry=RetryPolicy(attempts=1))
    assert caught.value.retry_after == 7.0
    login = Response(200, {"Content-Type": "text/html; charset=utf-8"}, b"<html>Sign in</html>")
    with pytest.raises(NonJsonBodyError) as page:
        GetMatomoVersion().execute_sync(_UserTransport(login), retry=RetryPolicy(attempts=1))
    assert page.value.content_type == "text/html"


@pytest.mark.anyio
async def test_the_httpx_transports_are_context_managers() -> None:
    """`async with AsyncHttpxTransport(...)` and `with HttpxTransport(...)` close what they opened."""
    async with AsyncHttpxTransport(URL) as transport:
        assert not transport._client.is_closed
    assert transport._client.is_closed
    with HttpxTransport(URL) as sync_transport:
        assert not sync_transport._client.is_closed
    assert sync_transport._client.is_closed


def test_subpackages_are_attributes_after_a_bare_import() -> None:
    """`import matomo_client` then `matomo_client.check.check_server`, as the README writes it."""
    code = (
        "import matomo_client as mc\n"
        "print(mc.check.check_server.__name__, mc.endpoints.GetMatomoVersion.__name__,"
        " mc.export.export_visits.__name__, mc.transports.MockTransport.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "check_server",
        "GetMatomoVersion",
        "export_visits",
        "MockTransport",
    ]
    assert Auth.anonymous()  # the package itself still imports its names lazily
