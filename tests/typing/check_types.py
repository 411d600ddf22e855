"""Checked by mypy (tests/typing/test_typing.py), never run: the public API's static types.

Lines ending in `# type: ignore[code]` must be errors: with `warn_unused_ignores` (strict),
mypy fails if such a line type-checks, so the misuse stays refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from typing_extensions import assert_type

from matomo_client import (
    ActionRow,
    ApiError,
    ApiErrorKind,
    AsyncMatomo,
    Auth,
    BulkResult,
    Cursor,
    Date,
    DateRange,
    Limit,
    Matomo,
    Params,
    Period,
    ReferrerRow,
    ReportMetadata,
    RetryPolicy,
    Site,
    Visit,
    VisitsSummary,
    endpoints,
)
from matomo_client.transports import MockTransport, SyncMockTransport, json_response

DAY = Period.day(Date.YESTERDAY)


class Goal(BaseModel):
    """A user's own model for call_typed."""

    idgoal: int


async def check_async(m: AsyncMatomo) -> None:
    """The async client's results have precise types."""
    assert_type(await m.api.version(), str)
    assert_type(await m.api.report_metadata(1), list[ReportMetadata])
    assert_type(await m.api.bulk([("API.getMatomoVersion", Params())]), list[BulkResult])
    assert_type(await m.visits_summary.get(1, DAY), VisitsSummary)
    assert_type(
        await m.visits_summary.series(1, "day", DateRange.last(7)), dict[dt.date, VisitsSummary]
    )
    assert_type(await m.actions.page_urls(1, DAY), list[ActionRow])
    assert_type(await m.actions.subtable("getPageUrls", 1, DAY, 2), list[ActionRow])
    assert_type(await m.referrers.all(1, DAY), list[ReferrerRow])
    assert_type(await m.referrers.subtable("getSearchEngines", 1, DAY, 3), list[ReferrerRow])
    assert_type(await m.live.last_visits(1, DAY, Limit(10)), list[Visit])
    visits, cursor = await m.live.next_page(Cursor(1, DAY, Limit(100)))
    assert_type(visits, list[Visit])
    assert_type(cursor, Cursor | None)
    async for visit in m.live.stream(1, DAY, 500):
        assert_type(visit, Visit)
    assert_type(await m.sites.list(), list[Site])
    assert_type(await m.sites.get(1), Site)
    assert_type(await m.call("Goals.get", Params().id_site(1)), Any)
    assert_type(await m.call_typed("Goals.getGoals", None, list[Goal]), list[Goal])
    assert_type(await m.call_raw("API.getMatomoVersion"), bytes)
    async for chunk in m.stream_raw("Live.getLastVisitsDetails"):
        assert_type(chunk, bytes)
    assert_type(await endpoints.GetMatomoVersion().execute(MockTransport(json_response)), str)
    assert_type(MockTransport.routes({"API.getMatomoVersion": {"value": "5"}}), MockTransport)


def check_sync(m: Matomo) -> None:
    """The generated sync client has the same types, without awaiting."""
    assert_type(m.api.version(), str)
    assert_type(m.visits_summary.get(1, DAY), VisitsSummary)
    assert_type(m.actions.outlinks(1, DAY), list[ActionRow])
    assert_type(m.referrers.socials(1, DAY), list[ReferrerRow])
    for visit in m.live.stream(1, DAY):
        assert_type(visit, Visit)
    assert_type(m.call_typed("SitesManager.getSiteFromId", None, Site), Site)
    assert_type(m.call_raw("API.getMatomoVersion"), bytes)
    assert_type(SyncMockTransport.routes({}), SyncMockTransport)


def check_errors(exc: ApiError) -> None:
    """Error fields are typed."""
    assert_type(exc.kind, ApiErrorKind)
    assert_type(exc.method, str)
    assert_type(exc.status, int)


def check_misuse(m: Matomo) -> None:
    """Misuse that mypy must refuse."""
    m.visits_summary.get(1, "2024-01-01")  # type: ignore[arg-type]
    m.visits_summary.get(1, DAY, segment=3)  # type: ignore[arg-type]
    m.visits_summary.series(1, "range", DateRange.last(7))  # type: ignore[arg-type]
    m.live.next_page("cursor")  # type: ignore[arg-type]
    Matomo("https://m.example/", auth="token")  # type: ignore[arg-type]
    Matomo("https://m.example/", retry=3)  # type: ignore[arg-type]
    Period.day(DateRange.last(7))  # type: ignore[arg-type]
    Params().set("x", None)  # type: ignore[arg-type]
    AsyncMatomo("https://m.example/", auth=Auth.token("t"), timeout="30")  # type: ignore[arg-type]
    _ = RetryPolicy(attempts=3).nope  # type: ignore[attr-defined]
    Matomo("https://m.example/", transport=MockTransport(json_response))  # type: ignore[arg-type]


def _endpoint_takes_a_limit() -> None:
    """`LastVisitsDetails` takes a `Limit`, as `live.last_visits` does."""
    import datetime as dt

    from matomo_client import Limit, Period
    from matomo_client.endpoints import LastVisitsDetails

    LastVisitsDetails(1, Period.day(dt.date(2026, 11, 28)), Limit(3))
    LastVisitsDetails(1, Period.day(dt.date(2026, 11, 28)), 3)
