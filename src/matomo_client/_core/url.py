"""Validation of the Matomo base URL and construction of the dispatch request."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, urlencode, urlsplit

from matomo_client._core.auth import Auth
from matomo_client._core.http import Request
from matomo_client._core.params import Params

__all__ = ["build_request", "check_method", "normalise_base_url"]


def normalise_base_url(base_url: str) -> str:
    """Check that `base_url` is an http(s) URL with a host; add the trailing slash."""
    if not isinstance(base_url, str):
        raise ValueError(f"the Matomo base URL must be a str, not {type(base_url).__name__}")
    if not base_url.strip():
        raise ValueError("the Matomo base URL is empty")
    if base_url != base_url.strip() or any(c.isspace() for c in base_url):
        raise ValueError("the Matomo base URL contains whitespace")
    try:
        parts = urlsplit(base_url)
    except ValueError as e:  # "Invalid IPv6 URL": a bracket left open
        raise ValueError(f"the Matomo base URL is not a valid URL: {e}") from None
    if parts.scheme not in ("http", "https"):
        scheme = parts.scheme or "(none)"
        raise ValueError(f"the Matomo base URL must be http:// or https://, not {scheme}")
    if not parts.hostname:
        raise ValueError("the Matomo base URL has no host")
    if parts.username or parts.password:
        raise ValueError(
            "the Matomo base URL must not hold credentials: the token goes in auth=; "
            "a web server's HTTP Basic login in an http_client with auth=(user, password), "
            "or in ~/.netrc for AiohttpTransport"
        )
    try:
        parts.port  # noqa: B018 - urlsplit only checks the port when it is read
    except ValueError:
        raise ValueError("the Matomo base URL has an invalid port") from None
    if parts.query or parts.fragment:
        raise ValueError("the Matomo base URL must not have a query string or fragment")
    path = parts.path
    if path.rsplit("/", 1)[-1] == "index.php":  # ".../matomo/index.php", not ".../myindex.php"
        path = path[: -len("index.php")]
    if not path.endswith("/"):
        path += "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def check_method(method: str) -> str:
    """Matomo dispatches exactly `Module.action` (case-sensitive)."""
    if not isinstance(method, str):
        raise ValueError("the Matomo method must be a string like 'VisitsSummary.get'")
    module, dot, action = method.partition(".")
    if not dot or not module or not action or not (module + action).replace("_", "").isalnum():
        raise ValueError(
            f"{method!r} is not a Matomo method: use 'Module.action', e.g. 'VisitsSummary.get'"
        )
    return method


def build_request(
    method: str,
    params: Params,
    auth: Auth,
    *,
    extra_form: Sequence[tuple[str, str]] = (),
    fmt: str = "JSON",
) -> Request:
    """The one dispatch request: module/method/format in the URL, everything else in the POST body.

    Matomo only renders errors raised during authentication in API format when `module` and
    `method` are in the query string (matomo-api-notes.md §3); the token stays in the body.
    """
    check_method(method)
    query = urlencode({"module": "API", "method": method, "format": fmt}, quote_via=quote)
    form = [*params.items(), *extra_form, *auth.form()]
    body = urlencode(form, quote_via=quote).encode("ascii")
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json" if fmt.upper() == "JSON" else "*/*",
        **auth.headers(),
    }
    return Request("POST", f"index.php?{query}", headers, body, matomo_method=method)
