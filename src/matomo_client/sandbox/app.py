"""The ASGI application: HTTP in, Matomo-shaped answers and injected faults out.

`Sandbox(config)` owns the world, the API dispatcher, the seeded fault generator, the
viewer tokens (`viewers`, which tests may change between runs to grant access) and the
counters tests read (`request_count`, `requests`, `max_in_flight`). `sandbox.app` is a
plain ASGI callable (no framework), usable by uvicorn or `httpx.ASGITransport`; sleeping
goes through `anyio.sleep` so it runs under asyncio and trio alike.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

import anyio

from .api import Access, Api
from .config import SandboxConfig
from .dates import ApiFailure
from .formats import php_json
from .metadata import http_query
from .pages import error_page, proxy_error_page, proxy_login_page
from .records import local_date, now_utc
from .world import World

__all__ = ["LoggedRequest", "Sandbox"]

# One debug line per request (`matomo sandbox --debug`); it never holds the token.
logger = logging.getLogger("matomo_client.sandbox")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_FORMATS = ("console", "csv", "html", "json", "original", "rss", "tsv", "xml")
#: from this many visits a day, a day takes about a second to draw and sum: requests that may
#: need visits run in a worker thread, one at a time, so that the methods below still answer
OFFLOAD_VISITS_PER_DAY = 20_000
# methods that read no visits (nor the clock-driven days): answered at once, even while
# another request draws a big day
_CHEAP_METHODS = frozenset(
    {
        "API.getMatomoVersion",
        "API.getPiwikVersion",
        "SitesManager.getSitesWithAtLeastViewAccess",
        "SitesManager.getSitesIdWithAtLeastViewAccess",
        "SitesManager.getSiteFromId",
        "SitesManager.getAllSitesId",
        "API.getPhpVersion",
        "API.getIpFromHeader",
        "UsersManager.hasSuperUserAccess",
        "Goals.getGoals",
        "CustomDimensions.getConfiguredCustomDimensions",
    }
)
_POST_ONLY = (
    "Unable to authenticate with the provided token. It is either invalid, expired or is "
    "required to be sent as a POST parameter."
)
_INVALID = "Unable to authenticate with the provided token. It is either invalid or expired."
# plugins/Login: Login_LoginNotAllowedBecauseBlocked, thrown during init (recorded 229, 230)
_BLOCKED = "Too many failed logins. Please wait and try logging in again later."
# failed logins count for this long (Matomo's loginAttemptsTimeRange, 60 minutes)
_FAILED_LOGIN_WINDOW_S = 3600.0
# Matomo's own HTML error pages are never cached (recorded 182-189, 222, 229)
_NO_STORE = (("Cache-Control", "private, no-cache, no-store"),)
_NOT_API = (
    "This user has super-user access. Embedding widgets with super-user token authentication "
    'is not allowed. <a target="_blank" rel="noreferrer noopener" '
    'href="https://matomo.org/faq/troubleshooting/faq_147/">Check the FAQ for more info.</a>'
)


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the sandbox saw it (the token is never kept)."""

    http_method: str
    params: dict[str, str]
    status: int
    fault: str | None

    @property
    def method(self) -> str:
        """The Matomo method called (`params['method']`), or '' when absent."""
        return self.params.get("method", "")


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    failed_login: bool = False  # an unknown token: counts toward the brute-force block


def _xml(value: Any, indent: str = "\t") -> str:
    if isinstance(value, dict):
        return "".join(
            f"{indent}<{_tag(k)}>{_xml_inner(v, indent)}</{_tag(k)}>\n" for k, v in value.items()
        )
    if isinstance(value, list):
        return "".join(f"{indent}<row>{_xml_inner(v, indent)}</row>\n" for v in value)
    return _esc(value)


def _xml_inner(value: Any, indent: str) -> str:
    if isinstance(value, (dict, list)):
        return "\n" + _xml(value, indent + "\t") + indent
    return _esc(value)


def _tag(key: Any) -> str:
    text = str(key)
    return text if text[:1].isalpha() and text.replace("_", "").isalnum() else "row"


def _esc(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _php_params(text: str) -> dict[str, str]:
    """A query string or form body as PHP reads it: a repeated key keeps its last value, and
    `name[]` appends to the list `name` (`urls[]=a&urls[]=b` is `urls[0]`, `urls[1]`)."""
    out: dict[str, str] = {}
    next_index: dict[str, int] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        base, bracket, index = key.partition("[")
        if bracket and index == "]":
            key = f"{base}[{next_index.get(base, 0)}]"
            index = key[len(base) + 1 :]
        if bracket and index[:-1].isascii() and index[:-1].isdigit() and index.endswith("]"):
            next_index[base] = max(next_index.get(base, 0), int(index[:-1]) + 1)
        out[key] = value
    return out


def _log_request(request: LoggedRequest, scope: Scope, size: int, seconds: float) -> None:
    """`POST /index.php VisitsSummary.get -> HTTP 200, 123 bytes, 1.8 ms`: never the token, which
    travels in the body (token_auth, left out of `request.params`) or an Authorization header."""
    fault = f" (fault: {request.fault})" if request.fault else ""
    logger.debug(
        "%s %s %s -> HTTP %d, %d bytes, %.1f ms%s",
        request.http_method,
        scope.get("path", "/"),
        request.method or "(no method)",
        request.status,
        size,
        seconds * 1000,
        fault,
    )


class Sandbox:
    """A Matomo 5.11.2 stand-in: `sandbox.app` answers `POST /index.php` like Matomo."""

    def __init__(self, config: SandboxConfig | None = None, *, keep_requests: bool = True) -> None:
        self.config = config or SandboxConfig()
        # False: `requests` stays empty (a long-running server would keep every request)
        self.keep_requests = keep_requests
        cfg = self.config
        today = cfg.today or datetime.now(timezone.utc).date()
        self.world = World(
            seed=cfg.seed,
            days=cfg.days,
            visits_per_day=cfg.visits_per_day,
            today=today,
            extra_sites=cfg.extra_sites,
        )
        self.api = Api(self.world, cfg.live_disabled_sites)
        # token -> ids of the sites it may view; a plain dict so tests can grant access later
        self.viewers: dict[str, frozenset[int]] = dict(cfg.viewers)
        self.request_count = 0
        self.requests: list[LoggedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        # big worlds: data requests run in a worker thread holding this lock (see `_answer`)
        self.offload = cfg.visits_per_day >= OFFLOAD_VISITS_PER_DAY
        self._world_lock = threading.Lock()
        # monotonic times of failed logins in the last hour (Faults.max_failed_logins)
        self._failed_logins: deque[float] = deque()
        self._faults = random.Random(f"faults/{cfg.seed}")
        self._latency = random.Random(f"latency/{cfg.seed}")
        if cfg.live_traffic:
            base = int(
                datetime(today.year, today.month, today.day, 12, tzinfo=timezone.utc).timestamp()
            )
            self._live_start = base if cfg.today is not None else now_utc()
        self._advance_clock()

    @property
    def app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        """The ASGI callable."""
        return self.__call__

    def _advance_clock(self) -> None:
        cfg = self.config
        if cfg.live_traffic:
            self.world.cutoff = self._live_start + self.request_count * cfg.live_step_s
        elif cfg.today is None:
            now = now_utc()
            self.world.cutoff = now
            # a sandbox left running past midnight UTC gets the new day's visits too
            self.world.extend_to(datetime.fromtimestamp(now, timezone.utc).date())
            # and a site east of UTC its own new day from its own midnight (Matomo's `today`)
            dates: dict[str, date] = {}  # one per timezone: hundreds of sites share a few
            for site in self.world.sites.values():
                tz = site.timezone
                day = dates.get(tz) or dates.setdefault(tz, local_date(now, tz))
                self.world.set_local_today(site.id, day)
        else:
            self.world.cutoff = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            answer = await self._handle(scope, body)
        finally:
            self.in_flight -= 1
        headers = [
            (b"content-type", answer.content_type.encode()),
            (b"content-length", str(len(answer.body)).encode()),
            (b"x-matomo-request-id", self._request_id().encode()),
        ]
        headers.extend((k.lower().encode(), v.encode()) for k, v in answer.headers)
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    def _request_id(self) -> str:
        return hashlib.blake2b(str(self.request_count).encode(), digest_size=3).hexdigest()[:5]

    async def _handle(self, scope: Scope, body: bytes) -> _Answer:
        started = time.perf_counter()
        self.request_count += 1
        if not self.offload:
            self._advance_clock()
        cfg = self.config
        query = _php_params(scope.get("query_string", b"").decode("latin-1"))
        form = _php_params(body.decode("utf-8", "replace"))
        params = {**form, **query}  # GET wins on a collision, as in Matomo
        logged = {k: v for k, v in params.items() if k != "token_auth"}
        fault: str | None = None
        delay = cfg.latency_ms + cfg.latency_jitter_ms * self._latency.random()
        if delay > 0:
            await anyio.sleep(delay / 1000)
        answer: _Answer | None = None
        if cfg.faults.any:
            fault, answer = await self._fault()
        if answer is None:
            if scope.get("path", "/") not in ("/", "/index.php"):
                answer = _Answer(404, b"Not Found", "text/plain; charset=utf-8")
            elif self._logins_blocked() and self._is_login(scope, query, form, params):
                fault = "brute-force"
                answer = self._init_error(ApiFailure(_BLOCKED, 500), query, params)
            else:
                answer = await self._answer(scope, query, form, params)
                if answer.failed_login and cfg.faults.max_failed_logins is not None:
                    self._failed_logins.append(time.monotonic())
            if fault == "truncated":
                answer.body = answer.body[: len(answer.body) // 2]
        request = LoggedRequest(scope.get("method", "GET"), logged, answer.status, fault)
        if self.keep_requests:
            self.requests.append(request)
        if logger.isEnabledFor(logging.DEBUG):
            _log_request(request, scope, len(answer.body), time.perf_counter() - started)
        return answer

    async def _fault(self) -> tuple[str | None, _Answer | None]:
        f = self.config.faults
        roll = self._faults.random()
        edge = f.hang_rate
        if roll < edge:
            await anyio.sleep(f.hang_s)
            return "hang", None
        edge += f.rate_429
        if roll < edge:
            body = b"<html><body><h1>429 Too Many Requests</h1>Rate limit exceeded.</body></html>"
            headers = (("Retry-After", str(f.retry_after_s)),)
            return "429", _Answer(429, body, "text/html; charset=utf-8", headers)
        edge += f.error_5xx_rate
        if roll < edge:
            status = self._faults.choice((500, 502, 503))
            return str(status), _Answer(
                status, proxy_error_page(status), "text/html; charset=utf-8"
            )
        edge += f.html_error_rate
        if roll < edge:
            return "html", _Answer(200, proxy_login_page(), "text/html; charset=utf-8")
        edge += f.truncated_rate
        if roll < edge:
            return "truncated", None
        return None, None

    async def _answer(
        self, scope: Scope, query: dict[str, str], form: dict[str, str], params: dict[str, str]
    ) -> _Answer:
        """`_dispatch` on the event loop; in a big world (`offload`), every method that may
        read visits runs in a worker thread under the world lock instead, so that a day that
        takes seconds to draw leaves version and site requests answering meanwhile."""
        if not self.offload:
            return self._dispatch(scope, query, form, params)
        if params.get("method", "").strip() in _CHEAP_METHODS:
            # the clock moves under the lock only: a request drawing a day may be reading it
            if self._world_lock.acquire(blocking=False):
                try:
                    self._advance_clock()
                finally:
                    self._world_lock.release()
            return self._dispatch(scope, query, form, params)
        return await anyio.to_thread.run_sync(self._locked_dispatch, scope, query, form, params)

    def _locked_dispatch(
        self, scope: Scope, query: dict[str, str], form: dict[str, str], params: dict[str, str]
    ) -> _Answer:
        with self._world_lock:
            self._advance_clock()
            return self._dispatch(scope, query, form, params)

    def unblock_logins(self) -> None:
        """Forget the failed logins, lifting a brute-force block (Faults.max_failed_logins), as
        Matomo's `console login:unblock-blocked-ips` does."""
        self._failed_logins.clear()

    def _logins_blocked(self) -> bool:
        """Whether more logins than `Faults.max_failed_logins` failed in the last hour."""
        limit = self.config.faults.max_failed_logins
        if limit is None:
            return False
        failed = self._failed_logins
        horizon = time.monotonic() - _FAILED_LOGIN_WINDOW_S
        while failed and failed[0] <= horizon:
            failed.popleft()
        return len(failed) > limit

    @staticmethod
    def _is_login(
        scope: Scope, query: dict[str, str], form: dict[str, str], params: dict[str, str]
    ) -> bool:
        """Whether an API request carries a token (any but 'anonymous'): the requests Matomo's
        brute-force check refuses while blocked; anonymous ones still answer (recorded 231)."""
        if params.get("module") != "API":
            return False
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization" and value[:7].lower() == b"bearer ":
                return True
        if "token_auth" in query:
            return query["token_auth"] != "anonymous"
        return form.get("token_auth", "") not in ("", "anonymous")

    def _user(self, token: str) -> Access | None:
        """The access `token` grants: the super user's, a viewer's, or None (unknown token)."""
        if token == self.config.token:
            return Access(True)
        sites = self.viewers.get(token)
        return None if sites is None else Access(False, frozenset(sites))

    def _access(
        self, scope: Scope, query: dict[str, str], form: dict[str, str]
    ) -> Access | ApiFailure:
        bearer = None
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization" and value[:7].lower() == b"bearer ":
                bearer = value[7:].decode("latin-1").strip()
        if bearer is not None:
            return self._user(bearer) or ApiFailure(_INVALID, 401)
        if "token_auth" in query:
            value = query["token_auth"]
            if value == "anonymous":
                return Access(False)
            user = self._user(value) if self.config.accept_token_in_get else None
            return user or ApiFailure(_POST_ONLY, 401)
        value = form.get("token_auth")
        if value is None or value in ("", "anonymous"):
            return Access(False)
        return self._user(value) or ApiFailure(_INVALID, 401)

    def _dispatch(
        self, scope: Scope, query: dict[str, str], form: dict[str, str], params: dict[str, str]
    ) -> _Answer:
        access = self._access(scope, query, form)
        fmt = (params.get("format") or "xml").lower()
        if isinstance(access, ApiFailure):
            answer = self._init_error(access, query, params)
            answer.failed_login = True
            return answer
        if params.get("module") != "API":
            return _Answer(500, error_page(_NOT_API), "text/html; charset=utf-8", _NO_STORE)
        if fmt not in _FORMATS:
            text = (
                f"Error: Renderer format '{params.get('format')}' not valid. Try any of the "
                "following instead: console, csv, html, json, original, rss, tsv, xml."
            )
            return _Answer(200, text.encode(), "text/plain; charset=utf-8")
        try:
            with http_query(scope.get("query_string", b"")):  # graph URLs' segment
                value = self.api.call(params, access)
        except ApiFailure as failure:
            return self._error(failure, fmt)
        return self._render(value, fmt)

    def _init_error(
        self, failure: ApiFailure, query: dict[str, str], params: dict[str, str]
    ) -> _Answer:
        """An error thrown while Matomo starts up (authentication, brute-force block): in API
        format only when module and method are in the query string, else Matomo's HTML page
        (core/ExceptionHandler.php)."""
        if "module" in query and "method" in query:
            return self._error(failure, (params.get("format") or "xml").lower())
        page = error_page(failure.message)
        return _Answer(failure.status, page, "text/html; charset=utf-8", _NO_STORE)

    def _error(self, failure: ApiFailure, fmt: str) -> _Answer:
        message = failure.message.replace("\n", " ")
        if fmt == "xml":
            body = (
                '<?xml version="1.0" encoding="utf-8" ?>\n<result>\n\t<error message="'
                + _esc(message).replace('"', "&quot;")
                + '" />\n</result>'
            )
            return _Answer(failure.status, body.encode(), "text/xml; charset=utf-8")
        if fmt == "json":
            body_json = php_json({"result": "error", "message": message})
            return _Answer(failure.status, body_json, "application/json; charset=utf-8")
        return _Answer(failure.status, f"Error: {message}".encode(), "text/plain; charset=utf-8")

    def _render(self, value: Any, fmt: str) -> _Answer:
        if fmt == "json":
            return _Answer(200, php_json(value), "application/json; charset=utf-8")
        if fmt == "xml":
            if isinstance(value, dict) and set(value) == {"value"}:
                inner = _esc(value["value"])
            else:
                inner = "\n" + _xml(value)
            body = f'<?xml version="1.0" encoding="utf-8" ?>\n<result>{inner}</result>'
            return _Answer(200, body.encode(), "text/xml; charset=utf-8")
        text = f"Error: the Matomo sandbox renders only format=json and format=xml, not '{fmt}'."
        return _Answer(200, text.encode(), "text/plain; charset=utf-8")
