"""Neutral HTTP values exchanged between the core and a transport."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote_plus

from matomo_client.errors import scrub

# The parameters a log line shows: what tells one request from another. Never `token_auth`.
_LOGGED = frozenset(
    {
        "idSite",
        "period",
        "date",
        "segment",
        "idSubtable",
        "flat",
        "filter_limit",
        "filter_offset",
        "minTimestamp",
        "lastMinutes",
        "idVisit",
    }
)
_LOGGED_VALUE_MAX = 100  # a segment can be 8 KB
_LOGGED_BULK_METHODS = 5


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request to Matomo, independent of any HTTP library.

    `path` is relative to the client's base URL (e.g. ``index.php?module=API&method=...``);
    `body` is the form-encoded POST body, where the token lives when token auth is used.
    """

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    matomo_method: str = ""

    def __repr__(self) -> str:
        # The body and headers may carry the token: never show them.
        return f"Request({self.method} {self.path!r}, {len(self.body)} body bytes)"

    def summary(self) -> str:
        """The Matomo method and the parameters that tell this request apart, for a log line.

        Only the parameters in `_LOGGED` are shown (never `token_auth`), and the token this
        request carries is scrubbed from them too.
        """
        form = []
        for pair in self.body.split(b"&"):  # only the fields shown are decoded: this is cheaper
            raw_key, _, raw_value = pair.partition(b"=")
            key = unquote_plus(raw_key.decode("ascii", "replace"))
            if key in _LOGGED or key == "token_auth" or key.startswith("urls["):
                form.append((key, unquote_plus(raw_value.decode("ascii", "replace"))))
        parts = [self.matomo_method or self.path]
        if "format=JSON" not in self.path:
            fmt = dict(parse_qsl(self.path.partition("?")[2])).get("format", "JSON")
            if fmt.upper() != "JSON":
                parts.append(f"format={fmt}")
        bulk = [v for k, v in form if k.startswith("urls[")]
        for key, value in form:
            if key in _LOGGED and not (bulk and key == "filter_limit"):
                if len(value) > _LOGGED_VALUE_MAX:
                    value = value[: _LOGGED_VALUE_MAX - 1] + "…"
                parts.append(f"{key}={value}")
        if bulk:
            methods = list(dict.fromkeys(dict(parse_qsl(u)).get("method", "?") for u in bulk))
            more = ", …" if len(methods) > _LOGGED_BULK_METHODS else ""
            parts.append(f"({len(bulk)} calls: {', '.join(methods[:_LOGGED_BULK_METHODS])}{more})")
        secrets = [v for k, v in form if k == "token_auth"]
        for name, value in self.headers.items():
            if name.lower() == "authorization":
                secrets += [value, value.partition(" ")[2]]
        return scrub(" ".join(parts), secrets)


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP response: status, headers (lower-cased names) and the raw body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ('' when absent)."""
        raw = self.headers.get("content-type")
        if raw is None:  # a user's transport may keep the server's spelling ("Content-Type")
            raw = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")
        return raw.split(";", 1)[0].strip().lower()

    def __repr__(self) -> str:
        kind = self.content_type or "no content-type"
        return f"Response({self.status}, {kind}, {len(self.body)} bytes)"
