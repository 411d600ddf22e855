"""Endpoints of VisitsSummary and of every DataTable report (Actions, Referrers...)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from matomo_client._core.params import Params, SiteSelector, site_param
from matomo_client._core.periods import DateRange, Period, PeriodUnit
from matomo_client._core.series import check_unit
from matomo_client._core.url import check_method
from matomo_client.endpoints._base import ALL_ROWS, Endpoint, validate
from matomo_client.errors import DecodeError

if TYPE_CHECKING:
    from matomo_client.models import ReportRow, VisitsSummary

# --- VisitsSummary ---------------------------------------------------------------------------

RowT = TypeVar("RowT", bound="ReportRow")

# Matomo's default `format_metrics=bc` writes rates in the token user's language ("18,42 %",
# "%65", "65٪"): `0` sends them as the fractions Matomo computed (0.1842), in every language.
_RAW_METRICS = ("format_metrics", 0)


def _check_one_site(id_site: SiteSelector, method: str = "VisitsSummary.get") -> None:
    """Refuse `"all"` and lists: Matomo answers them with an object keyed by site id."""
    if not site_param(id_site).isdigit():
        module = method.split(".")[0]
        raise ValueError(
            f"{module} takes one site id, not {id_site!r}: for several sites or 'all', "
            f'use call("{method}", Params().id_site(...).period(...)), '
            "which returns Matomo's answer keyed by site id"
        )


@dataclass(frozen=True, repr=False)
class VisitsSummaryGet(Endpoint["VisitsSummary"]):
    """VisitsSummary.get for one site and one period."""

    id_site: int
    period: Period
    segment: str | None = None
    method = "VisitsSummary.get"

    def __post_init__(self) -> None:
        _check_one_site(self.id_site)

    def params(self) -> Params:
        """idSite, period, date, segment, format_metrics=0."""
        p = Params().id_site(self.id_site).period(self.period).segment(self.segment)
        return p.set(*_RAW_METRICS)

    def decode(self, data: Any) -> VisitsSummary:
        """An object of metrics; `[]` (no data) becomes a zeroed summary."""
        from matomo_client.models import VisitsSummary

        return validate(self.method, VisitsSummary, data)


@dataclass(frozen=True, repr=False)
class VisitsSummarySeries(Endpoint["dict[dt.date, VisitsSummary]"]):
    """VisitsSummary.get over many periods in one request (`period=day&date=A,B`)."""

    id_site: int
    unit: PeriodUnit
    date_range: DateRange
    segment: str | None = None
    method = "VisitsSummary.get"

    def __post_init__(self) -> None:
        _check_one_site(self.id_site)
        check_unit(self.unit)
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
            .set(*_RAW_METRICS)
        )

    def decode(self, data: Any) -> dict[dt.date, VisitsSummary]:
        """Keyed by each period's first day; empty periods (`[]`) are zeroed summaries."""
        from matomo_client.models import VisitsSummary, period_start

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
        _check_one_site(self.id_site, self.method)
        if self.limit != ALL_ROWS and self.limit < 1:
            raise ValueError(f"report limit must be >= 1 or -1 (all rows), got {self.limit}")

    def params(self) -> Params:
        """idSite, period, date, segment, flat, filter_limit/offset, format_metrics, idSubtable."""
        p = Params().id_site(self.id_site).period(self.period).segment(self.segment)
        p = p.set("filter_limit", self.limit).set(*_RAW_METRICS)
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
