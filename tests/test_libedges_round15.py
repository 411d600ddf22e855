"""Round 15, library edge cases: Retry-After beyond max_wait, idSite and range validation, the
escape hatch's parameters, bulk items and a finished cursor."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from matomo_client import (
    ApiError,
    ApiErrorKind,
    AsyncMatomo,
    Auth,
    Date,
    DateRange,
    HttpStatusError,
    Matomo,
    Params,
    Period,
    RangeEnd,
    RetryPolicy,
)

TOKEN = "libedges-secret-token-0123456789"
URL = "https://stats.example.com/"
VERSION = httpx.Response(200, json={"value": "5.11.2"})


class Server:
    """An httpx handler answering `answers` in turn (the last one for ever), keeping requests."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def form(self, n: int = -1) -> dict[str, list[str]]:
        """The POST form of request `n`."""
        return parse_qs(self.requests[n].content.decode())


def _async(server: Server, **kw: Any) -> AsyncMatomo:
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return AsyncMatomo(URL, auth=Auth.token(TOKEN), http_client=client, skip_preflight=True, **kw)


def _sync(server: Server, **kw: Any) -> Matomo:
    client = httpx.Client(transport=httpx.MockTransport(server))
    return Matomo(URL, auth=Auth.token(TOKEN), http_client=client, skip_preflight=True, **kw)


def _slow_down(retry_after: str, json_body: bool = False) -> httpx.Response:
    if json_body:
        body = json.dumps({"result": "error", "message": f"Rate limit exceeded ({TOKEN})"})
        headers = {"content-type": "application/json", "retry-after": retry_after}
        return httpx.Response(429, headers=headers, content=body.encode())
    return httpx.Response(429, headers={"retry-after": retry_after}, text="slow down")


# --- 1. A Retry-After longer than max_total allows: give up at once, do not retry early --------


@pytest.mark.anyio
@pytest.mark.parametrize("json_body", [False, True])
async def test_retry_after_beyond_max_total_is_raised_at_once(json_body: bool) -> None:
    """A 429 asking for an hour (more than the 300 s max_total) is not retried 30 s later
    (another 429, tries spent): the error comes at once, with `retry_after` and the wait in
    its message, never the token."""
    server = Server(_slow_down("3600", json_body), VERSION)
    async with _async(server) as m:
        with pytest.raises((HttpStatusError, ApiError)) as info:
            await m.call("API.getMatomoVersion")
        assert m.stats.retries == 0
    assert len(server.requests) == 1
    error = info.value
    assert isinstance(error, (HttpStatusError, ApiError))
    assert error.retry_after == 3600.0
    assert "Retry-After 3600s" in str(error)
    if isinstance(error, ApiError):
        assert error.kind is ApiErrorKind.RATE_LIMITED
        assert "retry_after=3600.0" in repr(error)
    assert TOKEN not in str(error) + repr(error)


def test_retry_after_beyond_max_total_is_raised_at_once_sync_and_streamed() -> None:
    """The blocking client, and stream_raw, give up the same way."""
    server = Server(_slow_down("600"))
    with _sync(server) as m:
        with pytest.raises(HttpStatusError) as info:
            m.call("API.getMatomoVersion")
        assert info.value.retry_after == 600.0
        with pytest.raises(HttpStatusError):
            list(m.stream_raw("API.getMatomoVersion"))
        assert m.stats.retries == 0
    assert len(server.requests) == 2


@pytest.mark.anyio
async def test_retry_after_within_max_total_is_waited_and_retried() -> None:
    """Raising max_total honours the server's longer wait: the call is retried and succeeds."""
    server = Server(_slow_down("3600"), VERSION)
    policy = RetryPolicy(max_total=7200.0)  # max_wait stays 30 s: it caps only our own waits
    async with _async(server, retry=policy) as m:
        assert await m.call("API.getMatomoVersion") == {"value": "5.11.2"}
        assert m.stats.retries == 1


# --- 2. idSite and lastN given digits that are not ASCII -----------------------------------------


@pytest.mark.parametrize("site", ["²", "①", "٣", "9" * 5000, ["²"], ["1", "³"]])
def test_id_site_of_other_digits_names_the_parameter(site: Any) -> None:
    """`"²".isdigit()` is true, but it is no site id: the error names idSite and the value
    (it was int()'s own "invalid literal for int() with base 10")."""
    with pytest.raises(ValueError, match="idSite must be a positive integer") as info:
        Params().id_site(site)
    assert "int()" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"), [("last²", "not a date range"), ("last" + "9" * 5000, "caps N")]
)
def test_date_range_parse_of_other_digits_says_what_is_wrong(text: str, message: str) -> None:
    """`DateRange.parse` (and so `Cursor.from_json`) refuses "last²" in its own words."""
    with pytest.raises(ValueError, match=message) as info:
        DateRange.parse(text)
    assert "int()" not in str(info.value)
    assert "digits" not in str(info.value)


# --- 3. A range ending today that starts after today --------------------------------------------


@pytest.mark.parametrize("end", [RangeEnd.TODAY, RangeEnd.YESTERDAY])
def test_range_ending_today_that_starts_later_says_so(end: RangeEnd) -> None:
    """Known only once the site's today is: `2099-01-01,today` holds no day. The error says
    that today is before the start, not "range end <a date the user never wrote> ..."."""
    span = DateRange.between(dt.date(2099, 1, 1), end)  # no clock: it cannot be refused here
    today = dt.date(2026, 11, 30)
    with pytest.raises(ValueError, match=rf"'2099-01-01,{end.value}' holds no day: {end.value}"):
        span.resolve(today)
    with pytest.raises(ValueError, match="holds no day"):
        Period.range(span).pinned(today)
    assert DateRange.between(today, RangeEnd.TODAY).resolve(today) == (today, today)


# --- The escape hatch's parameters, bulk items, a finished cursor -------------------------------


@pytest.mark.anyio
async def test_call_with_a_dict_renders_it_as_params() -> None:
    """A dict given to call() is checked and rendered like Params: `Date.YESTERDAY` was sent
    as "Date.YESTERDAY", and a `token_auth` key added a second token to the body."""
    server = Server(VERSION)
    async with _async(server) as m:
        await m.call("VisitsSummary.get", {"idSite": 1, "period": "day", "date": Date.YESTERDAY})
        assert server.form()["date"] == ["yesterday"]
        await m.call_raw("VisitsSummary.get", {"flat": True})
        assert server.form()["flat"] == ["1"]
        with pytest.raises(ValueError, match="token_auth"):
            await m.call("VisitsSummary.get", {"token_auth": "another"})
        with pytest.raises(ValueError, match="params must be Params or a dict, got str"):
            await m.call("VisitsSummary.get", "idSite=1")  # type: ignore[arg-type]
    assert len(server.requests) == 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("item", "message"),
    [
        (("API.getMatomoVersion", None), "needs Params, got NoneType"),
        ("VisitsSummary.get", "bulk items are \\(method, Params\\) pairs"),
    ],
)
async def test_bulk_items_are_checked_before_a_request(item: Any, message: str) -> None:
    """A bulk item with no Params, or a bare method name, is a clear ValueError (it was an
    AttributeError, or "too many values to unpack"), and nothing is sent."""
    server = Server(VERSION)
    async with _async(server) as m:
        with pytest.raises(ValueError, match=message):
            await m.api.bulk([item])
    assert server.requests == []


def test_next_page_of_a_finished_cursor_says_the_paging_is_over() -> None:
    """`next_page(None)` (the cursor after the last page) was an AttributeError on NoneType."""
    server = Server(VERSION)
    with _sync(server) as m, pytest.raises(ValueError, match="paging is over"):
        m.live.next_page(None)  # type: ignore[arg-type]
    assert server.requests == []


@pytest.mark.anyio
async def test_a_retry_after_beyond_the_budget_is_logged_when_given_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The README promises a line when a call stops retrying for max_total: a Retry-After the
    budget leaves no room for gave up without one (the error alone said Retry-After 600s)."""
    server = Server(_slow_down("600"), VERSION)
    with caplog.at_level("INFO", logger="matomo_client"):
        async with _async(server) as m:
            with pytest.raises((HttpStatusError, ApiError)):
                await m.call("API.getMatomoVersion")
    lines = [r.getMessage() for r in caplog.records if r.name == "matomo_client"]
    assert any("asked to wait 600 s" in line and "max_total" in line for line in lines), lines
    assert all(TOKEN not in line for line in lines)
