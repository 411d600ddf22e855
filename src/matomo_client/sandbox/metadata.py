"""`API.getReportMetadata` for the reports the sandbox implements.

The entries are the recorded Matomo 5.11.2 metadata of those reports
(`report_metadata.json`), with the site id and the graph date range filled in per request.
As in Matomo, the ecommerce reports are listed for ecommerce sites only, and each goal of
the site gets its own `Goals.get` and `Goals.getDaysToConversion` entries (the `{idGoal}`
entries), goal by goal; the `CustomDimensions.getCustomDimension` entries (one per configured
dimension, as recorded for site 1) are listed for the sites that have custom dimensions.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from itertools import groupby
from typing import Any

from .catalog import SiteInfo

__all__ = ["report_metadata"]

_PER_GOAL = "_idGoal--{idGoal}"
_CUSTOM_DIMENSION = "CustomDimensions_getCustomDimension_"
_ECOMMERCE = frozenset(
    {
        "Goals_get_idGoal--ecommerceOrder",
        "Goals_getDaysToConversion_idGoal--ecommerceOrder",
        "Goals_get_idGoal--ecommerceAbandonedCart",
        "Goals_getDaysToConversion_idGoal--ecommerceAbandonedCart",
        "Goals_getItemsName",
        "Goals_getItemsSku",
        "Goals_getItemsCategory",
    }
)


@lru_cache(maxsize=1)
def _template() -> str:
    return resources.files(__package__).joinpath("report_metadata.json").read_text("utf-8")


def report_metadata(site: SiteInfo, today: date) -> list[dict[str, Any]]:
    """The metadata list for one site, graph URLs pointing at the last 30 days."""
    date_range = f"{(today - timedelta(days=29)).isoformat()},{today.isoformat()}"
    text = _template().replace("{idSite}", str(site.id)).replace("{dateRange}", date_range)
    rows: list[dict[str, Any]] = []
    for per_goal, group in groupby(json.loads(text), lambda r: r["uniqueId"].endswith(_PER_GOAL)):
        templates = list(group)
        if per_goal:  # recorded 146: goal 1's reports, then goal 2's ...
            rows.extend(_goal_entry(t, i, name) for i, name, _ in site.goals for t in templates)
        else:
            rows.extend(r for r in templates if _listed(r["uniqueId"], site))
    return rows


def _listed(unique_id: str, site: SiteInfo) -> bool:
    """Whether a template entry that is not a goal's is listed for `site`."""
    if unique_id.startswith(_CUSTOM_DIMENSION):
        return site.custom_dimensions
    return unique_id not in _ECOMMERCE or site.ecommerce


def _goal_entry(template: dict[str, Any], id_goal: int, name: str) -> dict[str, Any]:
    """A per-goal template's entry for one goal (`Goal <name>`, `<name> - Days to Conversion`)."""
    text = json.dumps(template, ensure_ascii=False)
    text = text.replace("{idGoal}", str(id_goal)).replace("{goalName}", json.dumps(name)[1:-1])
    row: dict[str, Any] = json.loads(text)
    row["parameters"] = {"idGoal": id_goal}
    return row
