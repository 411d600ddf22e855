"""The typed modules of the async client: api, visits_summary, actions, referrers, live, sites.

Each method builds an endpoint value (`matomo_client.endpoints`) and runs it through the client.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from matomo_client._core.paging import Cursor, advance
from matomo_client._core.params import Params
from matomo_client._core.periods import DateRange, Limit, Period, PeriodUnit, site_tz
from matomo_client._core.series import series_plan
from matomo_client.endpoints import (
    BulkResult,
    GetBulkRequest,
    GetMatomoVersion,
    GetReportMetadata,
    LastVisitsDetails,
    LivePage,
    Report,
    SiteFromId,
    SitesWithViewAccess,
    VisitsSummaryGet,
    VisitsSummarySeries,
)
from matomo_client.endpoints._base import validate as _validate
from matomo_client.endpoints.api import bulk_entry
from matomo_client.errors import DecodeError

if TYPE_CHECKING:
    from matomo_client._async.client import AsyncMatomo
    from matomo_client.models import (
        ActionRow,
        ReferrerRow,
        ReportMetadata,
        ReportRow,
        Site,
        Visit,
        VisitsSummary,
    )

__all__ = [
    "AsyncActionsModule",
    "AsyncApiModule",
    "AsyncLiveModule",
    "AsyncReferrersModule",
    "AsyncSitesModule",
    "AsyncVisitsSummaryModule",
]

# The models (and pydantic) load on the first typed call, not with the client: an export, which
# reads raw pages, never needs them, and starts about 0.2 s sooner.
RowT = TypeVar("RowT", bound="ReportRow")

# Rows per request when reading a whole report: large reports are paged under the hood.
REPORT_PAGE = 10_000
# A bulk POST holds at most this many sub-requests and bytes (PHP max_input_vars, post_max_size).
BULK_MAX_ITEMS = 100
BULK_MAX_BYTES = 512 * 1024


class _Module:
    def __init__(self, client: AsyncMatomo) -> None:
        self._client = client

    async def _report(self, endpoint: Report[RowT]) -> list[RowT]:
        """Every row of a report, reading `REPORT_PAGE` rows a request until a short page."""
        rows: list[RowT] = []
        offset = 0
        previous: list[RowT] | None = None
        while True:
            page_endpoint: Report[RowT] = Report(
                endpoint.method,
                endpoint.id_site,
                endpoint.period,
                endpoint.row_model,
                endpoint.segment,
                endpoint.flat,
                REPORT_PAGE,
                offset,
                endpoint.id_subtable,
                endpoint.extra,
            )
            page = await self._client.execute(page_endpoint)
            if page == previous:
                # Report rows have distinct labels, so a real next page never repeats the last
                # one; a server or proxy that ignores filter_offset would be paged forever.
                raise DecodeError(
                    endpoint.method,
                    f"the rows at filter_offset={offset} repeat the page before them: "
                    "the server ignores filter_offset",
                )
            rows.extend(page)
            if len(page) < REPORT_PAGE:
                return rows
            offset += len(page)
            previous = page


class AsyncApiModule(_Module):
    """The `API` module: version, report metadata, bulk requests."""

    async def version(self) -> str:
        """The Matomo version (API.getMatomoVersion), e.g. "5.11.2"."""
        known = await self._client.preflight()  # preflight already asked, unless skipped
        return known if known is not None else await self._client.execute(GetMatomoVersion())

    async def report_metadata(
        self, id_site: int, period: Period | None = None
    ) -> list[ReportMetadata]:
        """Every report the site exposes (API.getReportMetadata), never cut at 100."""
        return await self._client.execute(GetReportMetadata(id_site, period))

    async def bulk(self, items: Sequence[tuple[str, Params]]) -> list[BulkResult]:
        """Many calls in few round trips (API.getBulkRequest); failures are reported per item.

        Items are sent in the POST body and split into batches by count and size.
        """
        results: list[BulkResult] = []
        for batch in _bulk_batches(items):
            answers: list[BulkResult] = await self._client.execute(GetBulkRequest(tuple(batch)))
            results.extend(answers)
        return results


def _bulk_batches(items: Sequence[tuple[str, Params]]) -> list[list[tuple[str, Params]]]:
    batches: list[list[tuple[str, Params]]] = [[]]
    size = 0
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"bulk items are (method, Params) pairs, got {item!r:.60}")
        method, params = item
        if not isinstance(params, Params):  # checked before it is rendered to count its size
            raise ValueError(f"bulk item for {method} needs Params, got {type(params).__name__}")
        cost = len(bulk_entry(method, params)) + 16
        if batches[-1] and (len(batches[-1]) >= BULK_MAX_ITEMS or size + cost > BULK_MAX_BYTES):
            batches.append([])
            size = 0
        batches[-1].append((method, params))
        size += cost
    return batches if batches[0] else []


class AsyncVisitsSummaryModule(_Module):
    """The `VisitsSummary` module."""

    async def get(self, id_site: int, period: Period, segment: str | None = None) -> VisitsSummary:
        """Visits, actions, bounce rate... for one site and period (VisitsSummary.get)."""
        return await self._client.execute(VisitsSummaryGet(id_site, period, segment))

    async def series(
        self, id_site: int, unit: PeriodUnit, date_range: DateRange, segment: str | None = None
    ) -> dict[dt.date, VisitsSummary]:
        """One summary per day/week/month/year of `date_range`, in date order; empties zeroed.

        One request, unless the series is longer than Matomo's cap of 1825 days, 520 weeks,
        120 months or 10 years per request: then several, so that no period is left out.
        """
        VisitsSummarySeries(id_site, unit, date_range, segment)  # bad arguments: before a request
        plan = series_plan(unit, date_range)
        summaries: dict[dt.date, VisitsSummary] = {}
        dates = next(plan)
        while True:
            endpoint = VisitsSummarySeries(id_site, unit, dates, segment)
            part = await self._client.execute(endpoint)
            summaries.update(part)
            try:
                dates = plan.send(part.keys())
            except StopIteration:
                return dict(sorted(summaries.items()))


class _ReportModule(_Module, Generic[RowT]):
    _row = "ReportRow"  # the row model's name in `matomo_client.models`
    _prefix = ""
    # Reports whose subtables another method loads (`actionToLoadSubTables`).
    _subtable_actions: ClassVar[Mapping[str, str]] = {}

    async def _rows(
        self, action: str, id_site: int, period: Period, segment: str | None, flat: bool, **kw: Any
    ) -> list[RowT]:
        from matomo_client import models

        row = cast("type[RowT]", getattr(models, self._row))
        endpoint: Report[RowT] = Report(
            f"{self._prefix}.{action}", id_site, period, row, segment, flat, **kw
        )
        return await self._report(endpoint)

    async def subtable(
        self,
        action: str,
        id_site: int,
        period: Period,
        id_subtable: int,
        segment: str | None = None,
    ) -> list[RowT]:
        """The rows under one hierarchical row (`row.id_subtable`) of report `action`."""
        loader = self._subtable_actions.get(action, action)
        return await self._rows(loader, id_site, period, segment, False, id_subtable=id_subtable)


class AsyncActionsModule(_ReportModule["ActionRow"]):
    """The `Actions` module: page URLs and titles, downloads, outlinks."""

    _row = "ActionRow"
    _prefix = "Actions"

    async def page_urls(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = True
    ) -> list[ActionRow]:
        """Page URLs (Actions.getPageUrls); `flat=False` gives folders with `id_subtable`."""
        return await self._rows("getPageUrls", id_site, period, segment, flat)

    async def page_titles(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = True
    ) -> list[ActionRow]:
        """Page titles (Actions.getPageTitles)."""
        return await self._rows("getPageTitles", id_site, period, segment, flat)

    async def downloads(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = True
    ) -> list[ActionRow]:
        """Downloads (Actions.getDownloads), grouped by domain unless flat."""
        return await self._rows("getDownloads", id_site, period, segment, flat)

    async def outlinks(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = True
    ) -> list[ActionRow]:
        """Outlinks (Actions.getOutlinks), grouped by domain unless flat."""
        return await self._rows("getOutlinks", id_site, period, segment, flat)


class AsyncReferrersModule(_ReportModule["ReferrerRow"]):
    """The `Referrers` module."""

    _row = "ReferrerRow"
    _prefix = "Referrers"
    # Matomo ignores idSubtable on these and answers their top level again (recorded 100);
    # their subtables come from the method API.getReportMetadata names (recorded 099, 103).
    _subtable_actions: ClassVar[Mapping[str, str]] = {
        "getKeywords": "getSearchEnginesFromKeywordId",
        "getSearchEngines": "getKeywordsFromSearchEngineId",
        "getWebsites": "getUrlsFromWebsiteId",
        "getSocials": "getUrlsForSocial",
        "getCampaigns": "getKeywordsFromCampaignId",
        "getAIAssistants": "getEntryPageUrlsForAIAssistant",
    }

    async def referrer_type(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = False
    ) -> list[ReferrerRow]:
        """Visits by channel type (Referrers.getReferrerType)."""
        return await self._rows("getReferrerType", id_site, period, segment, flat)

    async def all(
        self, id_site: int, period: Period, segment: str | None = None
    ) -> list[ReferrerRow]:
        """Every referrer of every type (Referrers.getAll)."""
        return await self._rows("getAll", id_site, period, segment, False)

    async def websites(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = True
    ) -> list[ReferrerRow]:
        """Referring websites (Referrers.getWebsites)."""
        return await self._rows("getWebsites", id_site, period, segment, flat)

    async def search_engines(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = True
    ) -> list[ReferrerRow]:
        """Search engines (Referrers.getSearchEngines)."""
        return await self._rows("getSearchEngines", id_site, period, segment, flat)

    async def keywords(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = True
    ) -> list[ReferrerRow]:
        """Search keywords (Referrers.getKeywords)."""
        return await self._rows("getKeywords", id_site, period, segment, flat)

    async def campaigns(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = True
    ) -> list[ReferrerRow]:
        """Campaigns (Referrers.getCampaigns)."""
        return await self._rows("getCampaigns", id_site, period, segment, flat)

    async def socials(
        self, id_site: int, period: Period, segment: str | None = None, flat: bool = True
    ) -> list[ReferrerRow]:
        """Social networks (Referrers.getSocials)."""
        return await self._rows("getSocials", id_site, period, segment, flat)


def _may_be_today(period: Period) -> bool:
    """Whether a period's date may be today in some timezone (UTC-12 to UTC+14)."""
    if period.unit == "range" or not isinstance(period.date, dt.date):
        return False
    utc_today = dt.datetime.now(dt.timezone.utc).date()
    return abs((period.date - utc_today).days) <= 1


class AsyncLiveModule(_Module):
    """The `Live` module: raw visits with their actions."""

    def __init__(self, client: AsyncMatomo) -> None:
        super().__init__(client)
        self._zones: dict[int, dt.tzinfo] = {}  # each site's timezone, for pinning cursors

    async def _pinned(self, cursor: Cursor) -> Cursor:
        """`cursor` with its period's today/yesterday made dates in the site's timezone.

        A day, week, month or year named by today's date also gets its own first midnight as
        `minTimestamp`: Matomo reads such a date from yesterday's midnight (matomo#22543), which
        would page visits of the day before the period.
        """
        zone = self._zones.get(cursor.id_site)
        if zone is None:
            site = await self._client.sites.get(cursor.id_site)
            zone = self._zones[cursor.id_site] = site_tz(site.timezone)
        today = dt.datetime.now(zone).date()
        period = cursor.period.pinned(today)
        after = cursor.min_timestamp
        first = period.first_day()
        if after is None and period.unit != "range" and period.date == today and first:
            after = int(dt.datetime.combine(first, dt.time(), zone).timestamp()) - 1
        return dataclasses.replace(cursor, period=period, min_timestamp=after)

    async def last_visits(
        self,
        id_site: int,
        period: Period,
        limit: Limit | int,
        offset: int = 0,
        segment: str | None = None,
    ) -> list[Visit]:
        """One page as Matomo serves it (newest first, offset paging); exports use `stream`."""
        n = limit.n if isinstance(limit, Limit) else Limit(limit).n
        return await self._client.execute(LastVisitsDetails(id_site, period, n, offset, segment))

    async def next_page_raw(self, cursor: Cursor) -> tuple[list[dict[str, Any]], Cursor | None]:
        """The next page of raw visit dicts (as Matomo sent them) and the following cursor.

        A cursor whose period names today or yesterday (`Date.YESTERDAY`, `last7` ...) is first
        pinned to calendar dates in the site's timezone (one SitesManager request a site per
        client), so that a cursor saved with `to_json` and resumed after midnight goes on
        paging the same days. A first page of a period holding today (`Date.TODAY` or today's
        date) starts at the period's own first midnight, not at Matomo's (yesterday's).
        """
        if not isinstance(cursor, Cursor):
            raise ValueError(
                f"next_page takes a Cursor, got {cursor!r:.60}: a None cursor means that the "
                "paging is over (`while cursor: visits, cursor = await m.live.next_page(cursor)`)"
            )
        if cursor.period.is_relative or (
            cursor.min_timestamp is None and _may_be_today(cursor.period)
        ):
            cursor = await self._pinned(cursor)
        page = await self._client.execute(LivePage(cursor.params()))
        try:
            fresh, following = advance(cursor, page)
        except ValueError as exc:  # a visit without a usable lastActionTimestamp or idVisit
            raise DecodeError(LivePage.method, str(exc)) from None
        return fresh, following  # the decoded dicts themselves: no copy on the hot path

    async def next_page(self, cursor: Cursor) -> tuple[list[Visit], Cursor | None]:
        """The next page of visits and the following cursor (None: a page brought nothing new)."""
        from matomo_client.models import Visit

        raw, following = await self.next_page_raw(cursor)
        visits: list[Visit] = _validate(LivePage.method, list[Visit], raw)
        return visits, following

    async def stream_raw(
        self,
        id_site: int,
        period: Period,
        page_size: Limit | int = 1000,
        segment: str | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Every visit of the period as a raw dict, oldest first, each exactly once."""
        limit = page_size if isinstance(page_size, Limit) else Limit(page_size)
        cursor: Cursor | None = Cursor(id_site, period, limit, segment)
        yielded: set[int] = set()  # visits that grow during paging come again: keep the first
        while cursor is not None:
            page, cursor = await self.next_page_raw(cursor)
            for visit in page:
                vid = int(visit["idVisit"])
                if vid not in yielded:
                    yielded.add(vid)
                    yield visit

    async def stream(
        self,
        id_site: int,
        period: Period,
        page_size: Limit | int = 1000,
        segment: str | None = None,
    ) -> AsyncGenerator[Visit, None]:
        """Every visit of the period, oldest first, each once; ends on a page with nothing new."""
        from matomo_client.models import Visit

        # Closed with this generator (a `break`), not left to the garbage collector (trio warns).
        raws = self.stream_raw(id_site, period, page_size, segment)
        async with contextlib.aclosing(raws):
            async for raw in raws:
                yield _validate(LivePage.method, Visit, raw)


class AsyncSitesModule(_Module):
    """The `SitesManager` module."""

    async def list(self) -> builtins.list[Site]:
        """Every site the token can view, ascending by id (never cut at 100)."""
        return await self._client.execute(SitesWithViewAccess())

    async def get(self, id_site: int) -> Site:
        """One site by id."""
        return await self._client.execute(SiteFromId(id_site))
