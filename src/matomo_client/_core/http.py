"""Neutral HTTP values exchanged between the core and a transport."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP response: status, headers (lower-cased names) and the raw body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ('' when absent)."""
        raw = self.headers.get("content-type", "")
        return raw.split(";", 1)[0].strip().lower()

    def __repr__(self) -> str:
        kind = self.content_type or "no content-type"
        return f"Response({self.status}, {kind}, {len(self.body)} bytes)"
