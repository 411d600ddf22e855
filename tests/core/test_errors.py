"""The exception tree, message classification and decoding of hand-made (non-recorded) answers."""

from __future__ import annotations

import ast
import pickle
import sys
from pathlib import Path

import pytest

from matomo_client._core.decode import parse_retry_after, read_json, read_raw
from matomo_client._core.http import Response
from matomo_client.errors import (
    ApiError,
    ApiErrorKind,
    BodyProblem,
    DecodeError,
    HttpStatusError,
    MatomoError,
    NonJsonBodyError,
    PreflightError,
    TransportError,
    classify,
    scrub,
    scrub_bytes,
)

A = ApiErrorKind
JSON = {"content-type": "application/json; charset=utf-8"}
HTML = {"content-type": "text/html; charset=utf-8"}
MARKER = "c0ffee0123456789abcdef0123456789"

NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in - Example SSO</title></head><body>"
    b'<div class="content"><h2>Please sign in</h2><form method="post"></form></div></body></html>'
)


def matomo_page(message: str) -> bytes:
    """Matomo 5's HTML error page (as in recordings 182 and 229) around `message`."""
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n\t<meta charset="utf-8">\n'
        '\t<title>Matomo &rsaquo; Error</title>\n</head>\n<body id="simple">\n'
        '<div class="box">\n\t<div class="header">\n\t\t<h1>An error occurred</h1>\n\t</div>\n'
        f'\t<div class="content"><h2>{message}</h2><p><a href="index.php">Go to Matomo</a></p>'
        "</div>\n</div>\n</body>\n</html>\n"
    ).encode()


# ---------------------------------------------------------------------------------------------
# classify


@pytest.mark.parametrize(
    ("message", "status", "kind"),
    [
        # notes §3 texts that the recordings do not contain
        ("Segment 'pageUrl' is not a supported segment.", 200, A.INVALID_PARAMETER),
        ("The segment condition 'x' is not valid.", 200, A.INVALID_PARAMETER),
        (
            "The segment 'browserCode' has no value specified. You can leave this value empty "
            "only when you use the operators: != (is not) or == (is)",
            200,
            A.INVALID_PARAMETER,
        ),
        ("You do not have enough permission to access the segment x", 401, A.PERMISSION),
        ("The Super User has disabled the Segmentation feature.", 200, A.DISABLED),
        (
            "Could not run the query in time. Maybe the selected date range is too wide? "
            "Please try again.",
            200,
            A.TOO_SLOW,
        ),
        ("Live_QueryMaxExecutionTimeExceededLimit", 200, A.TOO_SLOW),
        (
            "Visits log is deactivated globally. A user with super user access can enable "
            "this feature in the general settings.",
            200,
            A.DISABLED,
        ),
        ("Visits log is deactivated for all given websites (idSite=1,2).", 200, A.DISABLED),
        (
            "The plugin Foo is not enabled. You can activate the plugin on Settings > Plugins "
            "page in Matomo.",
            200,
            A.NOT_FOUND,
        ),
        ("The parameter 'idSite=' is missing from the request.", 401, A.PERMISSION),
        ("The parameter 'idSite=' is missing from the request.", 400, A.INVALID_PARAMETER),
        ("You can't access this resource as it requires a 'superuser' access.", 401, A.PERMISSION),
        (
            "Unable to authenticate with the provided token. It is either invalid, expired or "
            "is required to be sent as a POST parameter.",
            401,
            A.AUTH,
        ),
        (
            "Too many failed logins. Please wait and try logging in again later.",
            500,
            A.RATE_LIMITED,
        ),
        (
            "The period 'x' is not supported. Try any of the following instead: day, week",
            200,
            A.INVALID_PARAMETER,
        ),
        ("Specified date range is invalid.", 200, A.INVALID_PARAMETER),
        # plugins/Referrers: getAll over several periods or sites (HTTP 200)
        (
            "Referrers.getAll with multiple sites or dates is not supported (yet).",
            200,
            A.INVALID_PARAMETER,
        ),
        ("Please specify a value for 'idSite'.", 400, A.INVALID_PARAMETER),
        # texts we do not know: the status decides, as Matomo's exception mapping does
        ("Vous ne pouvez pas accéder à cette ressource.", 401, A.PERMISSION),
        ("Die Anfrage ist ungültig.", 400, A.INVALID_PARAMETER),
        ("Das Plugin wurde nicht gefunden.", 404, A.NOT_FOUND),
        ("slow down", 429, A.RATE_LIMITED),
        ("SQLSTATE[HY000]: General error: 2006 MySQL server has gone away", 200, A.UNKNOWN),
        ("Something broke.", 500, A.UNKNOWN),
    ],
)
def test_classify(message: str, status: int, kind: ApiErrorKind) -> None:
    """classify maps Matomo's message texts (then the status) to the documented kind."""
    assert classify(message, status) is kind


# ---------------------------------------------------------------------------------------------
# messages, reprs, pickling


def test_api_error_message_format() -> None:
    """str(ApiError) names the method, HTTP status and kind, then Matomo's message."""
    error = ApiError(A.AUTH, "Unable to authenticate.", "VisitsSummary.get", 401)
    assert (
        str(error)
        == "Matomo API error in VisitsSummary.get (HTTP 401, AUTH): Unable to authenticate."
    )
    assert repr(error) == (
        "ApiError(method='VisitsSummary.get', kind=AUTH, status=401, "
        "message='Unable to authenticate.')"
    )
    assert str(ApiError(A.UNKNOWN, "x")) == "Matomo API error (HTTP 200, UNKNOWN): x"


def test_every_error_is_a_matomo_error_with_a_method() -> None:
    """Each class of the tree derives from MatomoError and carries the Matomo method."""
    errors: list[MatomoError] = [
        ApiError(A.UNKNOWN, "m", "M.a", 200),
        HttpStatusError(502, "M.a", "bad gateway"),
        NonJsonBodyError(200, "text/html", b"<html>", "M.a"),
        DecodeError("M.a", "expected a list"),
        TransportError("M.a", "ConnectError: refused"),
        PreflightError("5.11.2", ("Live.getLastVisitsDetails",), method="M.a"),
    ]
    for error in errors:
        assert isinstance(error, MatomoError)
        assert error.method == "M.a"
        assert type(error).__name__ in repr(error)
        assert "M.a" in repr(error)


def test_reprs_never_show_a_whole_body() -> None:
    """A 1 MB body or message shows up as a short excerpt in str() and repr(), never in full."""
    body = b"<html>" + b"x" * 1_000_000
    errors: list[MatomoError] = [
        NonJsonBodyError(200, "text/html", body, "M.a"),
        HttpStatusError(502, "M.a", "y" * 1_000_000),
        ApiError(A.UNKNOWN, "z" * 1_000_000, "M.a", 200),
        DecodeError("M.a", "w" * 1_000_000),
    ]
    for error in errors:
        assert len(repr(error)) < 400
    assert len(str(errors[0])) < 400
    assert len(str(errors[1])) < 400
    assert len(errors[1].body_excerpt) <= 200  # type: ignore[attr-defined]


def test_other_messages() -> None:
    """The non-API errors read as one clear line each."""
    assert str(HttpStatusError(429, "Live.getLastVisitsDetails", "slow down", 7.0)) == (
        "HTTP 429, Retry-After 7s from Matomo in Live.getLastVisitsDetails: slow down"
    )
    assert str(DecodeError("Sites.get", "expected a list")) == (
        "Unexpected response shape in Sites.get: expected a list"
    )
    timeout = TransportError("API.getMatomoVersion", "ReadTimeout", timeout=True)
    assert str(timeout) == "Timed out calling Matomo in API.getMatomoVersion: ReadTimeout"
    assert timeout.timeout
    preflight = PreflightError("4.16.1", ("API.getReportMetadata", "Live.getLastVisitsDetails"))
    assert str(preflight) == (
        "Matomo 4.16.1 does not expose API.getReportMetadata, Live.getLastVisitsDetails"
    )
    assert preflight.missing == ("API.getReportMetadata", "Live.getLastVisitsDetails")
    assert "version unknown" in str(PreflightError(None, (), "no answer"))


@pytest.mark.parametrize(
    "error",
    [
        ApiError(A.PERMISSION, "no", "M.a", 401),
        HttpStatusError(503, "M.a", "busy", 3.0),
        NonJsonBodyError(200, "application/json", b'{"a":', "M.a", BodyProblem.TRUNCATED),
        DecodeError("M.a", "bad"),
        TransportError("M.a", "refused", timeout=True),
        TransportError("M.a", "untrusted certificate", permanent=True),
        PreflightError("5.0.0", ("X.y",), "old", "M.a"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_pickle(error: MatomoError) -> None:
    """Errors survive pickling (process pools, trio/anyio workers) with their fields intact."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert repr(copy) == repr(error)
    assert copy._fields() == error._fields()  # TransportError.permanent included


# ---------------------------------------------------------------------------------------------
# scrub


def test_scrub_replaces_raw_and_url_encoded_secrets() -> None:
    """scrub hides a secret whether it appears raw, percent-encoded or plus-encoded."""
    secret = "ab/c d+e"
    text = f"a={secret} b=ab%2Fc%20d%2Be c=ab%2Fc+d%2Be"
    assert scrub(text, [secret]) == "a=*** b=*** c=***"


def test_scrub_ignores_empty_secrets_and_handles_overlap() -> None:
    """An empty secret changes nothing; a secret containing another is replaced whole."""
    assert scrub("hello", [""]) == "hello"
    assert scrub("tok-123456 tok", ["tok", "tok-123456"]) == "*** ***"
    assert scrub_bytes(b"x=tok-123456\xff", ["tok-123456"]) == b"x=***\xff"


def test_a_short_secret_is_scrubbed_where_it_stands_alone() -> None:
    """A secret under 8 characters (a sandbox's `--token e`) is masked as a word, not inside
    words: masked everywhere, it turned "export" into "***xport" and `"id_site"` data into
    `"id_sit***"`. A 32-character Matomo token is masked wherever it appears."""
    assert scrub("token e expired; export e-mail", ["e"]) == "token *** expired; export ***-mail"
    assert scrub_bytes(b'{"id_site":"e","x":"e_1"}', ["e"]) == b'{"id_site":"***","x":"e_1"}'
    assert scrub_bytes("\u00e9e\u00e9 e".encode(), ["e"]) == "\u00e9e\u00e9 ***".encode()
    token = "0123456789abcdef0123456789abcdef"
    assert scrub(f"x{token}y", [token]) == "x***y"


def test_token_echoed_in_a_json_error_is_scrubbed() -> None:
    """A server message echoing the token loses it when the caller passes the token as secret."""
    body = f'{{"result":"error","message":"Bad request token_auth={MARKER}&idSite=1"}}'.encode()
    response = Response(400, JSON, body)
    with pytest.raises(ApiError) as plain:
        read_json("VisitsSummary.get", response)
    assert MARKER in plain.value.message  # nothing is invented: scrub is what removes it
    for read in (read_json, read_raw):
        with pytest.raises(ApiError) as caught:
            read("VisitsSummary.get", response, secrets=[MARKER])
        error = caught.value
        assert "token_auth=***" in error.message
        assert MARKER not in str(error) + repr(error) + error.message


def test_token_echoed_in_other_bodies_is_scrubbed() -> None:
    """HTML pages, proxy excerpts and kept bodies are scrubbed of the token too."""
    responses = [
        Response(401, HTML, matomo_page(f"Token {MARKER} is invalid or expired.")),
        Response(502, HTML, b"<html><body>upstream said token_auth=" + MARKER.encode()),
        Response(200, HTML, b"<html><body>hello " + MARKER.encode()),
        Response(200, JSON, b'{"token_auth":"' + MARKER.encode()),
    ]
    for response in responses:
        with pytest.raises(MatomoError) as caught:
            read_json("M.a", response, secrets=[MARKER])
        error = caught.value
        seen = str(error) + repr(error)
        seen += str(getattr(error, "body", b"")) + getattr(error, "body_excerpt", "")
        seen += getattr(error, "message", "")
        assert MARKER not in seen, type(error).__name__


# ---------------------------------------------------------------------------------------------
# decoding answers that are not in the recordings


def test_empty_200_body() -> None:
    """A 0-byte 200 answer is a NonJsonBodyError (EMPTY) for read_json and b"" for read_raw."""
    response = Response(200, JSON, b"")
    with pytest.raises(NonJsonBodyError) as caught:
        read_json("M.a", response)
    assert caught.value.problem is BodyProblem.EMPTY
    assert "0 bytes" in str(caught.value)
    assert read_raw("M.a", response) == b""


def test_empty_error_status_body() -> None:
    """A 0-byte 503 answer is an HttpStatusError with an empty excerpt."""
    with pytest.raises(HttpStatusError) as caught:
        read_json("M.a", Response(503, {}, b""))
    assert (caught.value.status, caught.value.body_excerpt) == (503, "")


def test_non_utf8_json_body() -> None:
    """A JSON body with invalid UTF-8 in the middle is a NonJsonBodyError (NOT_UTF8)."""
    with pytest.raises(NonJsonBodyError) as caught:
        read_json("M.a", Response(200, JSON, b'[{"label":"caf\xe9 au lait"}]'))
    assert caught.value.problem is BodyProblem.NOT_UTF8


def test_json_cut_inside_a_character_is_truncated() -> None:
    """A body cut in the middle of a multi-byte character counts as truncated, not as bad UTF-8."""
    body = '[{"label":"Café"}]'.encode()[:14]
    with pytest.raises(NonJsonBodyError) as caught:
        read_json("M.a", Response(200, JSON, body))
    assert caught.value.problem is BodyProblem.TRUNCATED


def test_truncated_json() -> None:
    """JSON cut short by a proxy is a NonJsonBodyError (TRUNCATED) that keeps the body."""
    body = b'[{"idVisit":"1","actionDetails":[{"type":"action"'
    with pytest.raises(NonJsonBodyError) as caught:
        read_json("Live.getLastVisitsDetails", Response(200, JSON, body))
    assert caught.value.problem is BodyProblem.TRUNCATED
    assert caught.value.body == body
    assert caught.value.content_type == "application/json"


def test_non_utf8_error_page_from_proxy() -> None:
    """A latin-1 5xx body still gives a readable HttpStatusError excerpt."""
    with pytest.raises(HttpStatusError) as caught:
        read_json("M.a", Response(500, {"content-type": "text/plain"}, b"Erreur interne \xe9"))
    assert caught.value.body_excerpt.startswith("Erreur interne")


def test_proxy_html_502() -> None:
    """nginx's 502 page is an HttpStatusError whose excerpt is the page text, not markup."""
    with pytest.raises(HttpStatusError) as caught:
        read_json("VisitsSummary.get", Response(502, HTML, NGINX_502))
    error = caught.value
    assert error.status == 502
    assert error.retry_after is None
    assert error.body_excerpt == "502 Bad Gateway 502 Bad Gateway nginx/1.25.3"
    with pytest.raises(HttpStatusError):
        read_raw("VisitsSummary.get", Response(502, HTML, NGINX_502))


def test_html_login_page_with_200() -> None:
    """An SSO login page (200, HTML, no Matomo title) is a NonJsonBodyError, not an ApiError."""
    response = Response(200, HTML, LOGIN_PAGE)
    with pytest.raises(NonJsonBodyError) as caught:
        read_json("VisitsSummary.get", response)
    assert caught.value.problem is BodyProblem.HTML
    # The raw reader returns any 2xx body that is not Matomo's error: the caller asked for bytes.
    assert read_raw("VisitsSummary.get", response) == LOGIN_PAGE


def test_login_page_with_401_is_not_an_api_error() -> None:
    """A proxy's 401 HTML page is an HttpStatusError: status alone does not make it Matomo's."""
    with pytest.raises(HttpStatusError) as caught:
        read_json("VisitsSummary.get", Response(401, HTML, LOGIN_PAGE))
    assert caught.value.status == 401


def test_matomo_page_is_recognised_with_any_status_and_unescaped() -> None:
    """Matomo's error page is an ApiError even with 200, with entities and tags resolved."""
    page = matomo_page("The plugin <b>Foo</b> was not found &amp; gone &rsaquo; really.")
    with pytest.raises(ApiError) as caught:
        read_json("Foo.get", Response(200, HTML, page))
    assert caught.value.message == "The plugin Foo was not found & gone › really."
    assert caught.value.kind is A.NOT_FOUND


def test_json_error_with_500_status() -> None:
    """A JSON error body is an ApiError whatever the status, and keeps that status."""
    body = b'{"result":"error","message":"Mysql server has gone away"}'
    with pytest.raises(ApiError) as caught:
        read_json("M.a", Response(500, JSON, body))
    assert (caught.value.status, caught.value.kind) == (500, A.UNKNOWN)


def test_json_success_body_with_error_status() -> None:
    """A non-error JSON body under a 503 is an HttpStatusError, never a success."""
    with pytest.raises(HttpStatusError) as caught:
        read_json("M.a", Response(503, JSON, b'{"value":"5.11.2"}'))
    assert caught.value.status == 503


def test_a_result_field_alone_is_not_an_error() -> None:
    """Data that merely has a "result" key (not "error" with a message) decodes as data."""
    assert read_json("M.a", Response(200, JSON, b'{"result":"success","message":"ok"}')) == {
        "result": "success",
        "message": "ok",
    }
    assert read_json("M.a", Response(200, JSON, b'[{"result":"error"}]')) == [{"result": "error"}]


def test_xml_error_body() -> None:
    """Matomo's XML error (format=xml) is an ApiError with the attribute text unescaped."""
    body = (
        b'<?xml version="1.0" encoding="utf-8" ?>\n<result>\n\t<error message="The period '
        b"&#039;fortnight&#039; is not supported. Try any of the following instead: day, "
        b'week, month, year, range" />\n</result>'
    )
    for read in (read_json, read_raw):
        with pytest.raises(ApiError) as caught:
            read("VisitsSummary.get", Response(200, {"content-type": "text/xml"}, body))
        assert caught.value.message.startswith("The period 'fortnight' is not supported.")
        assert caught.value.kind is A.INVALID_PARAMETER


def test_plain_text_error_only_trusted_on_2xx() -> None:
    """A plain "Error: ..." line is Matomo's on 200, but a proxy's HTTP error on 502."""
    plain = {"content-type": "text/plain"}
    with pytest.raises(ApiError):
        read_raw("M.a", Response(200, plain, b"Error: Renderer format 'x' not valid."))
    with pytest.raises(HttpStatusError):
        read_raw("M.a", Response(502, plain, b"Error: upstream unavailable"))


def test_csv_success_is_raw_bytes() -> None:
    """A CSV report body goes through read_raw untouched and is refused by read_json."""
    body = b"label,nb_visits\nfoo,1\n"
    response = Response(200, {"content-type": "application/vnd.ms-excel"}, body)
    assert read_raw("Actions.getPageUrls", response) == body
    with pytest.raises(NonJsonBodyError) as caught:
        read_json("Actions.getPageUrls", response)
    assert caught.value.problem is BodyProblem.OTHER_FORMAT


def test_bom_prefixed_json_decodes() -> None:
    """A UTF-8 BOM before the JSON does not stop it from decoding."""
    assert read_json("M.a", Response(200, JSON, b'\xef\xbb\xbf{"value":1}')) == {"value": 1}


def test_429_retry_after_seconds() -> None:
    """A 429 carries Retry-After in seconds as retry_after."""
    response = Response(429, {"retry-after": "7", "content-type": "text/plain"}, b"Too Many")
    with pytest.raises(HttpStatusError) as caught:
        read_json("Live.getLastVisitsDetails", response)
    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    """Retry-After gives seconds when numeric, None for an HTTP-date without a Date header to
    measure it from, garbage or absence."""
    assert parse_retry_after(header) == seconds


DATE = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # already past
        ("Thu, 22 Oct 2015 07:28:00 GMT", 86_400.0),
        ("soon", None),
    ],
)
def test_retry_after_as_an_http_date_counts_from_the_response_s_date(
    header: str, seconds: float | None
) -> None:
    """An HTTP-date Retry-After is the seconds from the response's own Date header to it: a 429
    that asked for 30 s was retried after the backoff's 0.04 s."""
    assert parse_retry_after(header, DATE) == seconds
    response = Response(429, {"retry-after": header, "date": DATE}, b"Too Many Requests")
    with pytest.raises(HttpStatusError) as info:
        read_json("VisitsSummary.get", response)
    assert info.value.retry_after == seconds


# ---------------------------------------------------------------------------------------------
# purity


def test_modules_import_only_stdlib_orjson_and_http() -> None:
    """errors, decode and retry import nothing but the stdlib, orjson and our pure modules."""
    src = Path(__file__).resolve().parents[2] / "src" / "matomo_client"
    allowed = set(sys.stdlib_module_names) | {"orjson"}
    ours = {"matomo_client._core.http", "matomo_client.errors"}
    for path in (src / "errors.py", src / "_core" / "decode.py", src / "_core" / "retry.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name in ours or name.split(".")[0] in allowed, (path.name, name)


def test_a_permanent_transport_error_says_so_in_its_repr() -> None:
    """A logged error shows whether it would be retried."""
    assert "permanent=True" in repr(TransportError("M.a", "untrusted", permanent=True))
    assert "permanent" not in repr(TransportError("M.a", "refused"))
