"""How the client authenticates: a token in the POST body, a Bearer header, or anonymously."""

from __future__ import annotations

from typing import Literal

__all__ = ["Auth"]


class _Secret(str):
    """The token as text that `repr` masks: it shows as `'***'` in tracebacks that print each
    frame's locals (rich's `show_locals`, loguru's `diagnose`, pytest `-l`), where the tuple
    `Auth.secrets` is passed on to every function that reads an answer."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


class Auth:
    """Credentials for Matomo. The token is never shown by `repr`, `str` or any message."""

    __slots__ = ("_secret", "style")

    def __init__(self, style: Literal["token", "bearer", "anonymous"], secret: str = "") -> None:
        if style not in ("token", "bearer", "anonymous"):
            raise ValueError(f"unknown auth style {style!r}")
        if style != "anonymous":
            if secret is not None and not isinstance(secret, str):
                raise ValueError(f"the Matomo token must be a str, got {type(secret).__name__}")
            if not secret or not secret.strip():
                raise ValueError("the Matomo token is empty")
            if any(c.isspace() or not c.isprintable() for c in secret):
                raise ValueError("the Matomo token contains whitespace or control characters")
        self.style = style
        self._secret = _Secret(secret) if secret else ""

    @classmethod
    def token(cls, token: str) -> Auth:
        """`token_auth` in the form-encoded POST body (Matomo 5's secure way); never in the URL."""
        return cls("token", token)

    @classmethod
    def bearer(cls, token: str) -> Auth:
        """`Authorization: Bearer <token>` (Matomo 5.4+, if the web server forwards it)."""
        return cls("bearer", token)

    @classmethod
    def anonymous(cls) -> Auth:
        """No token: Matomo answers as its `anonymous` user."""
        return cls("anonymous")

    def headers(self) -> dict[str, str]:
        """Headers this auth adds to every request."""
        if self.style == "bearer":
            return {"Authorization": f"Bearer {self._secret}"}
        return {}

    def form(self) -> list[tuple[str, str]]:
        """Form fields this auth adds to every POST body."""
        if self.style == "token":
            return [("token_auth", self._secret)]
        return []

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must be scrubbed from anything shown to a person."""
        return (self._secret,) if self._secret else ()

    def __repr__(self) -> str:
        return "Auth.anonymous()" if self.style == "anonymous" else f"Auth.{self.style}(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Auth) and (other.style, other._secret) == (
            self.style,
            self._secret,
        )

    def __hash__(self) -> int:
        return hash((self.style, self._secret))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Auth objects are not picklable: they hold a secret")
