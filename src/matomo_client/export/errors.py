"""Export errors: one base class, so callers (the CLI) can map each to one clear line.

```
MatomoError                             (matomo_client.errors: the library's one tree)
└── ExportError
    ├── ExportUsageError (also ValueError)  bad options: dates, sites, unknown target kind
    ├── TargetError                     the target cannot be opened or written (disk full, ...)
    ├── StateMismatchError              the target holds an export of other data (segment, reports)
    └── ExportApiError                  Matomo refused a window (visits log disabled, no access)
```
Messages name the target or the site/day, never the token.
"""

from __future__ import annotations

from matomo_client.errors import MatomoError

__all__ = [
    "ExportApiError",
    "ExportError",
    "ExportUsageError",
    "StateMismatchError",
    "TargetError",
]


class ExportError(MatomoError):
    """Base class of every error the export engine raises."""

    def __init__(self, message: str, method: str = "") -> None:
        super().__init__(message, method)


class ExportUsageError(ExportError, ValueError):
    """The export was asked for something invalid (dates, sites, target kind)."""


class TargetError(ExportError):
    """The target cannot be opened or written; already-exported windows stay valid."""


class StateMismatchError(ExportError):
    """The target holds an export of other data: another segment or report list (restart)."""


class ExportApiError(ExportError):
    """Matomo refused the export (e.g. visits log disabled, no access); the state is kept."""

    def __init__(self, message: str, method: str = "", *, id_site: int | None = None) -> None:
        super().__init__(message, method)
        self.id_site = id_site

    def __reduce__(self) -> tuple[object, ...]:
        # with its state, as any exception: `add_note`'s notes and attributes added later
        return (_rebuild_api_error, (str(self), self.method, self.id_site), self.__dict__ or None)


def _rebuild_api_error(message: str, method: str, id_site: int | None) -> ExportApiError:
    return ExportApiError(message, method, id_site=id_site)
