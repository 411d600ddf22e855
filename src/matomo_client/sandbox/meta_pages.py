"""`API.getReportPagesMetadata` and `API.getSegmentsMetadata`, narrowed to what the sandbox serves.

Both start from the recorded Matomo 5.11.2 answers for site 1 (`report_pages.json`, case 151;
`segments_metadata.json`, case 150), in their order and key order. A page keeps the widgets
whose report the site's `API.getReportMetadata` lists (an evolution graph or sparklines widget
needs the module's `get`; a container needs one such widget) and goes when none is left; each
goal of the site gets the goal page of the recorded goal 1, goals by name (order 900, 901...).
The Ecommerce pages are an ecommerce site's only. A segment is listed when the sandbox's
segment engine (`segments.py`) accepts its name; the custom dimension segments (`dimension1`,
`dimension2`) are Matomo's only when `idSites` is one site that has custom dimensions.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from .catalog import SiteInfo
from .dates import ApiFailure
from .metadata import report_metadata
from .segments import CUSTOM_DIMENSION_SEGMENTS, parse_segment

__all__ = ["report_pages_metadata", "segments_metadata"]

_GOAL_PAGE = "Goals_Goals.1"  # the recorded goal 1 page, template of every goal's page
_GOAL_NAME = "Visited contact page"
# widgets of a module's `get` report shown as a graph or sparklines
_GET_VIEWS = frozenset({"getEvolutionGraph", "getSparklines", "getMetrics"})


@lru_cache(maxsize=2)
def _recorded(name: str) -> list[dict[str, Any]]:
    text = resources.files(__package__).joinpath(name).read_text("utf-8")
    rows: list[dict[str, Any]] = json.loads(text)
    return rows


def _served(site: SiteInfo, today: Any) -> frozenset[str]:
    """`Module.action` of every report the sandbox serves for `site`."""
    return frozenset(f"{r['module']}.{r['action']}" for r in report_metadata(site, today))


def _keep(widget: dict[str, Any], served: frozenset[str]) -> dict[str, Any] | None:
    """The widget if the sandbox serves its report (a container: with its served widgets)."""
    if widget.get("isContainer"):
        children = [w for w in (_keep(c, served) for c in widget["widgets"]) if w is not None]
        return {**widget, "widgets": children} if children else None
    module, action = widget.get("module"), widget.get("action")
    if f"{module}.{action}" in served:
        return widget
    if action in _GET_VIEWS and f"{module}.get" in served:
        return widget
    return None


def _for_goal(value: Any, id_goal: int, name: str, key: str = "") -> Any:
    """The recorded goal 1 page's `value` rewritten for goal `id_goal` called `name`."""
    if isinstance(value, dict):
        return {k: _for_goal(v, id_goal, name, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_for_goal(v, id_goal, name) for v in value]
    if key == "idGoal" and value == 1:
        return id_goal
    if isinstance(value, str):
        if value == "1" and key in ("id", "name"):
            return str(id_goal)
        value = value.replace(_GOAL_NAME, name).replace("idGoal1", f"idGoal{id_goal}")
        return value.replace("Goal_1", f"Goal_{id_goal}").replace("Goals1", f"Goals{id_goal}")
    return value


def report_pages_metadata(site: SiteInfo, today: Any) -> list[dict[str, Any]]:
    """API.getReportPagesMetadata for `site`: the recorded pages it can show."""
    served = _served(site, today)
    pages: list[dict[str, Any]] = []
    for page in _recorded("report_pages.json"):
        if page["uniqueId"].startswith("Goals_Ecommerce.") and not site.ecommerce:
            continue
        if page["uniqueId"].startswith("Goals_Goals.") and page["subcategory"]["id"].isdigit():
            if page["uniqueId"] != _GOAL_PAGE:
                continue
            goals = sorted(site.goals, key=lambda g: g[1])
            for order, (id_goal, name, _) in enumerate(goals, start=900):
                rewritten = _for_goal(page, id_goal, name)
                rewritten["uniqueId"] = f"Goals_Goals.{id_goal}"
                rewritten["subcategory"] = {**rewritten["subcategory"], "order": order}
                pages.extend(_narrowed(rewritten, served))
            continue
        pages.extend(_narrowed(page, served))
    return pages


def _narrowed(page: dict[str, Any], served: frozenset[str]) -> list[dict[str, Any]]:
    widgets = [w for w in (_keep(w, served) for w in page["widgets"]) if w is not None]
    return [{**page, "widgets": widgets}] if widgets else []


def _accepted(segment: str, custom_dimensions: bool) -> bool:
    if segment in CUSTOM_DIMENSION_SEGMENTS:
        return custom_dimensions
    try:
        parse_segment(f"{segment}==x")
    except ApiFailure:
        return False
    return True


def segments_metadata(custom_dimensions: bool = True) -> list[dict[str, Any]]:
    """API.getSegmentsMetadata: the recorded segments the sandbox's segment engine accepts
    (the custom dimension ones only with `custom_dimensions`)."""
    return [
        dict(s)
        for s in _recorded("segments_metadata.json")
        if _accepted(s["segment"], custom_dimensions)
    ]
