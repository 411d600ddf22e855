"""Round 13: the library as an integration developer uses it (threads, forks, tasks, transports)."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import threading
import time
from typing import Any

import anyio
import httpx
import pytest

from matomo_client import (
    ApiError,
    ApiErrorKind,
    AsyncMatomo,
    Auth,
    Cursor,
    DecodeError,
    HttpStatusError,
    Limit,
    Matomo,
    MatomoError,
    NonJsonBodyError,
    Params,
    Period,
    PreflightError,
    Request,
    Response,
    TransportError,
)
from matomo_client.transports import SyncMockTransport, json_response

TOKEN = "MARKERf00dfeed5ecret0123456789MARKER"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+: the parent's thread
@pytest.mark.parametrize("preflight", [True, False], ids=["preflight-lock", "limiter-slot"])
def test_a_child_forked_during_a_call_of_another_thread_does_not_hang(preflight: bool) -> None:
    """A fork while another thread of the parent is inside a call (holding the preflight lock, or
    the only `max_concurrency` slot) must not leave that lock held for ever in the child."""
    parent = os.getpid()
    inside, release = threading.Event(), threading.Event()

    def answer(request: Request) -> Response:
        if os.getpid() == parent:  # the parent's call stays inside until the child is done
            inside.set()
            release.wait(10)
        return json_response({"value": "5.11.2"})

    m = Matomo(
        "https://stats.example.com/",
        auth=Auth.token(TOKEN),
        transport=SyncMockTransport(answer),
        max_concurrency=1,
        skip_preflight=not preflight,
    )
    busy = threading.Thread(target=lambda: m.call("API.getMatomoVersion", Params()))
    busy.start()
    try:
        assert inside.wait(10)
        pid = os.fork()
        if pid == 0:  # the child: one call, which must come back within the time limit
            code = 1
            try:
                done = threading.Event()

                def call() -> None:
                    m.call("API.getMatomoVersion", Params())
                    done.set()

                worker = threading.Thread(target=call, daemon=True)
                worker.start()
                code = 0 if done.wait(5) else 3
            finally:
                os._exit(code)
        started = time.monotonic()
        _, status = os.waitpid(pid, 0)
        took = f"{time.monotonic() - started:.1f} s"
        assert os.WIFEXITED(status), f"the child was killed (status {status}, {took})"
        assert os.WEXITSTATUS(status) == 0, f"the child's call did not return ({took})"
    finally:
        release.set()
        busy.join()


# --- Integration programs over the in-process sandbox ------------------------------------------

SANDBOX_TODAY = dt.date(2026, 11, 29)


def _sandbox_client(**options: Any) -> AsyncMatomo:
    from matomo_client.sandbox import Sandbox, SandboxConfig

    sb = Sandbox(SandboxConfig(seed=5, days=6, visits_per_day=30, token=TOKEN, today=SANDBOX_TODAY))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sb.app))
    return AsyncMatomo("http://sandbox.test/", auth=Auth.token(TOKEN), http_client=http, **options)


@pytest.mark.anyio
async def test_one_client_shared_by_many_tasks_gives_each_task_its_own_answers() -> None:
    """A web app's pattern: one AsyncMatomo, many tasks at once, few slots; each visits stream
    matches its day's summary, and the preflight is asked once."""
    days = [SANDBOX_TODAY - dt.timedelta(days=n) for n in range(1, 5)]
    async with _sandbox_client(max_concurrency=2) as m:

        async def one(day: dt.date) -> tuple[int, int]:
            period = Period.day(day)
            summary = await m.visits_summary.get(1, period)
            visits = [v.id_visit async for v in m.live.stream(1, period, page_size=7)]
            assert len(visits) == len(set(visits))
            return summary.nb_visits, len(visits)

        results: dict[dt.date, tuple[int, int]] = {}

        async def run(day: dt.date) -> None:
            results[day] = await one(day)

        async with anyio.create_task_group() as tg:
            for day in days * 2:
                tg.start_soon(run, day)
        assert all(a == b and a > 0 for a, b in results.values()), results


@pytest.mark.anyio
async def test_a_cursor_saved_after_each_page_resumes_in_a_new_client() -> None:
    """A poller that stops after every page and starts again from the saved cursor (a new
    client each time, as after a restart) gets every visit of the day exactly once."""
    period = Period.day(SANDBOX_TODAY - dt.timedelta(days=2))
    saved: str | None = Cursor(1, period, Limit(4)).to_json()
    seen: list[int] = []
    while saved is not None:
        async with _sandbox_client() as m:
            visits, cursor = await m.live.next_page(Cursor.from_json(saved))
        seen += [v.id_visit for v in visits]
        saved = cursor.to_json() if cursor else None
    async with _sandbox_client() as m:
        expected = (await m.visits_summary.get(1, period)).nb_visits
    assert len(seen) == len(set(seen)) == expected > 4


@pytest.mark.anyio
async def test_bulk_with_failures_keeps_each_answer_in_its_place() -> None:
    """Mixed successes and failures: each failure is its own item's ApiError, the others stand."""
    period = Period.day(SANDBOX_TODAY - dt.timedelta(days=1))
    ok = Params().id_site(1).period(period)
    async with _sandbox_client() as m:
        answers = await m.api.bulk(
            [
                ("API.getMatomoVersion", Params()),
                ("VisitsSummary.get", Params().id_site(99).period(period)),
                ("VisitsSummary.get", ok),
                ("VisitsSummary.getFoo", ok),
            ]
        )
    assert [a.ok for a in answers] == [True, False, True, False]
    assert answers[0].value == {"value": "5.11.2"}
    assert answers[2].value["nb_visits"] > 0
    assert answers[1].error is not None
    assert answers[1].error.kind is ApiErrorKind.NOT_FOUND
    assert answers[3].error is not None
    assert answers[3].error.method == "VisitsSummary.getFoo"


@pytest.mark.parametrize(
    "error",
    [
        ApiError(ApiErrorKind.AUTH, "token refused", "X.y", 401, 3.0),
        HttpStatusError(503, "X.y", "busy", 2.0),
        NonJsonBodyError(200, "text/html", b"<html>login</html>", "X.y"),
        DecodeError("X.y", "no rows"),
        TransportError("X.y", "ReadTimeout", timeout=True, permanent=False),
        PreflightError("3.14.1", ("X.y",), "is too old", "X.y"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_error_pickles_whole(error: MatomoError) -> None:
    """Each class of the tree crosses a process boundary (multiprocessing, Celery) unchanged."""
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert (str(back), repr(back), back.__dict__) == (str(error), repr(error), error.__dict__)


@pytest.mark.anyio
async def test_an_asyncio_timeout_from_a_users_transport_is_a_retried_timeout() -> None:
    """`asyncio.wait_for` in a user's own transport raises `asyncio.TimeoutError`, which before
    Python 3.11 is not the builtin TimeoutError: it must still be a retried TransportError."""
    import asyncio

    calls = 0

    class WaitsTooLong:
        async def send(self, request: Request) -> Response:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise asyncio.TimeoutError
            return json_response([{"idsite": "1", "name": "Site", "main_url": "https://a"}])

        async def aclose(self) -> None:
            pass

    async with AsyncMatomo(
        "https://stats.example.com/",
        auth=Auth.token(TOKEN),
        transport=WaitsTooLong(),
        skip_preflight=True,
    ) as m:
        sites = await m.sites.list()
    assert [s.id_site for s in sites] == [1]
    assert calls == 2
    assert m.stats.retries == 1


def test_content_type_is_read_whatever_the_header_names_case() -> None:
    """A user's transport may pass headers as the server spelt them."""
    response = Response(200, {"Content-Type": "Text/HTML; charset=utf-8"}, b"<html>")
    assert response.content_type == "text/html"
    assert "text/html" in repr(response)
    assert Response(200, {}, b"").content_type == ""
