"""Building the one dispatch request: what goes in the URL, the body and the headers."""

from __future__ import annotations

import pickle
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from matomo_client import AsyncMatomo, Auth, Matomo, Params
from matomo_client._core.url import build_request, check_method, normalise_base_url
from matomo_client.endpoints import GetBulkRequest, GetMatomoVersion
from matomo_client.transports import HttpxTransport

TOKEN = "c0ffee0123456789abcdef0123456789"
PARAMS = Params().id_site(1).set("period", "day").set("date", "2024-01-31").set("flat", 1)


def _query(path: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))


def test_module_method_format_in_the_query_everything_else_in_the_body() -> None:
    """The query string holds exactly module/method/format; the body the rest and the token."""
    request = build_request("VisitsSummary.get", PARAMS, Auth.token(TOKEN))
    assert request.method == "POST"
    assert urlsplit(request.path).path == "index.php"
    assert _query(request.path) == {
        "module": "API",
        "method": "VisitsSummary.get",
        "format": "JSON",
    }
    assert _form(request.body) == {
        "idSite": "1",
        "period": "day",
        "date": "2024-01-31",
        "flat": "1",
        "token_auth": TOKEN,
    }
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in request.headers
    assert request.matomo_method == "VisitsSummary.get"


def test_bearer_goes_in_the_header_only() -> None:
    """Bearer auth sends `Authorization: Bearer <token>` and no token_auth anywhere."""
    request = build_request("VisitsSummary.get", PARAMS, Auth.bearer(TOKEN))
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "token_auth" not in _form(request.body)
    assert TOKEN not in request.path
    assert TOKEN.encode() not in request.body


def test_anonymous_sends_no_token() -> None:
    """Anonymous auth sends neither token_auth nor an Authorization header."""
    request = build_request("VisitsSummary.get", PARAMS, Auth.anonymous())
    assert "token_auth" not in _form(request.body)
    assert "token_auth" not in request.path
    assert "Authorization" not in request.headers


def test_values_are_form_encoded() -> None:
    """Segments with &, =, ; and Unicode survive the form encoding exactly."""
    segment = "pageUrl=@/a&b=c;pageTitle==Bücher – 東京"
    request = build_request(
        "Live.getLastVisitsDetails", Params().segment(segment), Auth.anonymous()
    )
    assert _form(request.body)["segment"] == segment
    request.body.decode("ascii")  # percent-encoded: plain ASCII on the wire


def test_raw_format_goes_in_the_query() -> None:
    """A requested format other than JSON is sent in the query string."""
    request = build_request("API.getMatomoVersion", Params(), Auth.anonymous(), fmt="xml")
    assert _query(request.path)["format"] == "xml"
    assert request.headers["Accept"] == "*/*"


def test_bulk_items_go_in_the_body() -> None:
    """Bulk sub-requests are urls[i] form fields; the outer list asks for every item."""
    endpoint = GetBulkRequest((("API.getMatomoVersion", Params()), ("VisitsSummary.get", PARAMS)))
    request = endpoint.request(Auth.token(TOKEN))
    body = _form(request.body)
    # Each item gets Matomo's default limit, not the outer -1 it would read otherwise.
    assert body["urls[0]"] == "method=API.getMatomoVersion&filter_limit=100"
    assert body["urls[1]"] == (
        "method=VisitsSummary.get&idSite=1&period=day&date=2024-01-31&flat=1&filter_limit=100"
    )
    assert body["filter_limit"] == "-1"
    assert "urls" not in request.path


@pytest.mark.parametrize(
    ("sites", "outer"),
    [((1, 1), "1"), ((1, 2), None), ((1, None), None), (([1, 2], [1, 2]), None), (("all",), None)],
)
def test_a_bulk_request_about_one_site_names_it(sites: tuple[Any, ...], outer: str | None) -> None:
    """Matomo offers a site's custom dimension segments only when the HTTP request itself names
    the site: items that all ask about one site name it on the outer request, others do not."""
    items = tuple(
        ("VisitsSummary.get", Params().set("period", "day") if s is None else Params().id_site(s))
        for s in sites
    )
    body = _form(GetBulkRequest(items).request(Auth.token(TOKEN)).body)
    assert body.get("idSite") == outer


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: GetBulkRequest(()), "at least one"),
        (lambda: GetBulkRequest((("API.getBulkRequest", Params()),)), "nested"),
        (lambda: GetBulkRequest((("API.getMatomoVersion", {}),)), "needs Params"),
        (lambda: GetBulkRequest((("nodot", Params()),)), "Module.action"),
    ],
)
def test_bad_bulk_requests(build: Any, message: str) -> None:
    """Empty, nested, non-Params or malformed bulk items are refused before any request."""
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    "method", ["VisitsSummary", "", ".get", "Visits.", "A.b.c", "A b.get", "A.get;x", "A.get&x=1"]
)
def test_malformed_methods_are_refused(method: str) -> None:
    """Only `Module.action` is a Matomo method; anything else is a ValueError."""
    with pytest.raises(ValueError, match=r"Module\.action"):
        check_method(method)


def test_non_string_method_is_refused() -> None:
    """A method that is not a string is a ValueError."""
    with pytest.raises(ValueError, match="string"):
        check_method(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://stats.example.com", "https://stats.example.com/"),
        ("https://stats.example.com/", "https://stats.example.com/"),
        ("http://stats.example.com/matomo", "http://stats.example.com/matomo/"),
        ("https://example.com/tools/matomo/", "https://example.com/tools/matomo/"),
        ("https://example.com/matomo/index.php", "https://example.com/matomo/"),
        ("https://example.com:8443/m", "https://example.com:8443/m/"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
        ("https://example.com/stats/myindex.php", "https://example.com/stats/myindex.php/"),
        ("https://example.com/index.php", "https://example.com/"),
    ],
)
def test_base_url_normalisation(url: str, normal: str) -> None:
    """A trailing slash is added, a sub-path kept, a trailing index.php dropped."""
    assert normalise_base_url(url) == normal
    assert AsyncMatomo(url, skip_preflight=True).base_url == normal
    assert Matomo(url, skip_preflight=True).base_url == normal


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://stats.example.com/", "http:// or https://"),
        ("stats.example.com", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://", "no host"),
        ("https:///matomo/", "no host"),
        ("https://stats.example.com/my matomo/", "whitespace"),
        (" https://stats.example.com/", "whitespace"),
        ("https://user:secret@stats.example.com/", "credentials"),
        ("https://token@stats.example.com/", "credentials"),
        ("https://stats.example.com/?token_auth=x", "query string"),
        ("https://stats.example.com/#x", "fragment"),
        ("", "empty"),
        ("https://stats.example.com:http/", "invalid port"),
        ("https://stats.example.com:99999/", "invalid port"),
    ],
)
def test_invalid_base_urls(url: str, message: str) -> None:
    """Non-http(s), hostless, spaced, credentialed or query-carrying URLs are a ValueError."""
    with pytest.raises(ValueError, match=message):
        normalise_base_url(url)
    with pytest.raises(ValueError, match=message):
        AsyncMatomo(url)
    with pytest.raises(ValueError, match=message):
        Matomo(url)


def test_the_wire_request_over_httpx() -> None:
    """Through the httpx transport the full URL is base + index.php?module&method&format only."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"value": "5.11.2"})

    transport = HttpxTransport(
        "https://example.com/matomo/", client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    version = GetMatomoVersion().execute_sync(transport, auth=Auth.token(TOKEN))
    assert version == "5.11.2"
    (request,) = seen
    assert str(request.url) == (
        "https://example.com/matomo/index.php?module=API&method=API.getMatomoVersion&format=JSON"
    )
    assert request.method == "POST"
    assert request.content == f"token_auth={TOKEN}".encode()
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize("bad", ["", "   ", "abc def", "abc\n", "a\x00b", "abc\tdef", "ab\x7fc"])
def test_bad_tokens_are_refused(bad: str) -> None:
    """An empty token or one holding whitespace or control characters is a ValueError."""
    with pytest.raises(ValueError, match="token"):
        Auth.token(bad)
    with pytest.raises(ValueError, match="token"):
        Auth.bearer(bad)


@pytest.mark.parametrize("bad", [b"0123456789abcdef", 12345])
def test_a_token_that_is_not_text_is_named_as_such(bad: Any) -> None:
    """A bytes or int token is refused as the wrong type, not as "empty"; its value is not shown."""
    with pytest.raises(ValueError, match="must be a str, got") as caught:
        Auth.token(bad)
    assert "0123456789abcdef" not in str(caught.value)
    with pytest.raises(ValueError, match="must be a str, got"):
        Auth.bearer(bad)


def test_auth_never_shows_or_pickles_the_token() -> None:
    """Auth's repr and str hide the token, and an Auth cannot be pickled."""
    for auth in (Auth.token(TOKEN), Auth.bearer(TOKEN)):
        assert TOKEN not in repr(auth)
        assert TOKEN not in str(auth)
        with pytest.raises(TypeError, match="picklable"):
            pickle.dumps(auth)
    assert repr(Auth.anonymous()) == "Auth.anonymous()"
    assert Auth.token(TOKEN) == Auth.token(TOKEN)
    assert Auth.token(TOKEN) != Auth.bearer(TOKEN)


def test_client_refuses_a_non_auth() -> None:
    """auth= must be an Auth; a bare token string is refused (it would be sent nowhere)."""
    with pytest.raises(ValueError, match=r"Auth\.token"):
        AsyncMatomo("https://m.example/", auth=TOKEN)  # type: ignore[arg-type]
