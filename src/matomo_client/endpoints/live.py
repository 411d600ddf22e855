"""Endpoints of the Live module: raw visits, offset pages and keyset pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matomo_client._core.params import Params
from matomo_client._core.periods import Period
from matomo_client.endpoints._base import Endpoint, validate
from matomo_client.errors import DecodeError
from matomo_client.models import Visit

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
