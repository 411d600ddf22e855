"""Export Matomo data completely, exactly once and resumably into files or databases.

```python
from matomo_client import AsyncMatomo, Auth
from matomo_client.export import export_visits, export_reports

async with AsyncMatomo(url, auth=Auth.token(tok)) as m:
    summary = await export_visits(m, sites="all", start="2024-01-01", end="yesterday",
                                  target="matomo-export.duckdb")
    print("\\n".join(summary.lines()))
```

How the pieces fit: `windows` cuts the work into (site, day in the site's timezone);
`engine`/`reports` fetch windows concurrently and hand rows built by `schema` (declared
columns, straight from the raw dicts) to a sink from `sinks` (`open_target`), which writes each
window together with its `state` record; `reconcile` compares the counts with Matomo's
`VisitsSummary` at the end.
"""

from __future__ import annotations

from .engine import export_visits
from .errors import (
    ExportApiError,
    ExportError,
    ExportUsageError,
    StateMismatchError,
    TargetError,
)
from .progress import ExportProgress, ExportSummary, Mismatch, ProgressCallback
from .reports import PERIODS, export_reports
from .schema import ACTIONS, REPORTS, VISITS, Column, ColumnType, Table
from .sinks import DEFAULT_TARGET, Sink, open_target
from .state import ExportState, WindowRecord
from .windows import Window, resolve_day

__all__ = [
    "ACTIONS",
    "DEFAULT_TARGET",
    "PERIODS",
    "REPORTS",
    "VISITS",
    "Column",
    "ColumnType",
    "ExportApiError",
    "ExportError",
    "ExportProgress",
    "ExportState",
    "ExportSummary",
    "ExportUsageError",
    "Mismatch",
    "ProgressCallback",
    "Sink",
    "StateMismatchError",
    "Table",
    "TargetError",
    "Window",
    "WindowRecord",
    "export_reports",
    "export_visits",
    "open_target",
    "resolve_day",
]
