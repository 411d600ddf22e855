"""The one exception tree of matomo-client (SPEC §2.8).

```
MatomoError                         every error carries .method (the Matomo method, "" if unknown)
├── ApiError                        Matomo said no: {"result":"error"} JSON (any status), its HTML
│     (kind, message, method,       error page (bad token: 401, brute-force block: 500), its XML
│      status, retry_after)         error or its plain-text "Error: ..." line
├── HttpStatusError                 a non-2xx answer that is not Matomo's (proxy 502, 429, 503 ...)
│     (status, method, body_excerpt, retry_after)
├── NonJsonBodyError                a 2xx body that is not JSON (proxy login page, cut-off JSON)
│     (status, content_type, body, method, problem: BodyProblem)
├── DecodeError(method, detail)     JSON fine, shape not what the model expects
├── TransportError                  connect/read errors and timeouts (raised `from` the transport's)
│     (method, detail, timeout)
└── PreflightError                  the server lacks what the client is about to use
      (version, missing)
```

`ApiErrorKind` says what kind of "no" an `ApiError` is; `classify` derives it from Matomo's
message text and the HTTP status. No message or `repr` here is ever built from a request URL or
body, and `scrub` removes secrets from text that came back from the server.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = [
    "ApiError",
    "ApiErrorKind",
    "BodyProblem",
    "DecodeError",
    "HttpStatusError",
    "MatomoError",
    "NonJsonBodyError",
    "PreflightError",
    "TransportError",
    "classify",
    "scrub",
    "scrub_bytes",
]

# How much of a message or body a `repr` shows.
_REPR_LIMIT = 120
# How much of a body a `str` shows (and `HttpStatusError.body_excerpt` keeps).
EXCERPT_LIMIT = 200


def _shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters, whitespace collapsed."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(method: str) -> str:
    return f" in {method}" if method else ""


class MatomoError(Exception):
    """Base class of every error raised by matomo-client; `.method` is the Matomo method or ""."""

    method: str

    def __init__(self, message: str, method: str = "") -> None:
        super().__init__(message)
        self.method = method

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions pickle by their args; ours are rebuilt from their fields instead. The
        # state keeps what was added later, as for any exception: `add_note`'s notes, attributes.
        return (type(self), self._fields(), self.__dict__ or None)

    def _fields(self) -> tuple[object, ...]:
        return (str(self), self.method)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(method={self.method!r}, {_shorten(str(self), _REPR_LIMIT)!r})"
        )


class ApiErrorKind(enum.Enum):
    """What kind of refusal an `ApiError` is, derived from Matomo's message and HTTP status."""

    AUTH = "auth"  # the token is invalid, expired or sent the wrong way
    PERMISSION = "permission"  # authenticated (or anonymous) but not allowed
    NOT_FOUND = "not_found"  # unknown method, module, plugin, site or dimension
    INVALID_PARAMETER = "invalid_parameter"  # bad or missing period/date/segment/idSite/...
    RATE_LIMITED = "rate_limited"  # too many requests or failed logins
    DISABLED = "disabled"  # a feature is switched off (visits log, segmentation)
    TOO_SLOW = "too_slow"  # the server's query time limit was hit
    UNKNOWN = "unknown"  # none of the above


class ApiError(MatomoError):
    """Matomo answered with an error message (JSON, its HTML error page, XML or plain text)."""

    kind: ApiErrorKind
    message: str
    status: int
    retry_after: float | None

    def __init__(
        self,
        kind: ApiErrorKind,
        message: str,
        method: str = "",
        status: int = 200,
        retry_after: float | None = None,
    ) -> None:
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        wait = f", Retry-After {retry_after:g}s" if retry_after is not None else ""
        super().__init__(
            f"Matomo API error{_where(method)} (HTTP {status}, {kind.name}{wait}): {message}",
            method,
        )

    def _fields(self) -> tuple[object, ...]:
        return (self.kind, self.message, self.method, self.status, self.retry_after)

    def __repr__(self) -> str:
        return (
            f"ApiError(method={self.method!r}, kind={self.kind.name}, status={self.status}, "
            + (f"retry_after={self.retry_after!r}, " if self.retry_after is not None else "")
            + f"message={_shorten(self.message, _REPR_LIMIT)!r})"
        )


class HttpStatusError(MatomoError):
    """A non-2xx HTTP answer that is not one of Matomo's error bodies (proxy errors, 429, 5xx)."""

    status: int
    body_excerpt: str
    retry_after: float | None

    def __init__(
        self,
        status: int,
        method: str = "",
        body_excerpt: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.body_excerpt = _shorten(body_excerpt, EXCERPT_LIMIT)
        self.retry_after = retry_after
        wait = f", Retry-After {retry_after:g}s" if retry_after is not None else ""
        excerpt = f": {self.body_excerpt}" if self.body_excerpt else ""
        super().__init__(f"HTTP {status}{wait} from Matomo{_where(method)}{excerpt}", method)

    def _fields(self) -> tuple[object, ...]:
        return (self.status, self.method, self.body_excerpt, self.retry_after)

    def __repr__(self) -> str:
        return (
            f"HttpStatusError(method={self.method!r}, status={self.status}, "
            f"retry_after={self.retry_after!r}, "
            f"body_excerpt={_shorten(self.body_excerpt, _REPR_LIMIT)!r})"
        )


class BodyProblem(enum.Enum):
    """Why a body could not be read as JSON; decides whether a retry can help."""

    EMPTY = "empty"  # 0 bytes: a proxy or a crashed worker
    TRUNCATED = "truncated"  # JSON cut short or mangled on the way
    HTML = "html"  # an HTML page (proxy login/maintenance page), not Matomo's error page
    NOT_UTF8 = "not_utf8"  # bytes that are not UTF-8 anywhere but at the very end
    OTHER_FORMAT = "other_format"  # a deliberate other format (XML, CSV, plain text ...)


def _guess_problem(content_type: str, body: bytes) -> BodyProblem:
    if not body.strip():
        return BodyProblem.EMPTY
    if "html" in content_type:
        return BodyProblem.HTML
    if "json" in content_type or not content_type:
        return BodyProblem.TRUNCATED
    return BodyProblem.OTHER_FORMAT


class NonJsonBodyError(MatomoError):
    """A 2xx answer whose body is not JSON; `str`/`repr` show an excerpt, `.body` has it all."""

    status: int
    content_type: str
    body: bytes
    problem: BodyProblem

    def __init__(
        self,
        status: int,
        content_type: str,
        body: bytes,
        method: str = "",
        problem: BodyProblem | None = None,
    ) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body
        self.problem = problem if problem is not None else _guess_problem(content_type, body)
        excerpt = _shorten(body[: EXCERPT_LIMIT * 4].decode("utf-8", "replace"), EXCERPT_LIMIT)
        super().__init__(
            f"Matomo returned a body that is not JSON{_where(method)} "
            f"(HTTP {status}, {content_type or 'no content-type'}, {len(body)} bytes, "
            f"{self.problem.value})" + (f": {excerpt}" if excerpt else ""),
            method,
        )

    def _fields(self) -> tuple[object, ...]:
        return (self.status, self.content_type, self.body, self.method, self.problem)

    def __repr__(self) -> str:
        return (
            f"NonJsonBodyError(method={self.method!r}, status={self.status}, "
            f"content_type={self.content_type!r}, problem={self.problem.name}, "
            f"body=<{len(self.body)} bytes>)"
        )


class DecodeError(MatomoError):
    """The JSON decoded, but its shape is not what the caller's model expects."""

    detail: str

    def __init__(self, method: str, detail: str) -> None:
        self.detail = detail
        super().__init__(f"Unexpected response shape{_where(method)}: {detail}", method)

    def _fields(self) -> tuple[object, ...]:
        return (self.method, self.detail)

    def __repr__(self) -> str:
        return f"DecodeError(method={self.method!r}, detail={_shorten(self.detail, _REPR_LIMIT)!r})"


class TransportError(MatomoError):
    """The request did not get an answer (connect/read error or timeout); raised `from` the cause.

    `detail` must not be built from the request URL or body (the driver passes the exception's
    class name and message, which for httpx carry neither).
    """

    timeout: bool
    detail: str
    permanent: bool  # trying again cannot help (a TLS certificate the client does not trust)

    def __init__(
        self, method: str, detail: str = "", timeout: bool = False, permanent: bool = False
    ) -> None:
        self.timeout = timeout
        self.detail = detail
        self.permanent = permanent
        what = "Timed out" if timeout else "Transport error"
        super().__init__(f"{what} calling Matomo{_where(method)}: {detail or 'no answer'}", method)

    def _fields(self) -> tuple[object, ...]:
        return (self.method, self.detail, self.timeout, self.permanent)

    def __repr__(self) -> str:
        permanent = ", permanent=True" if self.permanent else ""
        return (
            f"TransportError(method={self.method!r}, timeout={self.timeout}{permanent}, "
            f"detail={_shorten(self.detail, _REPR_LIMIT)!r})"
        )


class PreflightError(MatomoError):
    """The server is not usable for what the client is about to do (names version and gaps)."""

    version: str | None
    missing: tuple[str, ...]
    detail: str

    def __init__(
        self, version: str | None, missing: Iterable[str] = (), detail: str = "", method: str = ""
    ) -> None:
        self.version = version
        self.missing = tuple(missing)
        self.detail = detail
        server = f"Matomo {version}" if version else "The Matomo server (version unknown)"
        parts = []
        if self.missing:
            parts.append("does not expose " + ", ".join(self.missing))
        if detail:
            parts.append(detail)
        super().__init__(f"{server} {'; '.join(parts) or 'failed the preflight check'}", method)

    def _fields(self) -> tuple[object, ...]:
        return (self.version, self.missing, self.detail, self.method)

    def __repr__(self) -> str:
        return (
            f"PreflightError(method={self.method!r}, version={self.version!r}, "
            f"missing={self.missing!r})"
        )


# Matomo's English message texts (Matomo 5.11.2 recordings and core sources), first match wins.
# Order matters: "Too many failed logins" before the auth texts, idSite texts before "requires".
_RULES: tuple[tuple[re.Pattern[str], ApiErrorKind], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        # plugins/Login brute-force detection (HTML page, HTTP 500).
        (r"too many failed logins", ApiErrorKind.RATE_LIMITED),
        (r"too many requests|rate limit", ApiErrorKind.RATE_LIMITED),
        # FrontController / Login::onFailedAPILogin, HTTP 401 (HTML page or JSON via GET).
        (r"unable to authenticate|token.{0,40}(invalid|expired)", ApiErrorKind.AUTH),
        # plugins/Live: visits log off globally, per site or for all given sites.
        (r"visits log is deactivated|visitor log is deactivated", ApiErrorKind.DISABLED),
        (r"has disabled the segmentation feature", ApiErrorKind.DISABLED),
        # plugins/Live/Model.php live_query_max_execution_time.
        (
            r"could not run the query in time|QueryMaxExecutionTimeExceeded",
            ApiErrorKind.TOO_SLOW,
        ),
        # Access::checkUserHasViewAccess and friends, HTTP 401.
        (r"you can't access this resource|requires .{0,20}access", ApiErrorKind.PERMISSION),
        (r"not have enough permission", ApiErrorKind.PERMISSION),
        # Unknown method (400), unknown module (404), inactive plugin, unknown site/dimension.
        (r"does not exist or is not available in the module", ApiErrorKind.NOT_FOUND),
        (r"the plugin \S+ (was not found|is not enabled)", ApiErrorKind.NOT_FOUND),
        (r"an unexpected website was found", ApiErrorKind.NOT_FOUND),
        (r"\bdoes not exist\b", ApiErrorKind.NOT_FOUND),
        # Missing or malformed parameters: period, date, range, segment, idSite, format ...
        (r"please specify a value for", ApiErrorKind.INVALID_PARAMETER),
        (r"isn't set in the request", ApiErrorKind.INVALID_PARAMETER),
        (r"the method name is invalid", ApiErrorKind.INVALID_PARAMETER),
        (r"website ids could not be read", ApiErrorKind.INVALID_PARAMETER),
        (r"the period '.*' is not supported", ApiErrorKind.INVALID_PARAMETER),
        (r"date format must be|is not a correct date range", ApiErrorKind.INVALID_PARAMETER),
        (r"date range is invalid|date before first website", ApiErrorKind.INVALID_PARAMETER),
        (r"\bsegment\b", ApiErrorKind.INVALID_PARAMETER),
        (r"renderer format '.*' not valid", ApiErrorKind.INVALID_PARAMETER),
        (r"needs to be a number", ApiErrorKind.INVALID_PARAMETER),
        # plugins/Referrers getAll / getReferrerType over several periods or sites.
        (r"is not supported \(yet\)", ApiErrorKind.INVALID_PARAMETER),
    )
)

# "The parameter 'idSite=' is missing from the request." is an access check for non-super users
# (Access::checkUserHasViewAccess, HTTP 401); with any other status it is a plain missing parameter.
_MISSING_ID_SITE = re.compile(r"'idSite=' is missing", re.IGNORECASE)

# When no text matches (a translated message, a new text), Matomo's own status mapping still
# tells something: 401 NoAccessException, 400 BadRequestException, 404 unknown module.
_BY_STATUS = {
    400: ApiErrorKind.INVALID_PARAMETER,
    401: ApiErrorKind.PERMISSION,
    403: ApiErrorKind.PERMISSION,
    404: ApiErrorKind.NOT_FOUND,
    429: ApiErrorKind.RATE_LIMITED,
}


def classify(message: str, status: int) -> ApiErrorKind:
    """Best-effort kind of a Matomo error, from its (English) message text, then its HTTP status."""
    if _MISSING_ID_SITE.search(message):
        return ApiErrorKind.PERMISSION if status == 401 else ApiErrorKind.INVALID_PARAMETER
    for pattern, kind in _RULES:
        if pattern.search(message):
            return kind
    return _BY_STATUS.get(status, ApiErrorKind.UNKNOWN)


def _secret_forms(secrets: Iterable[str]) -> list[str]:
    """Each non-empty secret raw and URL-encoded, longest first (so no partial replacement)."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update((secret, quote(secret, safe=""), quote_plus(secret, safe="")))
    return sorted(forms, key=len, reverse=True)


# A secret this short (real Matomo tokens have 32 characters) is masked only where it stands alone:
# masked inside words too, a token "e" turned every message, and `call --raw` data, to mush.
_SHORT_SECRET = 8
# What may not touch a short secret: a letter, a digit or `_` (in bytes, also any non-ASCII byte).
_WORD = r"\w"
_WORD_BYTES = rb"[A-Za-z0-9_\x80-\xff]"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret (raw or URL-encoded) in `text` with "***".

    A secret under 8 characters is replaced only where no letter, digit or `_` touches it.
    """
    for form in _secret_forms(secrets):
        if len(form) < _SHORT_SECRET:
            text = re.sub(rf"(?<!{_WORD}){re.escape(form)}(?!{_WORD})", "***", text)
        else:
            text = text.replace(form, "***")
    return text


def scrub_bytes(body: bytes, secrets: Iterable[str]) -> bytes:
    """`scrub` for raw bytes (bodies kept on errors), whatever their encoding."""
    for form in _secret_forms(secrets):
        raw = form.encode("utf-8")
        if len(form) < _SHORT_SECRET:
            alone = b"(?<!" + _WORD_BYTES + b")" + re.escape(raw) + b"(?!" + _WORD_BYTES + b")"
            body = re.sub(alone, b"***", body)
        else:
            body = body.replace(raw, b"***")
    return body
