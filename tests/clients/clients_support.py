"""Helpers for the client tests: recorded answers, a fake Live server, and one way to drive
both clients (`AsyncMatomo` over `MockTransport`, the generated `Matomo` over `SyncMockTransport`).
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from matomo_client import AsyncMatomo, Auth, Matomo
from matomo_client._core.http import Request, Response
from matomo_client.transports import (
    MockTransport,
    SyncMockTransport,
    json_response,
    request_params,
)

RECORDED = Path(__file__).resolve().parent.parent / "recorded"
BASE_URL = "https://stats.example.com/matomo/"
# A token that is easy to spot anywhere it must not be.
TOKEN = "MARKERf00dfeed5ecret0123456789MARKER"

Handler = Callable[[Request], Response]


def recorded(prefix: str) -> Response:
    """The recorded response (status, headers, body bytes) whose file name starts with `prefix`."""
    matches = sorted(RECORDED.glob(f"{prefix}*.request.json"))
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} recordings start with {prefix!r}")
    meta = json.loads(matches[0].read_text(encoding="utf-8"))
    body = (RECORDED / meta["response_file"]).read_bytes()
    headers = {k.lower(): v for k, v in meta["response_headers"].items()}
    return Response(int(meta["status"]), headers, body)


def recorded_json(prefix: str) -> Any:
    """The decoded JSON body of a recording."""
    return json.loads(recorded(prefix).body)


def query(request: Request) -> dict[str, str]:
    """The query-string parameters of a request."""
    return dict(parse_qsl(urlsplit(request.path).query, keep_blank_values=True))


def form(request: Request) -> dict[str, str]:
    """The form parameters in the POST body (token included, if any)."""
    return dict(parse_qsl(request.body.decode("ascii"), keep_blank_values=True))


def method_of(request: Request) -> str:
    """The Matomo method a request calls."""
    return query(request).get("method", "")


VERSION = recorded("001_")


def _answer(answer: Any, request: Request) -> Response:
    if callable(answer):
        answer = answer(request)
    if isinstance(answer, Response):
        return answer
    return json_response(answer)


class Router:
    """A handler answering by Matomo method; the preflight gets recording 001 unless routed."""

    def __init__(self, routes: Mapping[str, Any]) -> None:
        self.routes = dict(routes)

    def __call__(self, request: Request) -> Response:
        method = method_of(request)
        if method in self.routes:
            return _answer(self.routes[method], request)
        if method == "API.getMatomoVersion":
            return VERSION
        return json_response(
            {"result": "error", "message": f"The method '{method}' does not exist (test)."}, 400
        )


class Scripted:
    """A handler that answers a method's calls in turn from a list (the preflight aside)."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = list(answers)

    def __call__(self, request: Request) -> Response:
        if method_of(request) == "API.getMatomoVersion":
            return VERSION
        return _answer(self.answers.pop(0), request)


class Harness:
    """Builds either client over a mock transport and calls its methods the same way."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.transport: MockTransport | SyncMockTransport | None = None

    def client(self, handler: Handler, **kw: Any) -> Any:
        """An AsyncMatomo or a Matomo answering from `handler` (token auth by default)."""
        kw.setdefault("auth", Auth.token(TOKEN))
        base_url = kw.pop("base_url", BASE_URL)
        if self.kind == "async":
            self.transport = MockTransport(handler)
            return AsyncMatomo(base_url, transport=self.transport, **kw)
        self.transport = SyncMockTransport(handler)
        return Matomo(base_url, transport=self.transport, **kw)

    async def run(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Call a client method; await it, and collect it into a list if it is an iterator."""
        result = fn(*args, **kw)
        if inspect.isawaitable(result):
            return await result
        if inspect.isasyncgen(result):
            return [item async for item in result]
        if inspect.isgenerator(result):
            return list(result)
        return result

    @property
    def requests(self) -> list[Request]:
        """Every request sent so far, the preflight included."""
        assert self.transport is not None
        return self.transport.requests

    @property
    def calls(self) -> list[Request]:
        """Every request sent so far except the preflight's API.getMatomoVersion."""
        return [r for r in self.requests if method_of(r) != "API.getMatomoVersion"]


# --- A fake Live.getLastVisitsDetails ---------------------------------------------------------

_TEMPLATE: dict[str, Any] = recorded_json("049_")[0]


def visit_dict(id_visit: int, ts: int) -> dict[str, Any]:
    """A real recorded visit with its id and last action second replaced."""
    visit = copy.deepcopy(_TEMPLATE)
    visit.update(idVisit=id_visit, lastActionTimestamp=ts, serverTimestamp=ts)
    return visit


@dataclass
class LiveServer:
    """An in-memory Live.getLastVisitsDetails, as Matomo 5.2+ pages it.

    Sorted by (lastActionTimestamp, idVisit), descending unless `filter_sort_order=asc`;
    `minTimestamp` keeps visits strictly newer; then `filter_offset` and `filter_limit`
    (default 100, -1 = all). `between_pages(server, n)` runs after the n-th Live answer, to
    let visits arrive or grow while a client pages.
    """

    visits: dict[int, int] = field(default_factory=dict)
    honour_min_timestamp: bool = True
    between_pages: Callable[[LiveServer, int], None] | None = None
    pages: list[dict[str, str]] = field(default_factory=list)
    # Answer bare {idSite, idVisit, lastActionTimestamp} objects instead of full recorded visits.
    bare: bool = False
    # The site's timezone, for SitesManager.getSiteFromId; how many times it was asked.
    timezone: str = "UTC"
    sites_asked: int = 0

    def add(self, id_visit: int, ts: int) -> None:
        """A new visit (or an existing one whose last action moved to second `ts`)."""
        self.visits[id_visit] = ts

    def rows(self, params: Mapping[str, str]) -> list[tuple[int, int]]:
        """(idVisit, lastActionTimestamp) of the page these parameters ask for."""
        rows = sorted(self.visits.items(), key=lambda kv: (kv[1], kv[0]))
        if params.get("filter_sort_order") != "asc":
            rows.reverse()
        if self.honour_min_timestamp and "minTimestamp" in params:
            rows = [(v, ts) for v, ts in rows if ts > int(params["minTimestamp"])]
        rows = rows[int(params.get("filter_offset", "0")) :]
        limit = int(params.get("filter_limit", "100"))
        return rows if limit == -1 else rows[:limit]

    def __call__(self, request: Request) -> Response:
        params = request_params(request)
        method = params.get("method")
        if method == "API.getMatomoVersion":
            return VERSION
        if method == "SitesManager.getSiteFromId":
            self.sites_asked += 1
            return json_response({**recorded_json("011_"), "timezone": self.timezone})
        assert method == "Live.getLastVisitsDetails", method
        self.pages.append(params)
        rows = self.rows(params)
        if self.bare:
            answer = json_response(
                [{"idSite": 1, "idVisit": v, "lastActionTimestamp": ts} for v, ts in rows]
            )
        else:
            answer = json_response([visit_dict(v, ts) for v, ts in rows])
        if self.between_pages is not None:
            self.between_pages(self, len(self.pages))
        return answer
