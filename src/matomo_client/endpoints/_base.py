"""The endpoint base class and the validation every endpoint shares."""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from matomo_client._core.auth import Auth
from matomo_client._core.decode import read_json
from matomo_client._core.flow import Outcome, Step, call_flow
from matomo_client._core.http import Request, Response
from matomo_client._core.params import Params
from matomo_client._core.retry import RetryPolicy
from matomo_client._core.url import build_request
from matomo_client.errors import DecodeError

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from matomo_client.transports.base import AsyncTransport, SyncTransport

T = TypeVar("T")

# Matomo cuts lists at 100 rows unless told otherwise (matomo-api-notes.md §2): "all rows".
ALL_ROWS = -1


@cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter  # on the first typed call: raw calls never load pydantic

    return TypeAdapter(tp)


def validate(method: str, tp: type[T], data: Any) -> T:
    """Validate decoded JSON into `tp`, turning pydantic's error into our DecodeError."""
    from pydantic import ValidationError

    try:
        adapter: TypeAdapter[T] = _adapter(tp)  # type: ignore[arg-type]
        return adapter.validate_python(data)
    except ValidationError as exc:
        errors = exc.errors()
        where = (".".join(str(p) for p in errors[0]["loc"]) if errors else "") or "body"
        first_msg = errors[0]["msg"] if errors else str(exc)
        raise DecodeError(
            method,
            f"{exc.error_count()} invalid field(s); first at {where}: {first_msg}",
        ) from None


class Endpoint(Generic[T]):
    """One Matomo method with its parameters; `execute` runs it on a transport."""

    method: str

    def params(self) -> Params:
        """The request parameters (never the token)."""
        raise NotImplementedError

    def decode(self, data: Any) -> T:
        """Turn the decoded JSON body into the result type."""
        raise NotImplementedError

    def extra_form(self) -> Sequence[tuple[str, str]]:
        """Form fields that are not `Params` (bulk sub-requests)."""
        return ()

    def request(self, auth: Auth) -> Request:
        """The HTTP request for this call."""
        return build_request(self.method, self.params(), auth, extra_form=self.extra_form())

    def read(self, response: Response, secrets: Sequence[str] = ()) -> T:
        """Read a response: raise the right MatomoError, or return the result."""
        return self.decode(read_json(self.method, response, secrets))

    def flow(
        self, auth: Auth, policy: RetryPolicy, rand: Callable[[], float]
    ) -> Generator[Step, Outcome, T]:
        """The pure, retrying call flow that a driver runs."""
        secrets = auth.secrets
        return call_flow(self.request(auth), lambda r: self.read(r, secrets), policy, rand)

    async def execute(
        self,
        transport: AsyncTransport,
        *,
        auth: Auth | None = None,
        retry: RetryPolicy | None = None,
    ) -> T:
        """Run this call on an async transport, with retries."""
        from matomo_client._async.driver import run_flow
        from matomo_client.transports.base import AsyncTransport, check_transport

        check_transport(transport, AsyncTransport)
        flow = self.flow(auth or Auth.anonymous(), retry or RetryPolicy(), random.random)
        return await run_flow(flow, transport)

    def execute_sync(
        self,
        transport: SyncTransport,
        *,
        auth: Auth | None = None,
        retry: RetryPolicy | None = None,
    ) -> T:
        """Run this call on a blocking transport, with retries."""
        from matomo_client._sync.driver import run_flow
        from matomo_client.transports.base import SyncTransport, check_transport

        check_transport(transport, SyncTransport)
        flow = self.flow(auth or Auth.anonymous(), retry or RetryPolicy(), random.random)
        return run_flow(flow, transport)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.method}, {self.params()!r})"
