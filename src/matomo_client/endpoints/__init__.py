"""Endpoint values: a Matomo method, its parameters and result type, runnable on any transport.

Every typed method of the clients is backed by one of these, so a user with their own transport
can run a call without a client::

    version = await endpoints.GetMatomoVersion().execute(my_transport, auth=Auth.token(t))
    version = endpoints.GetMatomoVersion().execute_sync(my_sync_transport, auth=Auth.token(t))

An endpoint builds its `Request` (`request(auth)`), and reads a `Response` (`read(response)`);
`flow(...)` wraps both in the pure retrying call flow that the drivers run.
"""

from matomo_client.endpoints._base import Endpoint
from matomo_client.endpoints.api import (
    BulkResult,
    GetBulkRequest,
    GetMatomoVersion,
    GetReportMetadata,
    SiteFromId,
    SitesWithViewAccess,
)
from matomo_client.endpoints.calls import Call, CallRaw, CallTyped
from matomo_client.endpoints.live import LastVisitsDetails, LivePage
from matomo_client.endpoints.reports import (
    Report,
    VisitsSummaryGet,
    VisitsSummarySeries,
)

__all__ = [
    "BulkResult",
    "Call",
    "CallRaw",
    "CallTyped",
    "Endpoint",
    "GetBulkRequest",
    "GetMatomoVersion",
    "GetReportMetadata",
    "LastVisitsDetails",
    "LivePage",
    "Report",
    "SiteFromId",
    "SitesWithViewAccess",
    "VisitsSummaryGet",
    "VisitsSummarySeries",
]
