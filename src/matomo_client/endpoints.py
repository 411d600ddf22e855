"""Endpoint values: a Matomo method, its parameters and result type, runnable on any transport.

Every typed method of the clients is backed by one of these, so a user with their own transport
can run a call without a client::

    version = await endpoints.GetMatomoVersion().execute(my_transport, auth=Auth.token(t))
    version = endpoints.GetMatomoVersion().execute_sync(my_sync_transport, auth=Auth.token(t))

An endpoint builds its `Request` (`request(auth)`), and reads a `Response` (`read(response)`);
`flow(...)` wraps both in the pure retrying call flow that the drivers run.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote, urlencode

from pydantic import TypeAdapter, ValidationError

from matomo_client._core.auth import Auth
from matomo_client._core.decode import api_error_from_value, read_json, read_raw
from matomo_client._core.flow import Outcome, Step, call_flow
from matomo_client._core.http import Request, Response
from matomo_client._core.params import Params
from matomo_client._core.periods import DateRange, Period
from matomo_client._core.retry import RetryPolicy
from matomo_client._core.url import build_request, check_method
from matomo_client.errors import ApiError, DecodeError
from matomo_client.models import (
    ActionRow,
    ReferrerRow,
    ReportMetadata,
    ReportRow,
    Site,
    Visit,
    VisitsSummary,
    period_start,
)

if TYPE_CHECKING:
    from matomo_client.transports.base import AsyncTransport, SyncTransport

__all__ = [
    "BulkResult",
    "Call",
    "CallRaw",
    "CallTyped",
    "Endpoint",
    "GetBulkRequest",
    "GetMatomoVersion",
    "GetReportMetadata",
    "LastVisitsDetails",
    "LivePage",
    "Report",
    "SiteFromId",
    "SitesWithViewAccess",
    "VisitsSummaryGet",
    "VisitsSummarySeries",
]

T = TypeVar("T")
RowT = TypeVar("RowT", bound=ReportRow)

# Matomo cuts lists at 100 rows unless told otherwise (matomo-api-notes.md §2): "all rows".
ALL_ROWS = -1


@cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def validate(method: str, tp: type[T], data: Any) -> T:
    """Validate decoded JSON into `tp`, turning pydantic's error into our DecodeError."""
    try:
        adapter: TypeAdapter[T] = _adapter(tp)  # type: ignore[arg-type]
        return adapter.validate_python(data)
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else "body"
        first_msg = errors[0]["msg"] if errors else str(exc)
        raise DecodeError(
            method,
            f"{exc.error_count()} invalid field(s); first at {where}: {first_msg}",
        ) from None


class Endpoint(Generic[T]):
    """One Matomo method with its parameters; `execute` runs it on a transport."""

    method: str

    def params(self) -> Params:
        """The request parameters (never the token)."""
        raise NotImplementedError

    def decode(self, data: Any) -> T:
        """Turn the decoded JSON body into the result type."""
        raise NotImplementedError

    def extra_form(self) -> Sequence[tuple[str, str]]:
        """Form fields that are not `Params` (bulk sub-requests)."""
        return ()

    def request(self, auth: Auth) -> Request:
        """The HTTP request for this call."""
        return build_request(self.method, self.params(), auth, extra_form=self.extra_form())

    def read(self, response: Response, secrets: Sequence[str] = ()) -> T:
        """Read a response: raise the right MatomoError, or return the result."""
        return self.decode(read_json(self.method, response, secrets))

    def flow(
        self, auth: Auth, policy: RetryPolicy, rand: Callable[[], float]
    ) -> Generator[Step, Outcome, T]:
        """The pure, retrying call flow that a driver runs."""
        secrets = auth.secrets
        return call_flow(self.request(auth), lambda r: self.read(r, secrets), policy, rand)

    async def execute(
        self,
        transport: AsyncTransport,
        *,
        auth: Auth | None = None,
        retry: RetryPolicy | None = None,
    ) -> T:
        """Run this call on an async transport, with retries."""
        from matomo_client._async.driver import run_flow

        flow = self.flow(auth or Auth.anonymous(), retry or RetryPolicy(), random.random)
        return await run_flow(flow, transport)

    def execute_sync(
        self,
        transport: SyncTransport,
        *,
        auth: Auth | None = None,
        retry: RetryPolicy | None = None,
    ) -> T:
        """Run this call on a blocking transport, with retries."""
        from matomo_client._sync.driver import run_flow

        flow = self.flow(auth or Auth.anonymous(), retry or RetryPolicy(), random.random)
        return run_flow(flow, transport)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.method}, {self.params()!r})"


# --- API -------------------------------------------------------------------------------------


class GetMatomoVersion(Endpoint[str]):
    """API.getMatomoVersion → the version string, e.g. "5.11.2"."""

    method = "API.getMatomoVersion"

    def params(self) -> Params:
        """No parameters."""
        return Params()

    def decode(self, data: Any) -> str:
        """`{"value": "5.11.2"}` → "5.11.2"."""
        if isinstance(data, dict) and isinstance(data.get("value"), str):
            return str(data["value"])
        raise DecodeError(self.method, 'expected {"value": "<version>"}')


@dataclass(frozen=True, repr=False)
class GetReportMetadata(Endpoint[list[ReportMetadata]]):
    """API.getReportMetadata for a site (every report, never cut at 100)."""

    id_site: int
    period: Period | None = None
    method = "API.getReportMetadata"

    def params(self) -> Params:
        """idSite, optional period/date, filter_limit=-1."""
        p = Params().id_site(self.id_site).set("filter_limit", ALL_ROWS)
        return p.period(self.period) if self.period else p

    def decode(self, data: Any) -> list[ReportMetadata]:
        """A list of report descriptions."""
        return validate(self.method, list[ReportMetadata], data)


@dataclass(frozen=True, slots=True)
class BulkResult:
    """One answer of a bulk request: `.ok`, `.value` (decoded JSON), `.error` (ApiError or None)."""

    value: Any
    error: ApiError | None = None

    @property
    def ok(self) -> bool:
        """Whether this sub-request succeeded."""
        return self.error is None


def bulk_entry(method: str, params: Params) -> str:
    """The query string of one bulk sub-request."""
    check_method(method)
    return urlencode([("method", method), *params.items()], quote_via=quote)


@dataclass(frozen=True, repr=False)
class GetBulkRequest(Endpoint[list[BulkResult]]):
    """API.getBulkRequest: many calls in one POST; failures come back per item."""

    items: tuple[tuple[str, Params], ...]
    method = "API.getBulkRequest"

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError("a bulk request needs at least one (method, Params) item")
        for method, params in self.items:
            if check_method(method) == self.method:
                raise ValueError("API.getBulkRequest cannot be nested: Matomo drops such items")
            if not isinstance(params, Params):
                raise ValueError(
                    f"bulk item for {method} needs Params, got {type(params).__name__}"
                )

    def params(self) -> Params:
        """The outer list must not be cut at 100 items."""
        return Params().set("filter_limit", ALL_ROWS)

    def extra_form(self) -> Sequence[tuple[str, str]]:
        """`urls[i]` for each sub-request, in the POST body (URLs have length limits)."""
        return [(f"urls[{i}]", bulk_entry(m, p)) for i, (m, p) in enumerate(self.items)]

    def read(self, response: Response, secrets: Sequence[str] = ()) -> list[BulkResult]:
        """Like any call, but item errors are scrubbed of secrets too."""
        return self._results(read_json(self.method, response, secrets), secrets)

    def decode(self, data: Any) -> list[BulkResult]:
        """One BulkResult per item, in order."""
        return self._results(data, ())

    def _results(self, data: Any, secrets: Sequence[str]) -> list[BulkResult]:
        if not isinstance(data, list) or len(data) != len(self.items):
            got = len(data) if isinstance(data, list) else type(data).__name__
            raise DecodeError(
                self.method, f"expected a list of {len(self.items)} answers, got {got}"
            )
        out = []
        for (method, _), value in zip(self.items, data, strict=True):
            err = api_error_from_value(method, value, secrets=secrets)
            out.append(BulkResult(None if err else value, err))
        return out


# --- VisitsSummary ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class VisitsSummaryGet(Endpoint[VisitsSummary]):
    """VisitsSummary.get for one site and one period."""

    id_site: int
    period: Period
    segment: str | None = None
    method = "VisitsSummary.get"

    def params(self) -> Params:
        """idSite, period, date, segment."""
        return Params().id_site(self.id_site).period(self.period).segment(self.segment)

    def decode(self, data: Any) -> VisitsSummary:
        """An object of metrics; `[]` (no data) becomes a zeroed summary."""
        return validate(self.method, VisitsSummary, data)


@dataclass(frozen=True, repr=False)
class VisitsSummarySeries(Endpoint[dict[dt.date, VisitsSummary]]):
    """VisitsSummary.get over many periods in one request (`period=day&date=A,B`)."""

    id_site: int
    unit: str
    date_range: DateRange
    segment: str | None = None
    method = "VisitsSummary.get"

    def __post_init__(self) -> None:
        if self.unit not in ("day", "week", "month", "year"):
            raise ValueError(f"series unit must be day, week, month or year, not {self.unit!r}")
        if not isinstance(self.date_range, DateRange):
            raise ValueError("series takes a DateRange, e.g. DateRange.last(30)")

    def params(self) -> Params:
        """idSite, period=unit, date=range (Matomo answers a Map keyed by period)."""
        return (
            Params()
            .id_site(self.id_site)
            .set("period", self.unit)
            .set("date", self.date_range.to_param())
            .segment(self.segment)
        )

    def decode(self, data: Any) -> dict[dt.date, VisitsSummary]:
        """Keyed by each period's first day; empty periods (`[]`) are zeroed summaries."""
        if isinstance(data, list) and not data:
            return {}
        if not isinstance(data, dict):
            raise DecodeError(
                self.method, f"expected an object keyed by period, got {type(data).__name__}"
            )
        out: dict[dt.date, VisitsSummary] = {}
        for key, value in data.items():
            try:
                day = period_start(key)
            except ValueError as exc:
                raise DecodeError(self.method, str(exc)) from None
            out[day] = validate(self.method, VisitsSummary, value)
        return out


# --- Reports (Actions, Referrers, any DataTable report) --------------------------------------


@dataclass(frozen=True, repr=False)
class Report(Endpoint[list[RowT]]):
    """Any DataTable report (`Actions.getPageUrls`, `Referrers.getAll`...) as a list of rows.

    `filter_limit` is always sent: Matomo silently cuts reports at 100 rows otherwise.
    """

    method: str
    id_site: int
    period: Period
    row_model: type[RowT]
    segment: str | None = None
    flat: bool = True
    limit: int = ALL_ROWS
    offset: int = 0
    id_subtable: int | None = None
    extra: Params = field(default_factory=Params)

    def __post_init__(self) -> None:
        check_method(self.method)
        if self.limit != ALL_ROWS and self.limit < 1:
            raise ValueError(f"report limit must be >= 1 or -1 (all rows), got {self.limit}")

    def params(self) -> Params:
        """idSite, period, date, segment, flat, filter_limit/offset, idSubtable."""
        p = Params().id_site(self.id_site).period(self.period).segment(self.segment)
        p = p.set("filter_limit", self.limit)
        if self.offset:
            p = p.offset(self.offset)
        if self.flat:
            p = p.set("flat", 1)
        if self.id_subtable is not None:
            p = p.set("idSubtable", self.id_subtable)
        for key, value in self.extra.items():
            p = p.set(key, value)
        return p

    def decode(self, data: Any) -> list[RowT]:
        """A list of rows (`{}` from an empty Simple table reads as no rows)."""
        if isinstance(data, dict) and not data:
            return []
        return validate(self.method, list[self.row_model], data)  # type: ignore[name-defined]


def actions_report(method: str, id_site: int, period: Period, **kw: Any) -> Report[ActionRow]:
    """A `Report` of Actions rows."""
    return Report(method, id_site, period, ActionRow, **kw)


def referrers_report(method: str, id_site: int, period: Period, **kw: Any) -> Report[ReferrerRow]:
    """A `Report` of Referrers rows."""
    return Report(method, id_site, period, ReferrerRow, **kw)


# --- Live ------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class LastVisitsDetails(Endpoint[list[Visit]]):
    """Live.getLastVisitsDetails as Matomo pages it: newest first, offset paging."""

    id_site: int
    period: Period
    limit: int
    offset: int = 0
    segment: str | None = None
    method = "Live.getLastVisitsDetails"

    def params(self) -> Params:
        """idSite, period, date, filter_limit, filter_offset, segment."""
        return (
            Params()
            .id_site(self.id_site)
            .period(self.period)
            .segment(self.segment)
            .limit(self.limit)
            .offset(self.offset)
        )

    def decode(self, data: Any) -> list[Visit]:
        """A list of visits."""
        return validate(self.method, list[Visit], data)


@dataclass(frozen=True, repr=False)
class LivePage(Endpoint[list[dict[str, Any]]]):
    """One keyset page of raw visits for a cursor (see `matomo_client._core.paging`)."""

    params_: Params
    method = "Live.getLastVisitsDetails"

    def params(self) -> Params:
        """The cursor's parameters."""
        return self.params_

    def decode(self, data: Any) -> list[dict[str, Any]]:
        """The raw visit objects, untouched."""
        if isinstance(data, dict) and not data:
            return []
        if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
            raise DecodeError(self.method, f"expected a list of visits, got {type(data).__name__}")
        return data


# --- SitesManager ----------------------------------------------------------------------------


class SitesWithViewAccess(Endpoint[list[Site]]):
    """SitesManager.getSitesWithAtLeastViewAccess, never cut at 100 sites."""

    method = "SitesManager.getSitesWithAtLeastViewAccess"

    def params(self) -> Params:
        """filter_limit=-1."""
        return Params().set("filter_limit", ALL_ROWS)

    def decode(self, data: Any) -> list[Site]:
        """Sites, ascending by id."""
        return validate(self.method, list[Site], data)


@dataclass(frozen=True, repr=False)
class SiteFromId(Endpoint[Site]):
    """SitesManager.getSiteFromId."""

    id_site: int
    method = "SitesManager.getSiteFromId"

    def params(self) -> Params:
        """idSite."""
        return Params().id_site(self.id_site)

    def decode(self, data: Any) -> Site:
        """One site."""
        return validate(self.method, Site, data)


# --- The escape hatch ------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Call(Endpoint[Any]):
    """Any Matomo method; the decoded JSON as it came."""

    method: str
    params_: Params = field(default_factory=Params)

    def __post_init__(self) -> None:
        check_method(self.method)

    def params(self) -> Params:
        """The caller's parameters."""
        return self.params_

    def decode(self, data: Any) -> Any:
        """Unchanged."""
        return data


@dataclass(frozen=True, repr=False)
class CallTyped(Endpoint[T]):
    """Any Matomo method, validated into any pydantic model or type."""

    method: str
    params_: Params
    result_type: Any

    def __post_init__(self) -> None:
        check_method(self.method)

    def params(self) -> Params:
        """The caller's parameters."""
        return self.params_

    def decode(self, data: Any) -> T:
        """Validated with pydantic; a mismatch raises DecodeError."""
        result: T = validate(self.method, self.result_type, data)
        return result


@dataclass(frozen=True, repr=False)
class CallRaw(Endpoint[bytes]):
    """Any Matomo method; the body bytes untouched (errors still raise)."""

    method: str
    params_: Params = field(default_factory=Params)
    fmt: str = "JSON"

    def __post_init__(self) -> None:
        check_method(self.method)

    def params(self) -> Params:
        """The caller's parameters."""
        return self.params_

    def request(self, auth: Auth) -> Request:
        """Like any call, with the chosen `format`."""
        return build_request(self.method, self.params(), auth, fmt=self.fmt)

    def read(self, response: Response, secrets: Sequence[str] = ()) -> bytes:
        """The body, unless it is an error."""
        return read_raw(self.method, response, secrets)

    def decode(self, data: Any) -> bytes:  # pragma: no cover - read() is overridden
        """Unused: raw calls are not decoded."""
        raise NotImplementedError
