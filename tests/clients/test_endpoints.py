"""Endpoint values run on any transport without a client (SPEC 2.6), and client life cycle."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from clients_support import TOKEN, Harness, Router, Scripted, form, recorded, recorded_json

from matomo_client import (
    ActionRow,
    AsyncMatomo,
    Auth,
    Matomo,
    MockTransport,
    Period,
    RetryPolicy,
    SyncMockTransport,
    VisitsSummary,
    endpoints,
)
from matomo_client._core.http import Response

pytestmark = pytest.mark.anyio

DAY = Period.day(dt.date(2026, 11, 28))
OCT = Period.month(dt.date(2026, 10, 1))


async def test_endpoint_runs_on_an_async_transport() -> None:
    """GetMatomoVersion().execute(transport) works without any client, token in the body."""
    transport = MockTransport(Router({}))
    version = await endpoints.GetMatomoVersion().execute(transport, auth=Auth.token(TOKEN))
    assert version == "5.11.2"
    assert form(transport.requests[0]) == {"token_auth": TOKEN}


def test_endpoint_runs_on_a_sync_transport() -> None:
    """execute_sync runs an endpoint on a blocking transport, Bearer in the header."""
    transport = SyncMockTransport(Router({"VisitsSummary.get": recorded("015_")}))
    summary = endpoints.VisitsSummaryGet(1, DAY).execute_sync(transport, auth=Auth.bearer(TOKEN))
    assert isinstance(summary, VisitsSummary)
    assert summary.nb_visits == 23
    assert transport.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


async def test_endpoint_execute_retries() -> None:
    """An endpoint run without a client still retries a transient failure."""
    transport = MockTransport(Scripted([Response(503), recorded("015_")]))
    endpoint = endpoints.VisitsSummaryGet(1, DAY)
    assert (await endpoint.execute(transport, retry=RetryPolicy(attempts=2))).nb_visits == 23
    assert len(transport.requests) == 2


async def test_client_executes_any_endpoint(harness: Harness) -> None:
    """client.execute() runs an endpoint value, here a report the modules do not wrap."""
    m = harness.client(Router({"Actions.getEntryPageUrls": recorded("079_")}))
    report = endpoints.Report("Actions.getEntryPageUrls", 1, OCT, ActionRow)
    rows = await harness.run(m.execute, report)
    assert len(rows) == len(recorded_json("079_"))
    assert form(harness.calls[0])["filter_limit"] == "-1"
    assert form(harness.calls[0])["flat"] == "1"


def test_endpoint_repr_names_method_and_params() -> None:
    """An endpoint's repr shows its Matomo method and parameters."""
    text = repr(endpoints.SiteFromId(3))
    assert "SitesManager.getSiteFromId" in text
    assert "'idSite': '3'" in text


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: endpoints.Report("nodot", 1, OCT, ActionRow), "Module.action"),
        (lambda: endpoints.Report("Actions.getPageUrls", 1, OCT, ActionRow, limit=0), "limit"),
        (lambda: endpoints.Call("bad method"), "Module.action"),
        (lambda: endpoints.VisitsSummarySeries(1, "range", None), "unit"),  # type: ignore[arg-type]
    ],
)
def test_invalid_endpoints(build: Any, message: str) -> None:
    """Malformed endpoint values are refused at construction."""
    with pytest.raises(ValueError, match=message):
        build()


async def test_async_client_closes_only_what_it_owns() -> None:
    """Leaving `async with` closes the client's own httpx client, never the caller's."""
    mine = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    async with AsyncMatomo("https://m.example/", http_client=mine) as m:
        assert m._transport._client is mine
    assert not mine.is_closed
    await mine.aclose()
    async with AsyncMatomo("https://m.example/") as owned:
        inner = owned._transport._client
        assert not inner.is_closed
    assert inner.is_closed


def test_sync_client_closes_only_what_it_owns() -> None:
    """Leaving `with` closes the client's own httpx client, never the caller's."""
    mine = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with Matomo("https://m.example/", http_client=mine):
        pass
    assert not mine.is_closed
    mine.close()
    with Matomo("https://m.example/") as owned:
        inner = owned._transport._client
    assert inner.is_closed


def test_transport_and_http_client_together_are_refused() -> None:
    """Passing both transport= and http_client= is a ValueError."""
    with httpx.Client() as mine, pytest.raises(ValueError, match="not both"):
        Matomo("https://m.example/", transport=SyncMockTransport(Router({})), http_client=mine)


@pytest.mark.parametrize("timeout", [0, -1.0])
def test_timeout_must_be_positive(timeout: float) -> None:
    """A zero or negative timeout is a ValueError."""
    with pytest.raises(ValueError, match="timeout"):
        AsyncMatomo("https://m.example/", timeout=timeout)
