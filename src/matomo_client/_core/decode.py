"""Reading Matomo's answers: decode a success or raise the right error from `matomo_client.errors`.

Matomo reports errors in several dresses, all of which become `ApiError` (notes §3, recordings
182-232): a JSON `{"result":"error","message":...}` body with status 200/400/401/404/500, its own
HTML error page (invalid token: 401; brute-force block: 500), an XML `<error message=...>` body,
and a plain-text `Error: ...` line (unknown `format`). Anything else that is not a 2xx JSON answer
is not Matomo speaking: a non-2xx answer is an `HttpStatusError`, a 2xx non-JSON body a
`NonJsonBodyError`. Pure functions over `Response`; no I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

from matomo_client._core.http import Response
from matomo_client.errors import (
    EXCERPT_LIMIT,
    ApiError,
    BodyProblem,
    HttpStatusError,
    MatomoError,
    NonJsonBodyError,
    classify,
    scrub,
    scrub_bytes,
)

__all__ = [
    "api_error_from_value",
    "cut_short",
    "parse_retry_after",
    "plausible_json",
    "read_json",
    "read_raw",
]

_BOM = b"\xef\xbb\xbf"
# A JSON error body is tiny; bodies larger than this that merely start with "{" are data.
_SMALL_BODY = 64 * 1024

# Matomo's error page (plugins/Morpheus/templates/simpleLayoutHeader/Footer + errorPage):
# <title>Matomo &rsaquo; Error</title> ... <h1>An error occurred</h1> ...
# <div class="content"><h2>MESSAGE</h2>. Both the title (or the h1) and the content h2 must be
# there: a proxy's HTML page or a login page must not pass for Matomo's error.
_HTML_TITLE = re.compile(
    rb"<title>\s*(?:Matomo|Piwik)\s*(?:&rsaquo;|\xe2\x80\xba|&#8250;)\s*Error\s*</title>"
    rb"|<h1>\s*An error occurred\s*</h1>",
    re.IGNORECASE,
)
_HTML_MESSAGE = re.compile(
    rb"<div\s+class=[\"']content[\"']\s*>\s*<h2>(.*?)</h2>", re.IGNORECASE | re.DOTALL
)
# Matomo's XML renderer: <result><error message="..." /></result>.
_XML_ERROR = re.compile(
    rb"^\s*(?:<\?xml[^>]*\?>)?\s*<result>\s*<error\s+message=\"([^\"]*)\"\s*/>\s*</result>\s*$",
    re.DOTALL,
)
_TAG = re.compile(r"<[^>]+>")
# What a page shows nobody: scripts, styles, comments (most of a CDN's challenge page).
_UNSEEN = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
# The scheme and realm of a `WWW-Authenticate` / `Proxy-Authenticate` challenge.
_CHALLENGE = re.compile(r"\s*([A-Za-z][\w-]*)(?:.*?\brealm=\"([^\"]*)\")?")
# The byte that must end a JSON body starting with an array or an object.
_CLOSERS = {b"[": b"]", b"{": b"}"}

# Content types that a 2xx plain "Error: ..." line from Matomo's renderers may carry.
_PLAIN_TYPES = frozenset(
    {"", "text/plain", "text/csv", "text/tab-separated-values", "application/vnd.ms-excel"}
)


def read_json(method: str, response: Response, secrets: Iterable[str] = ()) -> Any:
    """Decode a Matomo response body (orjson), or raise the right MatomoError.

    `secrets` (e.g. the API token) are scrubbed from every message and excerpt the error carries.
    """
    secrets = tuple(secrets)
    response = _lowered(response)
    body = response.body
    success = _is_success(response.status)
    # Error bodies come with any status; only small JSON-looking ones are parsed when not 2xx.
    if success or (_looks_like_json(body) and len(body) <= _SMALL_BODY):
        try:
            value = orjson.loads(body.removeprefix(_BOM))
        except orjson.JSONDecodeError:
            pass
        else:
            error = api_error_from_value(
                method, value, response.status, secrets, _retry_after(response)
            )
            if error is not None:
                raise error
            if success:
                return value
    raise _error_for(method, response, secrets)


def read_raw(
    method: str, response: Response, secrets: Iterable[str] = (), *, expect_json: bool = False
) -> bytes:
    """Return the body untouched when it is not an error, else raise like read_json.

    Any 2xx body that is not one of Matomo's error bodies is returned as is, whatever its format
    (CSV, XML, HTML reports): the caller asked for the raw bytes. With `expect_json` (the call
    asked for `format=JSON`), a body that cannot be JSON is a `NonJsonBodyError` instead: 0 bytes,
    an HTML page (a proxy's login page, say) or an array or object cut short. The body is not
    decoded; only its first and last bytes are looked at.
    """
    secrets = tuple(secrets)
    response = _lowered(response)
    body = response.body
    if _looks_like_json(body) and len(body) <= _SMALL_BODY:
        try:
            value = orjson.loads(body.removeprefix(_BOM))
        except orjson.JSONDecodeError:
            pass
        else:
            error = api_error_from_value(
                method, value, response.status, secrets, _retry_after(response)
            )
            if error is not None:
                raise error
    matomo_error = _matomo_error_page(method, response, secrets)
    if matomo_error is not None:
        raise matomo_error
    if _is_success(response.status):
        if expect_json and not plausible_json(body):
            raise _error_for(method, response, secrets)
        return body
    raise _http_status_error(method, response, secrets)


def _lowered(response: Response) -> Response:
    """`response` with lower-cased header names, as `Response` documents them.

    A transport of the user's (over urllib or requests, say) easily passes the server's
    `Retry-After` and `Content-Type` as they came; read as absent, a 429's wait was skipped.
    """
    if all(name.islower() for name in response.headers):
        return response
    headers = {name.lower(): value for name, value in response.headers.items()}
    return Response(response.status, headers, response.body)


def plausible_json(body: bytes, *, whole: bool = True) -> bool:
    """Whether `body` may be a JSON answer, judged by its ends alone (no decoding).

    False for 0 bytes, an HTML or XML page, and (when `whole`) an array or object whose last
    byte does not close it. A JSONP answer (`callback=`) or a scalar passes.
    """
    start = body.removeprefix(_BOM).lstrip()
    if not start or start[:1] == b"<":
        return False
    return not (whole and cut_short(body, body))


def cut_short(first: bytes, last: bytes) -> bool:
    """Whether a JSON body from `first` to `last` leaves its top array or object unclosed."""
    closer = _CLOSERS.get(first.removeprefix(_BOM).lstrip()[:1])
    return closer is not None and last.rstrip()[-1:] != closer


def api_error_from_value(
    method: str,
    value: Any,
    status: int = 200,
    secrets: Iterable[str] = (),
    retry_after: float | None = None,
) -> ApiError | None:
    """The `ApiError` a decoded `{"result":"error","message":...}` value stands for, else None.

    Also serves the items of an `API.getBulkRequest` answer, where failed items look like this
    while the HTTP status stays 200.
    """
    if not isinstance(value, dict) or value.get("result") != "error":
        return None
    message = value.get("message")
    if not isinstance(message, str):
        return None
    message = scrub(message, secrets)
    return ApiError(classify(message, status), message, method, status, retry_after)


def parse_retry_after(value: str | None, date: str | None = None) -> float | None:
    """Seconds from a `Retry-After` header: a number of seconds, or an HTTP-date measured from
    the response's own `Date` header (`date`; the core keeps no clock). None when absent, or a
    date without a `Date` to measure it from."""
    if value is None:
        return None
    try:
        seconds: float | None = float(value.strip())
    except ValueError:
        seconds = _seconds_between(date, value)
    if seconds is None or seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(seconds, 0.0)


def _seconds_between(start: str | None, end: str) -> float | None:
    """Seconds from HTTP-date `start` to HTTP-date `end`, or None if either does not parse."""
    if start is None:
        return None
    from email.utils import parsedate_to_datetime  # rare: spared at import

    try:
        a, b = parsedate_to_datetime(start), parsedate_to_datetime(end)
        return (b - a).total_seconds()
    except (TypeError, ValueError, IndexError):  # not a date, or one naive and one aware
        return None


def _is_success(status: int) -> bool:
    return 200 <= status < 300


def _looks_like_json(body: bytes) -> bool:
    head = body[:16].removeprefix(_BOM).lstrip()
    return head[:1] in (b"{", b"[")


def _error_for(method: str, response: Response, secrets: tuple[str, ...]) -> MatomoError:
    """The error for a response that did not decode into a success."""
    matomo_error = _matomo_error_page(method, response, secrets)
    if matomo_error is not None:
        return matomo_error
    if not _is_success(response.status):
        return _http_status_error(method, response, secrets)
    return NonJsonBodyError(
        response.status,
        response.content_type,
        scrub_bytes(response.body, secrets),
        method,
        _body_problem(response),
    )


def _matomo_error_page(
    method: str, response: Response, secrets: tuple[str, ...]
) -> ApiError | None:
    """An `ApiError` when the body is Matomo's HTML, XML or plain-text error, else None."""
    body = response.body
    status = response.status
    content_type = response.content_type
    message: str | None = None
    if "html" in content_type or body.lstrip()[:1] == b"<":
        found = _HTML_TITLE.search(body) and _HTML_MESSAGE.search(body)
        if found:
            message = _text_of(found.group(1))
        elif "xml" in content_type or not content_type:
            xml = _XML_ERROR.match(body)
            if xml:
                message = _text_of(xml.group(1))
    elif _is_success(status) and content_type in _PLAIN_TYPES:
        # ApiRenderer::renderException for non-JSON formats, e.g. an unknown `format`
        # (recording 216). Only trusted on 2xx: a proxy's "Error: ..." 5xx stays an HTTP error.
        text = _decode(body[:_SMALL_BODY]).lstrip("\ufeff \t\r\n")
        if text.startswith("Error: ") and len(body) <= _SMALL_BODY:
            message = " ".join(text[len("Error: ") :].split())
    if message is None:
        return None
    message = scrub(message, secrets)
    return ApiError(classify(message, status), message, method, status, _retry_after(response))


def _retry_after(response: Response) -> float | None:
    headers = response.headers
    return parse_retry_after(headers.get("retry-after"), headers.get("date"))


def _text_of(fragment: bytes) -> str:
    """Plain text of an HTML/XML fragment: tags dropped, entities unescaped, spaces collapsed."""
    text = _TAG.sub(" ", _decode(fragment))
    return " ".join(html.unescape(text).split())


def _decode(body: bytes) -> str:
    return body.decode("utf-8", "replace")


def _http_status_error(
    method: str, response: Response, secrets: tuple[str, ...]
) -> HttpStatusError:
    text = _decode(response.body[: EXCERPT_LIMIT * 20])
    if "html" in response.content_type:
        text = html.unescape(_TAG.sub(" ", _UNSEEN.sub(" ", text)))
    text = _status_hint(response) or text  # the page of a redirect or a login says no more
    return HttpStatusError(
        response.status,
        method,
        scrub(" ".join(text.split()), secrets)[:EXCERPT_LIMIT],
        _retry_after(response),
    )


def _status_hint(response: Response) -> str:
    """What a redirect or a login asked for by the web plumbing in front of Matomo means."""
    status, headers = response.status, response.headers
    if 300 <= status < 400 and headers.get("location"):
        return (
            f"redirected to {_shown_location(headers['location'])}, not followed (the token must "
            "not travel): if Matomo moved, use its new address as the base URL"
        )
    challenge = headers.get("www-authenticate" if status == 401 else "proxy-authenticate")
    if status not in (401, 407) or not challenge:
        return ""
    found = _CHALLENGE.match(challenge)
    scheme = found.group(1) if found else "HTTP"
    realm = f' (realm "{found.group(2)}")' if found and found.group(2) else ""
    basic = scheme.lower() == "basic"  # the only login ~/.netrc and proxy URLs can give
    if status == 407:
        where = ": put it in HTTPS_PROXY or HTTP_PROXY, as http://user:password@proxy:port"
        return f"the proxy asks for a {scheme} login{realm}" + (where if basic else "")
    where = ": put it in ~/.netrc (the matomo command) or give an http_client with auth="
    return (
        f"the web server in front of Matomo asks for an HTTP {scheme} login{realm}, not the token"
        + (where if basic else "")
    )


def _shown_location(location: str) -> str:
    """A redirect's target without user:password, query or fragment, at most 80 characters."""
    try:
        parts = urlsplit(location.strip())
    except ValueError:  # a bracket left open
        return "an address that is not a valid URL"
    host = parts.netloc.rpartition("@")[2]
    shown = urlunsplit((parts.scheme, host, parts.path, "", ""))
    return shown if len(shown) <= 80 else shown[:79] + "…"


def _body_problem(response: Response) -> BodyProblem:
    """Why a 2xx body failed to decode as JSON."""
    body = response.body
    content_type = response.content_type
    if not body.strip():
        return BodyProblem.EMPTY
    if "html" in content_type:
        return BodyProblem.HTML
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the very end is a truncation, not an encoding problem.
        if exc.reason == "unexpected end of data":
            return BodyProblem.TRUNCATED
        return BodyProblem.NOT_UTF8
    if "json" in content_type or _looks_like_json(body):
        return BodyProblem.TRUNCATED
    if not content_type and body.lstrip()[:1] == b"<":
        return BodyProblem.HTML
    return BodyProblem.OTHER_FORMAT
