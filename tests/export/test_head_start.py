"""The head start: the first pages of the first runs asked for beside the sites, when the
plan cannot depend on the sites' timezones (`export/head.py`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest
from export_fakeworld import FakeMatomo

from matomo_client import AsyncMatomo, Auth, MatomoError
from matomo_client._core.http import Request, Response
from matomo_client.export import ExportUsageError, export_visits
from matomo_client.transports import json_response, request_params

pytestmark = pytest.mark.anyio

TODAY = date(2024, 3, 31)
NOW = datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc)
SITES = "SitesManager.getSitesWithAtLeastViewAccess"
LIVE = "Live.getLastVisitsDetails"
DAYS = 40
START, END = TODAY - timedelta(days=DAYS - 1), TODAY - timedelta(days=3)


class Recorder:
    """Answers from a `FakeMatomo` after 10 ms; holds the sites' answer until `wait_for` Live
    requests are out (at most `hold` s); counts what is in flight."""

    def __init__(self, world: FakeMatomo, wait_for: int = 0, hold: float = 2.0) -> None:
        self.world = world
        self.wait_for = wait_for
        self.hold = hold
        self.live: list[tuple[tuple[str, str], ...]] = []
        self.live_before_sites: int | None = None
        self.in_flight = self.max_in_flight = 0
        self.fail_first_live = False
        self.failed: tuple[tuple[str, str], ...] = ()

    async def send(self, request: Request) -> Response:
        p = request_params(request)
        method = p.get("method", "")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if method == LIVE:
                self.live.append(tuple(sorted(p.items())))
            if method == SITES:
                with anyio.move_on_after(self.hold):
                    while len(self.live) < self.wait_for:  # noqa: ASYNC110 - requests, not an event
                        await anyio.sleep(0.005)
                self.live_before_sites = len(self.live)
            await anyio.sleep(0.01)
            if method == "API.getMatomoVersion":
                return json_response({"value": "5.2.0"})
            if method == LIVE and self.fail_first_live:
                self.fail_first_live = False  # an error the client does not retry
                self.failed = tuple(sorted(p.items()))
                return json_response({"result": "error", "message": "Something went wrong"})
            return self.world.handle(request)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        pass


def _client(transport: Any) -> AsyncMatomo:
    return AsyncMatomo("https://matomo.test/", auth=Auth.token("t-123"), transport=transport)


async def _export(transport: Recorder, target: Path, proven: bool = True, **kw: Any) -> Any:
    """Export with a client whose token has been accepted already (`proven`), as the head
    start needs, or a fresh one."""
    args: dict[str, Any] = {"sites": [1, 2], "start": START, "end": END, "concurrency": 5}
    args.update(kw)
    async with _client(transport) as m:
        if proven:
            await m.preflight()
        return await export_visits(m, target=str(target), now=NOW, **args)


def _expected(world: FakeMatomo) -> int:
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    return sum(len(world.owned(s, d)) for s in (1, 2) for d in days)


async def test_the_first_pages_go_beside_the_sites_and_none_is_asked_twice(
    tmp_path: Path,
) -> None:
    """Concurrency 5 leaves 3 slots beside the preflight and the sites: three runs' first pages
    are out before the sites' answer, each page is asked for once, and no more than 5 requests
    are in flight at any time."""
    world = FakeMatomo(TODAY, days=DAYS)
    transport = Recorder(world, wait_for=3)
    with anyio.fail_after(30):
        summary = await _export(transport, tmp_path / "x.duckdb")
    assert transport.live_before_sites == 3
    assert len(set(transport.live)) == len(transport.live)
    assert transport.max_in_flight <= 5
    assert summary.visits == _expected(world)
    assert summary.mismatches == []


@pytest.mark.parametrize(
    "case",
    [
        "existing target",
        "all sites",
        "keyword dates",
        "concurrency 2",
        "restart",
        "today",
        "token not accepted yet",
    ],
)
async def test_no_head_start_when_the_plan_depends_on_the_answer(tmp_path: Path, case: str) -> None:
    """Every site, dates a timezone moves, a day not closed everywhere, a target that holds an
    export already, too few slots, or a token not yet accepted: nothing is asked for before
    the sites' answer."""
    world = FakeMatomo(TODAY, days=DAYS)
    target = tmp_path / "x.duckdb"
    kw: dict[str, Any] = {}
    if case in ("existing target", "restart"):
        with anyio.fail_after(30):
            await _export(Recorder(world), target, end=START + timedelta(days=1))
        kw["restart"] = case == "restart"
    elif case == "all sites":
        kw["sites"] = "all"
    elif case == "keyword dates":
        kw["end"] = "yesterday"  # March 30 at UTC-12, March 31 at UTC+14
    elif case == "concurrency 2":
        kw["concurrency"] = 2
    elif case == "today":
        kw["end"] = TODAY  # open in every timezone west of UTC+12
    elif case == "token not accepted yet":
        kw["proven"] = False
    transport = Recorder(world, wait_for=1, hold=0.3)
    with anyio.fail_after(30):
        await _export(transport, target, **kw)
    assert transport.live_before_sites == 0


async def test_a_page_asked_for_ahead_that_failed_is_asked_again_by_its_run(
    tmp_path: Path,
) -> None:
    """A head start page that failed (an error Matomo answered) is not an error of the export:
    its run asks for it again, that once, and every visit is exported."""
    world = FakeMatomo(TODAY, days=DAYS)
    transport = Recorder(world, wait_for=3)
    transport.fail_first_live = True
    with anyio.fail_after(30):
        summary = await _export(transport, tmp_path / "x.duckdb")
    assert transport.live_before_sites == 3
    assert transport.live.count(transport.failed) == 2
    assert len(set(transport.live)) == len(transport.live) - 1
    assert summary.visits == _expected(world)
    assert summary.mismatches == []


async def test_the_sites_error_is_raised_as_it_is_and_leaves_no_file(tmp_path: Path) -> None:
    """A missing site fails the export with its own error (not inside an exception group);
    the pages asked for ahead are dropped and no target is left behind."""
    world = FakeMatomo(TODAY, days=DAYS)
    transport = Recorder(world, wait_for=3)
    target = tmp_path / "x.duckdb"
    with anyio.fail_after(30), pytest.raises(ExportUsageError, match="site 99 does not exist"):
        await _export(transport, target, sites=[1, 99])
    assert transport.live_before_sites == 3
    assert [p.name async for p in anyio.Path(tmp_path).iterdir()] == []


class WrongToken:
    """Matomo 5 with a token it does not know: 401 for every request, each a failed login."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def send(self, request: Request) -> Response:
        self.methods.append(request_params(request).get("method", ""))
        await anyio.sleep(0.01)
        message = "Unable to authenticate with the provided token. It is either invalid or expired."
        return json_response({"result": "error", "message": message}, status=401)

    async def aclose(self) -> None:
        pass


async def test_a_wrong_token_costs_two_failed_logins_whatever_the_concurrency(
    tmp_path: Path,
) -> None:
    """Matomo counts each request with a wrong token towards its brute-force block (20 an hour
    per IP): a fresh client asks for no page ahead, so an export with a wrong token sends the
    preflight's and the sites' requests only, at concurrency 8 as at 2."""
    transport = WrongToken()
    with anyio.fail_after(30), pytest.raises(MatomoError, match="Unable to authenticate"):
        async with _client(transport) as m:
            await export_visits(
                m,
                sites=[1, 2],
                start=START,
                end=END,
                target=str(tmp_path / "x.duckdb"),
                concurrency=8,
                now=NOW,
            )
    assert sorted(transport.methods) == ["API.getMatomoVersion", SITES]
