"""`MockTransport` and `SyncMockTransport`: answer requests from a function or a table of methods.

Ship-with-the-library test doubles: run the real client, with its real parsing and retries,
against canned answers.

    def handler(request: Request) -> Response: ...
    AsyncMatomo("https://m.example/", transport=MockTransport(handler), skip_preflight=True)

    MockTransport.routes({"API.getMatomoVersion": {"value": "5.11.2"}})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import orjson

if TYPE_CHECKING:  # typing.Self is 3.11+; typing_extensions costs 25 ms to import at start
    from typing_extensions import Self

from matomo_client._core.http import Request, Response

__all__ = ["MockTransport", "SyncMockTransport", "json_response", "request_params"]

Handler = Callable[[Request], Response]


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response as Matomo sends it."""
    return Response(
        status,
        {"content-type": "application/json; charset=utf-8", **(headers or {})},
        orjson.dumps(data),
    )


def request_params(request: Request) -> dict[str, str]:
    """Query-string and form parameters of a request, GET winning like in Matomo; token removed."""
    params = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    params.update(parse_qsl(urlsplit(request.path).query, keep_blank_values=True))
    params.pop("token_auth", None)
    return params


def _route_handler(routes: Mapping[str, Any]) -> Handler:
    def handler(request: Request) -> Response:
        method = request_params(request).get("method", "")
        if method not in routes:
            return json_response(
                {"result": "error", "message": f"The method '{method}' does not exist (mock)."}, 400
            )
        answer = routes[method]
        if isinstance(answer, Response):
            return answer
        if callable(answer):
            out = answer(request)
            return out if isinstance(out, Response) else json_response(out)
        return json_response(answer)

    return handler


class _Base:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    @classmethod
    def routes(cls, routes: Mapping[str, Any]) -> Self:
        """Answer by Matomo method: a value (sent as JSON), a `Response`, or a function."""
        return cls(_route_handler(routes))

    def _answer(self, request: Request) -> Response:
        self.requests.append(request)
        return self.handler(request)

    @property
    def methods(self) -> list[str]:
        """The Matomo methods requested so far, in order."""
        return [request_params(r).get("method", "") for r in self.requests]


class MockTransport(_Base):
    """An async transport answering from `handler(request)`; keeps requests in `.requests`."""

    async def send(self, request: Request) -> Response:
        """Answer one request from the handler."""
        return self._answer(request)

    def __repr__(self) -> str:
        return f"MockTransport({len(self.requests)} requests)"


class SyncMockTransport(_Base):
    """The blocking twin of `MockTransport`."""

    def send(self, request: Request) -> Response:
        """Answer one request from the handler."""
        return self._answer(request)

    def __repr__(self) -> str:
        return f"SyncMockTransport({len(self.requests)} requests)"
