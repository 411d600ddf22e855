"""matomo-client: get data out of Matomo completely, resumably and fast.

from matomo_client import AsyncMatomo, Matomo, Auth, Period, Date

async with AsyncMatomo("https://stats.example.com/", auth=Auth.token(tok)) as m:
    summary = await m.visits_summary.get(1, Period.month(Date.TODAY))

The public names are imported on first use (PEP 562), so `import matomo_client` (and the
`matomo` command's `--help`) does not pay for httpx and the pydantic models until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matomo_client._async.client import AsyncMatomo, ClientStats
    from matomo_client._core.auth import Auth
    from matomo_client._core.http import Request, Response
    from matomo_client._core.paging import Cursor
    from matomo_client._core.params import Params
    from matomo_client._core.periods import Date, DateRange, Limit, Period, RangeEnd
    from matomo_client._core.retry import RetryPolicy, set_testing
    from matomo_client._sync.client import Matomo
    from matomo_client.endpoints import BulkResult
    from matomo_client.errors import (
        ApiError,
        ApiErrorKind,
        DecodeError,
        HttpStatusError,
        MatomoError,
        NonJsonBodyError,
        PreflightError,
        TransportError,
    )
    from matomo_client.models import (
        Action,
        ActionRow,
        ReferrerRow,
        ReportMetadata,
        ReportRow,
        Site,
        Visit,
        VisitsSummary,
    )
    from matomo_client.transports import MockTransport, SyncMockTransport

__version__ = "0.1.0"

# Public name -> the module that defines it.
_SOURCES: dict[str, str] = {
    "AsyncMatomo": "matomo_client._async.client",
    "ClientStats": "matomo_client._async.client",
    "Auth": "matomo_client._core.auth",
    "Request": "matomo_client._core.http",
    "Response": "matomo_client._core.http",
    "Cursor": "matomo_client._core.paging",
    "Params": "matomo_client._core.params",
    "Date": "matomo_client._core.periods",
    "DateRange": "matomo_client._core.periods",
    "Limit": "matomo_client._core.periods",
    "Period": "matomo_client._core.periods",
    "RangeEnd": "matomo_client._core.periods",
    "RetryPolicy": "matomo_client._core.retry",
    "set_testing": "matomo_client._core.retry",
    "Matomo": "matomo_client._sync.client",
    "BulkResult": "matomo_client.endpoints",
    "ApiError": "matomo_client.errors",
    "ApiErrorKind": "matomo_client.errors",
    "DecodeError": "matomo_client.errors",
    "HttpStatusError": "matomo_client.errors",
    "MatomoError": "matomo_client.errors",
    "NonJsonBodyError": "matomo_client.errors",
    "PreflightError": "matomo_client.errors",
    "TransportError": "matomo_client.errors",
    "Action": "matomo_client.models",
    "ActionRow": "matomo_client.models",
    "ReferrerRow": "matomo_client.models",
    "ReportMetadata": "matomo_client.models",
    "ReportRow": "matomo_client.models",
    "Site": "matomo_client.models",
    "Visit": "matomo_client.models",
    "VisitsSummary": "matomo_client.models",
    "MockTransport": "matomo_client.transports",
    "SyncMockTransport": "matomo_client.transports",
}

__all__ = [
    "Action",
    "ActionRow",
    "ApiError",
    "ApiErrorKind",
    "AsyncMatomo",
    "Auth",
    "BulkResult",
    "ClientStats",
    "Cursor",
    "Date",
    "DateRange",
    "DecodeError",
    "HttpStatusError",
    "Limit",
    "Matomo",
    "MatomoError",
    "MockTransport",
    "NonJsonBodyError",
    "Params",
    "Period",
    "PreflightError",
    "RangeEnd",
    "ReferrerRow",
    "ReportMetadata",
    "ReportRow",
    "Request",
    "Response",
    "RetryPolicy",
    "Site",
    "SyncMockTransport",
    "TransportError",
    "Visit",
    "VisitsSummary",
    "__version__",
    "set_testing",
]


# Subpackages reachable as attributes after a bare `import matomo_client`, as the README writes
# them (`matomo_client.check.check_server(client)`, `matomo_client.export.export_visits(...)`).
_SUBMODULES = frozenset(
    {"check", "endpoints", "errors", "export", "models", "sandbox", "transports"}
)

if not TYPE_CHECKING:  # for mypy, a module `__getattr__` would make every misspelt name Any

    def __getattr__(name: str) -> Any:
        """Import a public name from its module on first use, then keep it here."""
        if name in _SUBMODULES:
            return importlib.import_module(f"{__name__}.{name}")
        source = _SOURCES.get(name)
        if source is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The module's names, the not yet imported public ones included."""
    return sorted(set(globals()) | set(__all__))
