"""Endpoints of the Live module: raw visits, offset pages and keyset pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from matomo_client._core.decode import read_json
from matomo_client._core.http import Response
from matomo_client._core.params import Params
from matomo_client._core.periods import Limit, Period
from matomo_client.endpoints._base import Endpoint, validate
from matomo_client.errors import DecodeError

if TYPE_CHECKING:
    from matomo_client.models import Visit

# --- Live ------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class LastVisitsDetails(Endpoint["list[Visit]"]):
    """Live.getLastVisitsDetails as Matomo pages it: newest first, offset paging."""

    id_site: int
    period: Period
    limit: Limit | int  # `Params.limit` takes either
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
        from matomo_client.models import Visit

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


@dataclass(frozen=True, repr=False)
class LivePageBody(Endpoint[bytes]):
    """A keyset page like `LivePage`, left undecoded: the export decodes it where it builds rows.

    Only a body that looks like a whole JSON list is returned as is; any other answer is read
    as `LivePage` reads it, so Matomo's errors, error pages and cut-off bodies raise (and are
    retried) exactly as there. A list cut off right after an inner `]` still passes this check;
    the caller then fails to decode it and reads the page again with `LivePage`.
    """

    params_: Params
    method = "Live.getLastVisitsDetails"

    def params(self) -> Params:
        """The cursor's parameters."""
        return self.params_

    def read(self, response: Response, secrets: Sequence[str] = ()) -> bytes:
        """The body when it looks like a whole list of visits, else what `LivePage` raises."""
        body = response.body
        if 200 <= response.status < 300:
            head, tail = body[:16].lstrip(), body[-16:].rstrip()
            if head[:1] == b"[" and tail[-1:] == b"]":
                return body
        read_json(self.method, response, secrets)  # raises for anything but valid JSON
        return body

    def decode(self, data: Any) -> bytes:  # pragma: no cover - read() is overridden
        """Unused: the body is not decoded here."""
        raise NotImplementedError
