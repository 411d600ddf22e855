"""visits_summary.series past Matomo's per-request caps, against the sandbox (which caps like Matomo).

Matomo silently caps one multi-period request at 1825 days, 520 weeks, 120 months or 10 years
(matomo-api-notes.md §5); `series` must still return every period asked for, each once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from clients_support import VERSION, Harness, Router, form

from matomo_client import DateRange, DecodeError
from matomo_client._core.http import Request, Response
from matomo_client.sandbox import Sandbox, SandboxConfig
from matomo_client.sandbox.api import Access
from matomo_client.sandbox.dates import ApiFailure
from matomo_client.transports import json_response, request_params

pytestmark = pytest.mark.anyio

TODAY = dt.date(2026, 11, 29)  # a Sunday: the week of 2026-11-23 is the newest
CAPS = {"day": 1825, "week": 520, "month": 120, "year": 10}


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """Visits on every day since 2015-12-18, so the periods past the cap hold data too."""
    return Sandbox(SandboxConfig(today=TODAY, days=4000, visits_per_day=2))


class SandboxServer:
    """A handler answering from the sandbox's API in-process (super user), logging each answer.

    `keep(unit, periods)` may cut an answer's periods, to act as a server with a lower cap.
    """

    def __init__(
        self, sandbox: Sandbox, keep: Callable[[str, list[str]], list[str]] | None = None
    ) -> None:
        self.sandbox = sandbox
        self.keep = keep
        self.answers: list[tuple[str, Any]] = []

    def call(self, **params: str) -> Any:
        """The sandbox's decoded answer to one API call."""
        return self.sandbox.api.call({"module": "API", "format": "json", **params}, Access(True))

    def __call__(self, request: Request) -> Response:
        params = request_params(request)
        if params.get("method") == "API.getMatomoVersion":
            return VERSION
        try:
            value = self.sandbox.api.call(params, Access(True))
        except ApiFailure as failure:
            return json_response({"result": "error", "message": failure.message}, failure.status)
        if self.keep is not None and isinstance(value, dict):
            value = {k: value[k] for k in self.keep(params["period"], list(value))}
        self.answers.append((params["date"], value))
        return json_response(value)


def _firsts(unit: str, first: dt.date, count: int) -> list[dt.date]:
    """The first days of `count` consecutive periods from the one starting at `first`."""
    if unit in ("day", "week"):
        step = dt.timedelta(days=1 if unit == "day" else 7)
        return [first + step * i for i in range(count)]
    months = 1 if unit == "month" else 12
    index = first.year * 12 + first.month - 1
    return [
        dt.date((index + months * i) // 12, (index + months * i) % 12 + 1, 1) for i in range(count)
    ]


def _last_day(unit: str, first: dt.date) -> dt.date:
    """The last day of the period starting at `first`."""
    return _firsts(unit, first, 2)[1] - dt.timedelta(days=1)


LONG_SERIES = [
    # (unit, range, first day of the first period, number of periods)
    ("year", DateRange.last(15), dt.date(2012, 1, 1), 15),
    ("month", DateRange.last(150), dt.date(2014, 6, 1), 150),
    ("week", DateRange.last(600), dt.date(2026, 11, 23) - dt.timedelta(weeks=599), 600),
    ("week", DateRange.previous(600), dt.date(2026, 11, 16) - dt.timedelta(weeks=599), 600),
    ("day", DateRange.ymd((2018, 1, 1), (2026, 11, 29)), dt.date(2018, 1, 1), 3255),
    ("month", DateRange.parse("2000-01-15,today"), dt.date(2000, 1, 1), 323),
]


def test_the_sandbox_caps_multi_period_requests_like_matomo(sandbox: Sandbox) -> None:
    """The sandbox keeps only the newest 10 years / 1825 days, so the tests below are real."""
    server = SandboxServer(sandbox)
    years = server.call(method="VisitsSummary.get", idSite="1", period="year", date="last15")
    assert list(years) == [str(y) for y in range(2017, 2027)]
    days = server.call(
        method="VisitsSummary.get", idSite="1", period="day", date="2018-01-01,2026-11-29"
    )
    assert len(days) == 1825
    assert min(days) == "2021-12-01"


@pytest.mark.parametrize(
    ("unit", "date_range", "first", "count"),
    LONG_SERIES,
    ids=[f"{u}-{r.to_param()}" for u, r, _, _ in LONG_SERIES],
)
async def test_series_longer_than_the_cap_is_complete(
    harness: Harness,
    sandbox: Sandbox,
    unit: str,
    date_range: DateRange,
    first: dt.date,
    count: int,
) -> None:
    """Every period comes back once, in order, via requests that each stay within the cap."""
    server = SandboxServer(sandbox)
    m = harness.client(server)
    series = await harness.run(m.visits_summary.series, 1, unit, date_range)
    expected = _firsts(unit, first, count)
    assert list(series) == expected
    assert len(server.answers) > 1
    assert all(len(answer) <= CAPS[unit] for _, answer in server.answers)
    assert sum(len(answer) for _, answer in server.answers) == count  # no period asked twice
    # The visits of every period, the ones past the cap included, are all there once.
    span = f"{first.isoformat()},{min(TODAY, _last_day(unit, expected[-1])).isoformat()}"
    total = server.call(method="VisitsSummary.get", idSite="1", period="range", date=span)
    assert sum(s.nb_visits for s in series.values()) == total["nb_visits"] > 0
    past_the_cap = list(series.values())[: count - CAPS[unit]]
    assert sum(s.nb_visits for s in past_the_cap) > 0


@pytest.mark.parametrize(
    ("unit", "date_range", "count"),
    [
        ("month", DateRange.last(120), 120),
        ("year", DateRange.previous(10), 10),
        ("day", DateRange.last(1825), 1825),
        ("day", DateRange.ymd((2021, 12, 1), (2026, 11, 29)), 1825),
        ("week", DateRange.ymd((2016, 12, 14), (2026, 11, 24)), 520),
    ],
)
async def test_series_within_the_cap_is_one_request(
    harness: Harness, sandbox: Sandbox, unit: str, date_range: DateRange, count: int
) -> None:
    """Up to the cap, a series is still the one request the user's range describes."""
    m = harness.client(SandboxServer(sandbox))
    series = await harness.run(m.visits_summary.series, 1, unit, date_range)
    assert len(series) == count
    (call,) = harness.calls
    assert (form(call)["period"], form(call)["date"]) == (unit, date_range.to_param())


async def test_server_with_a_lower_cap_is_a_decode_error(
    harness: Harness, sandbox: Sandbox
) -> None:
    """A split request answered without its first periods raises instead of leaving a hole."""
    server = SandboxServer(sandbox, keep=lambda unit, periods: periods[-1000:])
    m = harness.client(server)
    with pytest.raises(DecodeError, match="caps multi-period requests"):
        await harness.run(
            m.visits_summary.series, 1, "day", DateRange.ymd((2018, 1, 1), (2026, 11, 29))
        )


async def test_capped_last_n_without_periods_is_a_decode_error(harness: Harness) -> None:
    """lastN past the cap answered with no period at all cannot be completed: DecodeError."""
    m = harness.client(Router({"VisitsSummary.get": []}))
    with pytest.raises(DecodeError, match="holds no period"):
        await harness.run(m.visits_summary.series, 1, "week", DateRange.last(600))
