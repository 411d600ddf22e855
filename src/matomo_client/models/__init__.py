"""Pydantic v2 models of what Matomo's Reporting API returns.

One module per Matomo module: `visits` (``Live``), `summary` (``VisitsSummary``), `reports`
(DataTable report rows), `sites` (``SitesManager``), `metadata` (``API.getReportMetadata``).
All share `MatomoModel` (snake_case attributes aliased to Matomo's keys, unknown fields kept,
presentation fields dropped, `MatomoModel.to_record` for the exporter) and the loose-JSON
types of `matomo_client.models._coerce`, re-exported here for users' own models.
"""

from matomo_client.models._base import MatomoModel, is_presentation_field, snake_case
from matomo_client.models._coerce import (
    Fraction,
    FractionOrNone,
    LooseBool,
    LooseBoolOrNone,
    LooseDict,
    LooseFloat,
    LooseFloatOrNone,
    LooseInt,
    LooseIntOrNone,
    LooseList,
    LooseStr,
    LooseStrOrNone,
    Seconds,
    SecondsOrNone,
    UtcDateTime,
    UtcDateTimeOrNone,
)
from matomo_client.models.metadata import ReportMetadata
from matomo_client.models.reports import ActionRow, ReferrerRow, ReportRow
from matomo_client.models.sites import Site
from matomo_client.models.summary import PeriodStart, VisitsSummary, period_start
from matomo_client.models.visits import Action, EcommerceItem, Visit

__all__ = [
    "Action",
    "ActionRow",
    "EcommerceItem",
    "Fraction",
    "FractionOrNone",
    "LooseBool",
    "LooseBoolOrNone",
    "LooseDict",
    "LooseFloat",
    "LooseFloatOrNone",
    "LooseInt",
    "LooseIntOrNone",
    "LooseList",
    "LooseStr",
    "LooseStrOrNone",
    "MatomoModel",
    "PeriodStart",
    "ReferrerRow",
    "ReportMetadata",
    "ReportRow",
    "Seconds",
    "SecondsOrNone",
    "Site",
    "UtcDateTime",
    "UtcDateTimeOrNone",
    "Visit",
    "VisitsSummary",
    "is_presentation_field",
    "period_start",
    "snake_case",
]
