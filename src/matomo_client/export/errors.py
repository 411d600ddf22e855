"""Export errors: one base class, so callers (the CLI) can map each to one clear line.

```
ExportError
├── ExportUsageError (also ValueError)  bad options: dates, sites, unknown target kind
├── TargetError                         the target cannot be opened or written (disk full, ...)
├── StateMismatchError                  the target holds an export made with other options
└── ExportApiError                      Matomo refused a window (visits log disabled, no access)
```
Messages name the target or the site/day, never the token.
"""

from __future__ import annotations

__all__ = [
    "ExportApiError",
    "ExportError",
    "ExportUsageError",
    "StateMismatchError",
    "TargetError",
]


class ExportError(Exception):
    """Base class of every error the export engine raises."""


class ExportUsageError(ExportError, ValueError):
    """The export was asked for something invalid (dates, sites, target kind)."""


class TargetError(ExportError):
    """The target cannot be opened or written; already-exported windows stay valid."""


class StateMismatchError(ExportError):
    """The target already holds an export made with different options (use restart)."""


class ExportApiError(ExportError):
    """Matomo refused the export (e.g. visits log disabled, no access); the state is kept."""

    def __init__(self, message: str, *, id_site: int | None = None) -> None:
        super().__init__(message)
        self.id_site = id_site
