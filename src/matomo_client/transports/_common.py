"""What every shipped transport shares, without importing an HTTP library."""

from __future__ import annotations

import warnings

__all__ = ["USER_AGENT", "StreamedResponse", "warn_insecure"]

USER_AGENT = "matomo-client (+https://pypi.org/project/matomo-client/)"


def warn_insecure(verify: bool, stacklevel: int = 4) -> None:
    """Warn when TLS certificate verification is turned off."""
    if verify is False:
        warnings.warn(
            "TLS certificate verification is off: the token can be read by anyone on the path",
            stacklevel=stacklevel,
        )


class StreamedResponse:
    """Status and headers of a streamed response; iterate `chunks` for the body."""

    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = headers
