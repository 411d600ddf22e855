"""`AiohttpTransport`: sends neutral requests over aiohttp (asyncio only).

httpx spends about five times aiohttp's CPU on each request, and more on big bodies: about 3 ms
against 0.6 ms for a 500 KB Live page, measured on one machine (see benchmarks/RESULTS.md). An
export sends thousands of such requests, so the `matomo` command uses this transport; the library's
default stays httpx, which also runs under trio. From code, the client does not close a transport
it was given: `async with AiohttpTransport(url) as t, AsyncMatomo(url, transport=t) as m: ...`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from matomo_client._core.http import Request, Response
from matomo_client._core.url import normalise_base_url
from matomo_client.errors import TransportError
from matomo_client.transports._common import (
    USER_AGENT,
    StreamedResponse,
    describe,
    forget_frames,
    warn_insecure,
)

__all__ = ["AiohttpTransport"]

_CHUNK = 64 * 1024
# What aiohttp raises when no (whole) answer came: connect/read errors, timeouts, bad payloads.
_NO_ANSWER = (aiohttp.ClientError, asyncio.TimeoutError)

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is 3.11+


def _tls_context(verify: bool) -> ssl.SSLContext | bool:
    """Certificates as httpx checks them: SSL_CERT_FILE / SSL_CERT_DIR, else certifi's bundle."""
    if not verify:
        return False
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi  # httpx's dependency; the same bundle whichever transport is used

    return ssl.create_default_context(cafile=certifi.where())


def _translate(exc: BaseException, request: Request) -> TransportError:
    """Our TransportError for an aiohttp error: its class and any TLS problem, never the URL."""
    timeout = isinstance(exc, asyncio.TimeoutError)
    detail, permanent = describe(exc)
    forget_frames(exc)  # their locals hold the token (see forget_frames)
    return TransportError(
        request.matomo_method, timeout=timeout, detail=detail, permanent=permanent
    )


@dataclasses.dataclass(frozen=True)
class _Environment:
    """What aiohttp's `trust_env` finds for the server (see `_from_environment`)."""

    proxy: Any = None  # the proxy's URL, or None to connect directly
    proxy_headers: dict[str, str] | None = None  # the proxy's credentials, if any
    authorization: str | None = None  # `Basic ...` from a `.netrc` entry for the server's host


def _from_environment(url: URL) -> _Environment:
    """The proxy for `url` (`HTTP_PROXY`, `NO_PROXY`...) with its credentials, and the HTTP Basic
    credentials of a `~/.netrc` (or `$NETRC`) entry for its host: what aiohttp's `trust_env`
    looks up, with aiohttp's own functions. Reads files: run it off the event loop."""
    from aiohttp.helpers import basicauth_from_netrc, get_env_proxy_for_url, netrc_from_env

    proxy, proxy_headers, authorization = None, None, None
    with contextlib.suppress(LookupError):
        proxy, proxy_auth = get_env_proxy_for_url(url)
        if proxy_auth is not None:
            proxy_headers = {"Proxy-Authorization": proxy_auth.encode()}
    if url.host is not None:
        with contextlib.suppress(LookupError):
            authorization = basicauth_from_netrc(netrc_from_env(), url.host).encode()
    return _Environment(proxy, proxy_headers, authorization)


class AiohttpTransport:
    """Sends requests with an `aiohttp.ClientSession` it opens on first use (asyncio only).

    `timeout` bounds connecting (at most 10 s) and each read, as httpx's does; redirects are never
    followed (a POST body holding the token must not travel elsewhere); `verify=False` turns TLS
    certificate checks off. Proxies come from the usual environment variables, and a `~/.netrc`
    entry for the server's host adds its HTTP Basic credentials (unless the request carries its
    own `Authorization`), as with aiohttp's `trust_env`; both are read once, on first use.
    """

    def __init__(self, base_url: str, *, timeout: float | None = 30.0, verify: bool = True) -> None:
        self.base_url = normalise_base_url(base_url)
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive seconds or None, got {timeout!r}")
        warn_insecure(verify, stacklevel=3)
        self._timeout = timeout
        self._verify = verify
        # Encoded once (IDNA host, percent-encoded path): each request's path is appended as is.
        self._base = str(URL(self.base_url))
        self._session: aiohttp.ClientSession | None = None
        self._tls: ssl.SSLContext | bool | None = None
        self._env: _Environment | None = None  # see `_environment`
        self._env_lookup: asyncio.Future[_Environment] | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "AiohttpTransport runs under asyncio only (aiohttp does not run under trio): "
                    "use the default httpx transport there"
                ) from None
            # aiohttp wants its session made inside the running event loop, hence here.
            connect = None if self._timeout is None else min(self._timeout, 10.0)
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=connect, sock_read=self._timeout),
                headers={"User-Agent": USER_AGENT},
            )
        return self._session

    async def _environment(self) -> _Environment:
        """The proxy and `~/.netrc` credentials for the server, read once (`_from_environment`).

        aiohttp's `trust_env` reads both again for every request, each in a thread of its own:
        two thread hand-offs a request, which cost an export at page size 100 about a tenth of
        its wall time (figure 1's setting, benchmarks/RESULTS.md).
        """
        if self._env is None:
            self._open()  # under trio, its error says what to do instead
            if self._env_lookup is None:  # the first requests, sent together, share one lookup
                lookup = asyncio.to_thread(_from_environment, URL(self._base))
                self._env_lookup = asyncio.ensure_future(lookup)
            self._env = await asyncio.shield(self._env_lookup)
        return self._env

    def _ssl(self) -> ssl.SSLContext | bool:
        if self._tls is None:
            https = self.base_url.startswith("https:")
            self._tls = _tls_context(self._verify) if https else True
        return self._tls

    def _request(self, request: Request, env: _Environment) -> Any:
        headers = dict(request.headers)
        if env.authorization and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = env.authorization  # the request's own credentials win
        if env.proxy_headers and not self._base.startswith("https:"):
            # aiohttp sends `proxy_headers` only in an https CONNECT: a plain-http request goes
            # to the proxy as it is, so the proxy's credentials must ride on it (never inside
            # an https tunnel, where the server would read them).
            headers.update(env.proxy_headers)
        return self._open().request(
            request.method,
            URL(self._base + request.path, encoded=True),
            data=request.body,
            headers=headers,
            allow_redirects=False,
            ssl=self._ssl(),
            proxy=env.proxy,
            proxy_headers=env.proxy_headers,
        )

    async def send(self, request: Request) -> Response:
        """Send one request and read the whole body."""
        env = await self._environment()
        try:
            async with self._request(request, env) as r:
                body = await r.read()
                return Response(r.status, _headers(r), body)
        except _NO_ANSWER as exc:
            raise _translate(exc, request) from exc

    @contextlib.asynccontextmanager
    async def stream(
        self, request: Request
    ) -> AsyncIterator[tuple[StreamedResponse, AsyncIterator[bytes]]]:
        """Send one request and yield the status/headers and an iterator over body chunks."""
        env = await self._environment()
        try:
            async with self._request(request, env) as r:
                head = StreamedResponse(r.status, _headers(r))
                yield head, _chunks(r, request)
        except _NO_ANSWER as exc:
            raise _translate(exc, request) from exc

    async def aclose(self) -> None:
        """Close the session (and its connections), if one was opened."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._env is None:
            self._env_lookup = None  # unfinished: it may belong to an event loop that ends

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AiohttpTransport({self.base_url!r})"


def _headers(r: aiohttp.ClientResponse) -> dict[str, str]:
    """Lower-cased names; a repeated header's values joined with ", ", as httpx gives them."""
    out: dict[str, str] = {}
    for name, value in r.headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


async def _chunks(r: aiohttp.ClientResponse, request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in r.content.iter_chunked(_CHUNK):
            yield chunk
    except _NO_ANSWER as exc:
        raise _translate(exc, request) from exc
