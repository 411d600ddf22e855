# Generated from src/matomo_client/_async/client.py by scripts/unasync.py. Do not edit.
"""`Matomo`: the sync client. `scripts/unasync.py` generates the blocking `Matomo` from it."""

from __future__ import annotations

import contextlib
import math
import os
import random
import re
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from matomo_client._core.auth import Auth
from matomo_client._core.decode import cut_short, plausible_json, read_raw
from matomo_client._core.flow import Sleep
from matomo_client._core.http import Response
from matomo_client._core.params import Params, ParamValue
from matomo_client._core.retry import RetryPolicy, next_wait
from matomo_client._core.url import normalise_base_url
from matomo_client._sync import _backend
from matomo_client._sync.driver import (
    log_failed,
    log_response,
    out_of_time,
    pause,
    run_flow,
)
from matomo_client._sync.modules import (
    ActionsModule,
    ApiModule,
    LiveModule,
    ReferrersModule,
    SitesModule,
    VisitsSummaryModule,
)
from matomo_client.endpoints import Call, CallRaw, CallTyped, Endpoint, GetMatomoVersion
from matomo_client.errors import (
    ApiError,
    ApiErrorKind,
    BodyProblem,
    MatomoError,
    NonJsonBodyError,
    PreflightError,
    scrub_bytes,
)
from matomo_client.transports.base import SyncTransport, check_transport

if TYPE_CHECKING:
    import httpx
    from typing_extensions import Self  # typing.Self is 3.11+

__all__ = ["ClientStats", "Matomo"]

T = TypeVar("T")
# What the escape hatch takes as parameters: Params, or a dict that Params checks and renders.
ParamsLike = Params | Mapping[str, ParamValue] | None

# Seconds to wait for the server (to connect, or for the next bytes of an answer).
DEFAULT_TIMEOUT = 30.0
# Oldest Matomo whose API this client speaks (JSON shapes and errors, matomo-api-notes.md §2).
MIN_VERSION = (4, 0)
# Peek this far into a streamed body to tell an error object from data.
_ERROR_PEEK = 4096
# Read at most this much of a streamed body that may be an error before deciding.
_ERROR_BODY_MAX = 1 << 20
_PLUGIN_NOT_FOUND = re.compile(r"the plugin \S+ was not found")


def _may_be_error(head: bytes) -> bool:
    """Whether a body starting with `head` may be Matomo's JSON, HTML/XML or text error."""
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return start.startswith((b'{"result"', b"<", b"Error:"))


def _check_json_end(
    method: str, head: Any, first: bytes, last: bytes, secrets: tuple[str, ...]
) -> None:
    """Raise `NonJsonBodyError` when a streamed JSON array or object was cut short.

    The chunks are already the caller's, so this is not retried; the error holds the last chunk.
    """
    if cut_short(first, last):
        response = Response(head.status, head.headers, scrub_bytes(last, secrets))
        raise NonJsonBodyError(
            head.status, response.content_type, response.body, method, BodyProblem.TRUNCATED
        )


@dataclass
class ClientStats:
    """What the client did so far (read by the exporter): `requests` counts calls, a retried
    one once; `retries` counts the tries after a failure, so `requests + retries` were sent."""

    requests: int = 0
    retries: int = 0


def _params(params: ParamsLike) -> Params:
    """`params` as Params: a dict is checked and rendered as `Params(d)` would (a `Date` as
    `today`, `token_auth` refused), not sent as its values' `str`."""
    if params is None or isinstance(params, Params):
        return params or Params()
    if isinstance(params, Mapping):
        return Params(params)
    raise ValueError(f"params must be Params or a dict, got {type(params).__name__}")


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("-", 1)[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def _missing_method(error: ApiError) -> bool:
    # An unknown method (400), a plugin switched off, or one not installed (404, recorded 193).
    text = error.message.lower()
    return error.kind is ApiErrorKind.NOT_FOUND and (
        "does not exist or is not available" in text
        or "is not enabled" in text
        or bool(_PLUGIN_NOT_FOUND.search(text))
    )


class Matomo:
    """Blocking client for the Matomo Reporting API.

    `with Matomo("https://stats.example.com/", auth=Auth.token(t)) as m: ...`

    Typed modules: `api`, `visits_summary`, `actions`, `referrers`, `live`, `sites`; any other
    method through `call`, `call_typed`, `call_raw` and `stream_raw`. Options: `auth` (default
    anonymous), `timeout` (seconds to wait for the server: to connect, or for the next bytes of
    an answer; not a bound on a whole answer that keeps coming), `retry` (a `RetryPolicy`),
    `max_concurrency` (requests in flight), `skip_preflight`, and either `http_client` (your
    own httpx client, never closed here; `timeout` holds on it too, unless left at its default
    while that client has its own) or `transport` (any transport, configured itself; one given
    is never closed here either), `verify=False` to skip TLS checks (warns).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        skip_preflight: bool = False,
        http_client: httpx.Client | None = None,
        transport: SyncTransport | None = None,
        verify: bool = True,
    ) -> None:
        self.base_url = normalise_base_url(base_url)
        if auth is not None and not isinstance(auth, Auth):
            raise ValueError("auth must be Auth.token(...), Auth.bearer(...) or Auth.anonymous()")
        if (
            isinstance(max_concurrency, bool)
            or not isinstance(max_concurrency, int)
            or max_concurrency < 1
        ):
            raise ValueError(
                f"max_concurrency must be a whole number >= 1, got {max_concurrency!r}"
            )
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout < math.inf
        ):
            raise ValueError(f"timeout must be positive seconds or None, got {timeout!r}")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ValueError(
                f"retry must be a RetryPolicy, e.g. RetryPolicy(attempts=3), got {retry!r}"
            )
        if transport is not None and http_client is not None:
            raise ValueError("pass either transport= or http_client=, not both")
        if transport is not None and (timeout != DEFAULT_TIMEOUT or not verify):
            # They would be silently ignored: only the client's own httpx client takes them.
            raise ValueError(
                "timeout= and verify= configure the client's own httpx transport: set them on "
                "the transport you pass, e.g. HttpxTransport(url, timeout=60, verify=False)"
            )
        if http_client is not None and not verify:
            raise ValueError(
                "verify=False cannot change the http_client you pass: create it with "
                "httpx.Client(verify=False)"
            )
        if transport is not None:
            check_transport(transport, SyncTransport)
        self._auth = auth or Auth.anonymous()
        self._owns_transport = transport is None
        self.retry = retry or RetryPolicy()
        self.max_concurrency = max_concurrency
        self.stats = ClientStats()
        if transport is None:
            # Imported here: a client given another transport never imports httpx.
            from matomo_client._sync.httpx_transport import HttpxTransport

            transport = HttpxTransport(
                self.base_url, client=http_client, timeout=timeout, verify=verify
            )
        self._transport: Any = transport
        self._limiter = _backend.Limiter(max_concurrency)
        self._preflight_lock = _backend.Lock()
        self._pid = os.getpid()  # see `_after_fork`
        self._version: str | None = None
        self._preflight_done = skip_preflight
        self._rand = random.Random()
        self.api = ApiModule(self)
        self.visits_summary = VisitsSummaryModule(self)
        self.actions = ActionsModule(self)
        self.referrers = ReferrersModule(self)
        self.live = LiveModule(self)
        self.sites = SitesModule(self)

    # --- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client if this client created it."""
        closer = getattr(self._transport, "close", None)
        if self._owns_transport and closer is not None:
            closer()

    def __repr__(self) -> str:
        return f"Matomo({self.base_url!r}, auth={self._auth!r})"

    # --- running endpoints ----------------------------------------------------------------------

    def _on_retry(self, step: Sleep) -> None:
        self.stats.retries += 1

    def _after_fork(self) -> None:
        """In a forked child, new limiter and preflight lock: those another thread of the parent
        held at the fork are never given back in the child, whose calls then waited for ever."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._limiter = _backend.Limiter(self.max_concurrency)
            self._preflight_lock = _backend.Lock()

    def _run(self, endpoint: Endpoint[T]) -> T:
        self._after_fork()
        self.stats.requests += 1
        flow = endpoint.flow(self._auth, self.retry, self._rand.random)
        return run_flow(flow, self._transport, limiter=self._limiter, on_retry=self._on_retry)

    def execute(self, endpoint: Endpoint[T], *, typed: bool = True, preflight: bool = True) -> T:
        """Run any endpoint value through this client (preflight, retries, concurrency limit).

        `preflight=False` does not wait for the preflight: for a caller that runs `preflight()`
        alongside a read-only call, saving a round trip, and drops the answer if it fails.
        """
        # Parameters are checked here (ids <= 0, bad values raise ValueError) before any request:
        # a bad argument must not cost a preflight round trip or hide behind a network error.
        endpoint.params()
        if preflight:
            self.preflight()
        try:
            return self._run(endpoint)
        except ApiError as err:
            if typed and _missing_method(err):
                raise PreflightError(
                    self._version, (endpoint.method,), err.message, endpoint.method
                ) from err
            raise

    def preflight(self) -> str | None:
        """Check once that the server is a Matomo this client speaks to; return its version."""
        self._after_fork()
        if self._preflight_done:
            return self._version
        with self._preflight_lock:
            if self._preflight_done:
                return self._version
            try:
                version = self._run(GetMatomoVersion())
            except ApiError as err:
                if _missing_method(err):
                    raise PreflightError(None, ("API.getMatomoVersion",), err.message) from err
                raise
            if _version_tuple(version)[:2] < MIN_VERSION:
                raise PreflightError(
                    version, (), "is too old: matomo-client needs Matomo 4.0 or newer"
                )
            self._version = version
            self._preflight_done = True
        return self._version

    # --- the escape hatch ---------------------------------------------------------------------

    def call(self, method: str, params: ParamsLike = None) -> Any:
        """Any Matomo method; returns the decoded JSON."""
        return self.execute(Call(method, _params(params)), typed=False)

    def call_typed(self, method: str, params: ParamsLike, result_type: type[T]) -> T:
        """Any Matomo method, validated into `result_type` (a pydantic model or any type)."""
        endpoint: CallTyped[T] = CallTyped(method, _params(params), result_type)
        return self.execute(endpoint, typed=False)

    def call_raw(self, method: str, params: ParamsLike = None, *, fmt: str = "JSON") -> bytes:
        """Any Matomo method; returns the body bytes untouched (errors still raise)."""
        return self.execute(CallRaw(method, _params(params), fmt), typed=False)

    def stream_raw(
        self, method: str, params: ParamsLike = None, *, fmt: str = "JSON"
    ) -> Generator[bytes, None, None]:
        """Any Matomo method; yields the body in chunks, for payloads too big to hold in memory.

        A transient failure before the first chunk is retried as for any call; one after it
        raises, since the chunks already yielded cannot be taken back. The stream holds one of
        the client's `max_concurrency` slots until it ends or is closed
        (`contextlib.closing(m.stream_raw(...))` closes it on an early `break`).
        """
        endpoint = CallRaw(method, _params(params), fmt)  # a bad method: ValueError, no request
        self.preflight()
        request = endpoint.request(self._auth)
        opener = getattr(self._transport, "stream", None)
        if opener is None:  # a transport without streaming: one whole body
            yield self._run(endpoint)
            return
        attempt, waited, started = 0, 0.0, time.monotonic()
        self.stats.requests += 1  # one a call, as `_run` counts; each retry adds to `retries`
        while True:
            with contextlib.ExitStack() as stack:
                stack.enter_context(self._limiter)
                sent = time.perf_counter()
                head: Any = None
                try:
                    head, chunks = stack.enter_context(opener(request))
                    first = self._stream_start(method, head, chunks, endpoint.expects_json)
                except MatomoError as exc:
                    failure = exc
                    if head is None:
                        log_failed(request, exc, sent, attempt + 1)
                    else:
                        log_response(request, head.status, None, sent, attempt + 1)
                else:
                    last, size = first, len(first)
                    try:
                        if first:
                            yield first
                        for chunk in chunks:
                            if chunk.strip():
                                last = chunk
                            size += len(chunk)
                            yield chunk
                    finally:  # also when the caller stops reading early
                        log_response(request, head.status, size, sent, attempt + 1)
                    if endpoint.expects_json:
                        _check_json_end(method, head, first, last, self._auth.secrets)
                    return
            # The slot and the connection are given back while the backoff is waited out.
            attempt += 1
            wait = next_wait(self.retry, attempt, failure, waited, self._rand.random())
            step = Sleep(wait or 0.0, failure, attempt, self.retry.max_total)
            if wait is None or out_of_time(step, time.monotonic() - started):
                raise failure
            waited += wait
            pause(step, self._on_retry, request)

    def _stream_start(
        self, method: str, head: Any, chunks: Iterator[bytes], expect_json: bool
    ) -> bytes:
        """The first bytes of a streamed body, once they show it is not an error (else raise).

        With `expect_json`, 0 bytes or an HTML page raise too (`NonJsonBodyError`, retried).
        """
        first = b""
        for chunk in chunks:
            first += chunk
            if len(first) >= _ERROR_PEEK:
                break
        suspect = expect_json and not plausible_json(first, whole=False)
        if head.status >= 300 or _may_be_error(first) or suspect:
            # Read on (bounded) so Matomo's error body or page can be recognised whole; a 2xx
            # body that turns out to be data is still yielded in full by the caller.
            for chunk in chunks:
                first += chunk
                if len(first) > _ERROR_BODY_MAX:
                    break
            response = Response(head.status, head.headers, first)
            read_raw(method, response, self._auth.secrets, expect_json=suspect)
        return first
