"""Endpoints of the API and SitesManager modules: version, report metadata, bulk, sites."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from matomo_client._core.decode import api_error_from_value, read_json
from matomo_client._core.http import Response
from matomo_client._core.params import Params
from matomo_client._core.periods import Period
from matomo_client._core.url import check_method
from matomo_client.endpoints._base import ALL_ROWS, Endpoint, validate
from matomo_client.errors import ApiError, DecodeError

if TYPE_CHECKING:
    from matomo_client.models import ReportMetadata, Site

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
class GetReportMetadata(Endpoint["list[ReportMetadata]"]):
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
        from matomo_client.models import ReportMetadata

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
        """The outer list must not be cut at 100 items. Items that all ask about one site name
        it on the outer request too: Matomo offers a site's custom dimension segments
        (`dimension1==...`) only when the HTTP request itself names that site."""
        outer = Params().set("filter_limit", ALL_ROWS)
        sites = {p.get("idSite") for _, p in self.items}
        site = sites.pop() if len(sites) == 1 else None
        return outer.set("idSite", site) if site is not None and site.isdigit() else outer

    def extra_form(self) -> Sequence[tuple[str, str]]:
        """`urls[i]` for each sub-request, in the POST body (URLs have length limits).

        Matomo reads a sub-request over the outer request's parameters, so an item without its
        own `filter_limit` would inherit the outer `-1` (every row, every visit): it gets
        Matomo's default of 100, as the same call alone would.
        """
        return [
            (f"urls[{i}]", bulk_entry(m, p if "filter_limit" in p else p.set("filter_limit", 100)))
            for i, (m, p) in enumerate(self.items)
        ]

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


# --- SitesManager ----------------------------------------------------------------------------


class SitesWithViewAccess(Endpoint["list[Site]"]):
    """SitesManager.getSitesWithAtLeastViewAccess, never cut at 100 sites."""

    method = "SitesManager.getSitesWithAtLeastViewAccess"

    def params(self) -> Params:
        """filter_limit=-1."""
        return Params().set("filter_limit", ALL_ROWS)

    def decode(self, data: Any) -> list[Site]:
        """Sites, ascending by id."""
        from matomo_client.models import Site

        return validate(self.method, list[Site], data)


@dataclass(frozen=True, repr=False)
class SiteFromId(Endpoint["Site"]):
    """SitesManager.getSiteFromId."""

    id_site: int
    method = "SitesManager.getSiteFromId"

    def params(self) -> Params:
        """idSite."""
        return Params().id_site(self.id_site)

    def decode(self, data: Any) -> Site:
        """One site."""
        from matomo_client.models import Site

        return validate(self.method, Site, data)
