"""matomo-client: get data out of Matomo completely, resumably and fast.

from matomo_client import AsyncMatomo, Matomo, Auth, Period, Date

async with AsyncMatomo("https://stats.example.com/", auth=Auth.token(tok)) as m:
    summary = await m.visits_summary.get(1, Period.month(Date.TODAY))
"""

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
