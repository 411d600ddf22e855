"""`API.getReportMetadata` for the reports the sandbox implements.

The entries are the recorded Matomo 5.11.2 metadata of those reports
(`report_metadata.json`), with the site id and the graph date range filled in per request.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["report_metadata"]


@lru_cache(maxsize=1)
def _template() -> str:
    return resources.files(__package__).joinpath("report_metadata.json").read_text("utf-8")


def report_metadata(id_site: int, today: date) -> list[dict[str, Any]]:
    """The metadata list for one site, graph URLs pointing at the last 30 days."""
    date_range = f"{(today - timedelta(days=29)).isoformat()},{today.isoformat()}"
    text = _template().replace("{idSite}", str(id_site)).replace("{dateRange}", date_range)
    rows: list[dict[str, Any]] = json.loads(text)
    return rows
