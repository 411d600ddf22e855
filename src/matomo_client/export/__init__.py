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
`engine`/`reports` fetch windows concurrently (through `run`'s runner) and hand rows built by
`rows` (the columns declared in `schema`, straight from the raw dicts, coerced by `coerce`) to
a sink from `sinks` (`open_target`), which writes each window together with its `state`
record; `reconcile` compares the counts with Matomo's `VisitsSummary` at the end.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import export_visits
    from .errors import (
        ExportApiError,
        ExportError,
        ExportUsageError,
        StateMismatchError,
        TargetError,
    )
    from .progress import ExportProgress, ExportSummary, Mismatch, ProgressCallback
    from .reports import export_reports
    from .schema import ACTIONS, REPORTS, VISITS, Column, ColumnType, Table
    from .sinks import DEFAULT_TARGET, Sink, open_target
    from .state import ExportState, WindowRecord
    from .windows import PERIODS, Window, resolve_day

# Public name -> the submodule that defines it (imported on first use, PEP 562).
_SOURCES: dict[str, str] = {
    "export_visits": ".engine",
    "ExportApiError": ".errors",
    "ExportError": ".errors",
    "ExportUsageError": ".errors",
    "StateMismatchError": ".errors",
    "TargetError": ".errors",
    "ExportProgress": ".progress",
    "ExportSummary": ".progress",
    "Mismatch": ".progress",
    "ProgressCallback": ".progress",
    "PERIODS": ".windows",
    "export_reports": ".reports",
    "ACTIONS": ".schema",
    "REPORTS": ".schema",
    "VISITS": ".schema",
    "Column": ".schema",
    "ColumnType": ".schema",
    "Table": ".schema",
    "DEFAULT_TARGET": ".sinks",
    "Sink": ".sinks",
    "open_target": ".sinks",
    "ExportState": ".state",
    "WindowRecord": ".state",
    "Window": ".windows",
    "resolve_day": ".windows",
}

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


def __getattr__(name: str) -> Any:
    """Import a public name from its submodule on first use, then keep it here."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(source, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The package's names, the not yet imported public ones included."""
    return sorted(set(globals()) | set(__all__))
