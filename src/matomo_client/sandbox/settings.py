"""Answers of the sandbox's configuration methods: goals, custom dimensions, PHP version.

They read the catalogue only (no visits), shaped as the recorded Matomo 5.11.2 answers
(cases 005, 107, 141). Goals the recordings do not show are "manually" triggered goals.
"""

from __future__ import annotations

from typing import Any

from .catalog import SiteInfo
from .datatable import number_format

__all__ = ["PHP_VERSION", "configured_custom_dimensions", "site_goals"]

#: API.getPhpVersion of the recorded server (PHP 8.2)
PHP_VERSION: dict[str, Any] = {
    "version": "8.2.36",
    "major": 8,
    "minor": 2,
    "release": 36,
    "versionId": 80236,
    "extra": "",
}
# how a goal is matched, for goals not triggered manually: goal name -> goal fields
_MATCHED_GOALS: dict[str, dict[str, Any]] = {
    "Visited contact page": {
        "match_attribute": "url",
        "pattern": "/contact",
        "pattern_type": "contains",
        "case_sensitive": 0,
    },
}
# (name, scope) of the custom dimensions of a site that has them (recorded 141)
_CUSTOM_DIMENSIONS = (("Customer Type", "visit"), ("Page Category", "action"))


def site_goals(site: SiteInfo) -> list[dict[str, Any]]:
    """Goals.getGoals rows of one site."""
    rows = []
    for id_goal, name, revenue in site.goals:
        row: dict[str, Any] = {"idsite": site.id, "idgoal": id_goal, "name": name}
        row["description"] = ""
        row.update(_MATCHED_GOALS.get(name, {"match_attribute": "manually"}))
        row.update(
            allow_multiple=0, revenue=number_format(revenue), deleted=0, event_value_as_revenue=0
        )
        rows.append(row)
    return rows


def configured_custom_dimensions(site: SiteInfo) -> list[dict[str, Any]]:
    """CustomDimensions.getConfiguredCustomDimensions rows of one site (ids and indexes as
    strings; each scope numbers its own indexes)."""
    if not site.custom_dimensions:
        return []
    return [
        {
            "idcustomdimension": str(number),
            "idsite": str(site.id),
            "name": name,
            "description": "",
            "index": "1",
            "scope": scope,
            "active": True,
            "extractions": [],
            "case_sensitive": True,
        }
        for number, (name, scope) in enumerate(_CUSTOM_DIMENSIONS, start=1)
    ]
