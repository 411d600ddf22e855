"""What every shipped transport shares, without importing an HTTP library."""

from __future__ import annotations

import warnings

__all__ = [
    "USER_AGENT",
    "StreamedResponse",
    "describe",
    "error_detail",
    "forget_frames",
    "warn_insecure",
]

USER_AGENT = "matomo-client (+https://pypi.org/project/matomo-client/)"


def warn_insecure(verify: bool, stacklevel: int = 4) -> None:
    """Warn when TLS certificate verification is turned off."""
    if verify is False:
        warnings.warn(
            "TLS certificate verification is off: the token can be read by anyone on the path",
            stacklevel=stacklevel,
        )


# OpenSSL's verify codes for a chain that ends at no CA this machine trusts (a self-signed or
# private CA), and for a certificate made out to another host name or IP address.
_UNTRUSTED = frozenset({18, 19, 20, 21})
_OTHER_HOST = frozenset({62, 64})
# httpx's and aiohttp's errors for a body their Content-Encoding (gzip, br...) does not decode.
_UNDECODABLE = frozenset({"DecodingError", "ContentEncodingError"})


def error_detail(exc: BaseException) -> str:
    """A transport error's class name, plus what went wrong (and what to do) when it was TLS or
    a body that does not decompress (`describe`)."""
    return describe(exc)[0]


def describe(exc: BaseException) -> tuple[str, bool]:
    """`error_detail`, and whether trying again cannot help (a certificate this machine does
    not trust or made out to another host, a server that does not speak TLS there).

    Never `str(exc)`: messages can quote the URL. A failed certificate check or a handshake with
    a server that does not speak TLS is otherwise only "ConnectError", as a refused connection.
    """
    import ssl  # only on this error path; the transports have it loaded already

    kind = type(exc).__name__
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        # aiohttp's own TLS errors subclass ssl's without its attributes: read the one they wrap.
        code, reason = getattr(cause, "verify_code", None), getattr(cause, "reason", None)
        if isinstance(cause, ssl.SSLCertVerificationError) and code is not None:
            why = cause.verify_message or "certificate verify failed"
            if code in _UNTRUSTED:
                return (
                    f"{kind}: the server's TLS certificate is not trusted ({why}): give the "
                    "certificate of the CA that signed it in SSL_CERT_FILE, or turn verification "
                    "off (verify=False; --insecure for the matomo command)",
                    True,
                )
            if code in _OTHER_HOST:
                return f"{kind}: the server's TLS certificate is for another host ({why})", True
            return f"{kind}: the server's TLS certificate failed verification ({why})", True
        if isinstance(cause, ssl.SSLError) and reason is not None:
            if reason == "WRONG_VERSION_NUMBER":
                return (
                    f"{kind}: the server does not speak TLS there: is the URL http://, not https://?",
                    True,
                )
            return f"{kind}: the TLS handshake failed ({reason})", False
        if type(cause).__name__ in _UNDECODABLE:
            return f"{kind}: the answer came, but its Content-Encoding could not be decoded", False
        cause = cause.__cause__ or cause.__context__
    return kind, False


def forget_frames(exc: BaseException) -> None:
    """Drop the frames of `exc` and of the errors it came from, keeping their messages.

    The HTTP library's frames hold the request as locals (the body with `token_auth`, the
    `Authorization` header): a traceback printed with each frame's locals (rich's
    `show_locals`, loguru's `diagnose`, an error tracker) would show the token.
    """
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        cause.__traceback__ = None
        cause = cause.__cause__ or cause.__context__


class StreamedResponse:
    """Status and headers of a streamed response; iterate `chunks` for the body."""

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers
