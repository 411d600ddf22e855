"""The escape hatch: any Matomo method, decoded, validated into a type, or raw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matomo_client._core.auth import Auth
from matomo_client._core.decode import read_raw
from matomo_client._core.http import Request, Response
from matomo_client._core.params import Params
from matomo_client._core.url import build_request, check_method
from matomo_client.endpoints._base import Endpoint, T, validate

# --- The escape hatch ------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Call(Endpoint[Any]):
    """Any Matomo method; the decoded JSON as it came."""

    method: str
    params_: Params = field(default_factory=Params)

    def __post_init__(self) -> None:
        check_method(self.method)

    def params(self) -> Params:
        """The caller's parameters."""
        return self.params_

    def decode(self, data: Any) -> Any:
        """Unchanged."""
        return data


@dataclass(frozen=True, repr=False)
class CallTyped(Endpoint[T]):
    """Any Matomo method, validated into any pydantic model or type."""

    method: str
    params_: Params
    result_type: type[T]  # so `CallTyped("X.y", p, list[Row])` is a `CallTyped[list[Row]]`

    def __post_init__(self) -> None:
        check_method(self.method)

    def params(self) -> Params:
        """The caller's parameters."""
        return self.params_

    def decode(self, data: Any) -> T:
        """Validated with pydantic; a mismatch raises DecodeError."""
        result: T = validate(self.method, self.result_type, data)
        return result


@dataclass(frozen=True, repr=False)
class CallRaw(Endpoint[bytes]):
    """Any Matomo method; the body bytes untouched (errors still raise)."""

    method: str
    params_: Params = field(default_factory=Params)
    fmt: str = "JSON"

    def __post_init__(self) -> None:
        check_method(self.method)

    def params(self) -> Params:
        """The caller's parameters."""
        return self.params_

    def request(self, auth: Auth) -> Request:
        """Like any call, with the chosen `format`."""
        return build_request(self.method, self.params(), auth, fmt=self.fmt)

    def read(self, response: Response, secrets: Sequence[str] = ()) -> bytes:
        """The body, unless it is an error (or, for `format=JSON`, cannot be JSON)."""
        return read_raw(self.method, response, secrets, expect_json=self.expects_json)

    @property
    def expects_json(self) -> bool:
        """Whether the call asked for Matomo's JSON (the default `fmt`)."""
        return self.fmt.lower() == "json"

    def decode(self, data: Any) -> bytes:  # pragma: no cover - read() is overridden
        """Unused: raw calls are not decoded."""
        raise NotImplementedError
