"""Report descriptions from ``API.getReportMetadata``: `ReportMetadata`.

Each item names a report (``module`` + ``action``, with fixed ``parameters`` for reports such
as ``Goals.get`` per goal), its dimension and its metrics. The metric maps are
``{metric_id: display name}``; Matomo drops empty ones, and sends an empty one as ``[]``.
The exporter uses ``module``, ``action``, ``parameters`` and the metric ids to plan report
exports.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from matomo_client.models._base import MatomoModel
from matomo_client.models._coerce import LooseBoolOrNone, LooseDict, LooseStrOrNone, to_list

__all__ = ["ReportMetadata"]


class ReportMetadata(MatomoModel):
    """One report that a site exposes, as ``API.getReportMetadata`` lists it."""

    category: LooseStrOrNone = None
    """UI category (``Visitors``, ``Actions``...)."""
    subcategory: LooseStrOrNone = None
    """UI subcategory."""
    name: LooseStrOrNone = None
    """Report name (localised)."""
    module: str
    """Matomo module of the report method (``Actions``)."""
    action: str
    """Method within the module (``getPageUrls``); with ``module`` gives ``Actions.getPageUrls``."""
    parameters: LooseDict | None = None
    """Fixed parameters the report needs (``{"idGoal": "1"}``)."""
    dimension: LooseStrOrNone = None
    """Name of the row dimension; ``None`` for reports without rows (``VisitsSummary.get``)."""
    dimensions: LooseDict | None = None
    """Dimensions of multi-dimension reports, ``{id: name}``."""
    documentation: LooseStrOrNone = None
    """Help text (HTML)."""
    metrics: LooseDict = Field(default_factory=dict)
    """Stored metrics, ``{metric_id: display name}``."""
    processed_metrics: LooseDict | None = Field(
        default=None, validation_alias="processedMetrics", serialization_alias="processedMetrics"
    )
    """Metrics computed at request time, ``{metric_id: display name}``."""
    metrics_documentation: LooseDict | None = Field(
        default=None,
        validation_alias="metricsDocumentation",
        serialization_alias="metricsDocumentation",
    )
    """``{metric_id: help text}``."""
    metric_types: LooseDict | None = Field(
        default=None, validation_alias="metricTypes", serialization_alias="metricTypes"
    )
    """``{metric_id: "number" | "money" | "percent" | "duration_s" ...}``."""
    metrics_goal: LooseDict | None = Field(
        default=None, validation_alias="metricsGoal", serialization_alias="metricsGoal"
    )
    """Per-goal metrics, ``{metric_id: display name}``."""
    processed_metrics_goal: LooseDict | None = Field(
        default=None,
        validation_alias="processedMetricsGoal",
        serialization_alias="processedMetricsGoal",
    )
    """Per-goal processed metrics."""
    metric_types_goal: LooseDict | None = Field(
        default=None, validation_alias="metricTypesGoal", serialization_alias="metricTypesGoal"
    )
    """Types of the per-goal metrics."""
    related_reports: Annotated[list[dict[str, Any]] | None, BeforeValidator(to_list)] = Field(
        default=None, validation_alias="relatedReports", serialization_alias="relatedReports"
    )
    """Related reports, each ``{"name", "module", "action"}``."""
    unique_id: LooseStrOrNone = Field(
        default=None, validation_alias="uniqueId", serialization_alias="uniqueId"
    )
    """Matomo's id of the report with its parameters (``Actions_getPageUrls``)."""
    is_subtable_report: LooseBoolOrNone = Field(
        default=None, validation_alias="isSubtableReport", serialization_alias="isSubtableReport"
    )
    """Whether this report only exists as another report's subtable."""
    action_to_load_subtables: LooseStrOrNone = Field(
        default=None,
        validation_alias="actionToLoadSubTables",
        serialization_alias="actionToLoadSubTables",
    )
    """Method that loads this report's subtables (``getKeywordsFromSearchEngineId``)."""
    constant_rows_count: LooseBoolOrNone = Field(
        default=None, validation_alias="constantRowsCount", serialization_alias="constantRowsCount"
    )
    """Whether every period has the same rows (hours of the day, days of the week)."""
    online_guide_url: LooseStrOrNone = Field(
        default=None, validation_alias="onlineGuideUrl", serialization_alias="onlineGuideUrl"
    )
    """Link to Matomo's guide for the report."""

    @property
    def method(self) -> str:
        """The API method that returns this report: ``f"{module}.{action}"``."""
        return f"{self.module}.{self.action}"
