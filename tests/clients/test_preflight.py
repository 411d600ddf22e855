"""Preflight (SPEC 2.7): one version check on first use, failing early and clearly."""

from __future__ import annotations

import datetime as dt
import threading

import anyio
import anyio.lowlevel
import pytest
from clients_support import BASE_URL, Harness, Router, method_of, recorded

from matomo_client import (
    ApiError,
    ApiErrorKind,
    AsyncMatomo,
    Matomo,
    MockTransport,
    Period,
    PreflightError,
    SyncMockTransport,
)

pytestmark = pytest.mark.anyio

DAY = Period.day(dt.date(2026, 11, 28))
NOT_ENABLED = {
    "result": "error",
    "message": "The plugin Referrers is not enabled. You can activate the plugin on "
    "Settings > Plugins page in Matomo.",
}


def versions(harness: Harness) -> int:
    """How many API.getMatomoVersion requests were sent."""
    return sum(method_of(r) == "API.getMatomoVersion" for r in harness.requests)


async def test_first_call_checks_the_version_once(harness: Harness) -> None:
    """The first call is preceded by one API.getMatomoVersion; later calls are not."""
    m = harness.client(Router({"VisitsSummary.get": recorded("015_")}))
    await harness.run(m.visits_summary.get, 1, DAY)
    await harness.run(m.visits_summary.get, 1, DAY)
    assert [method_of(r) for r in harness.requests] == [
        "API.getMatomoVersion",
        "VisitsSummary.get",
        "VisitsSummary.get",
    ]
    assert await harness.run(m.preflight) == "5.11.2"
    assert versions(harness) == 1


async def test_skip_preflight_sends_no_version_check(harness: Harness) -> None:
    """skip_preflight=True goes straight to the call."""
    m = harness.client(Router({"VisitsSummary.get": recorded("015_")}), skip_preflight=True)
    await harness.run(m.visits_summary.get, 1, DAY)
    assert [method_of(r) for r in harness.requests] == ["VisitsSummary.get"]


async def test_concurrent_first_calls_share_one_preflight() -> None:
    """Ten first calls started together send API.getMatomoVersion once."""
    transport = MockTransport(Router({"VisitsSummary.get": recorded("015_")}))
    m = AsyncMatomo(BASE_URL, transport=transport)

    async def one() -> None:
        await anyio.lowlevel.checkpoint()
        await m.visits_summary.get(1, DAY)

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(one)
    assert transport.methods.count("API.getMatomoVersion") == 1
    assert transport.methods.count("VisitsSummary.get") == 10


def test_concurrent_first_calls_share_one_preflight_threads() -> None:
    """Ten threads making their first call together send API.getMatomoVersion once."""
    transport = SyncMockTransport(Router({"VisitsSummary.get": recorded("015_")}))
    m = Matomo(BASE_URL, transport=transport)
    threads = [threading.Thread(target=m.visits_summary.get, args=(1, DAY)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert transport.methods.count("API.getMatomoVersion") == 1
    assert transport.methods.count("VisitsSummary.get") == 10


@pytest.mark.parametrize("old", ["3.14.1", "2.16.0", "3.0.0-b1"])
async def test_old_matomo_is_refused(harness: Harness, old: str) -> None:
    """A Matomo older than 4.0 fails the preflight with a PreflightError naming its version."""
    m = harness.client(Router({"API.getMatomoVersion": {"value": old}}))
    with pytest.raises(PreflightError) as info:
        await harness.run(m.visits_summary.get, 1, DAY)
    assert info.value.version == old
    assert str(info.value) == f"Matomo {old} is too old: matomo-client needs Matomo 4.0 or newer"
    assert [method_of(r) for r in harness.requests] == ["API.getMatomoVersion"]


@pytest.mark.parametrize("new", ["4.0.0", "4.16.1", "5.11.2", "6.0.0-rc1"])
async def test_supported_versions_pass(harness: Harness, new: str) -> None:
    """Matomo 4.x, 5.x and later pass the preflight."""
    m = harness.client(Router({"API.getMatomoVersion": {"value": new}}))
    assert await harness.run(m.preflight) == new


async def test_plugin_not_enabled_names_the_method(harness: Harness) -> None:
    """A typed method whose plugin is off raises PreflightError naming the method and version."""
    m = harness.client(Router({"Referrers.getAll": NOT_ENABLED}))
    with pytest.raises(PreflightError) as info:
        await harness.run(m.referrers.all, 1, DAY)
    assert info.value.missing == ("Referrers.getAll",)
    assert info.value.version == "5.11.2"
    assert info.value.method == "Referrers.getAll"
    assert "Referrers.getAll" in str(info.value)
    assert "5.11.2" in str(info.value)
    assert isinstance(info.value.__cause__, ApiError)


async def test_unknown_typed_method_is_a_preflight_error(harness: Harness) -> None:
    """A typed method the server does not have (recorded 'does not exist') is a PreflightError."""
    m = harness.client(Router({"VisitsSummary.get": recorded("192_")}))
    with pytest.raises(PreflightError) as info:
        await harness.run(m.visits_summary.get, 1, DAY)
    assert info.value.missing == ("VisitsSummary.get",)


async def test_plugin_not_installed_is_a_preflight_error(harness: Harness) -> None:
    """A typed method whose plugin is not installed (recorded 404 'was not found') is a
    PreflightError naming the method and version."""
    m = harness.client(Router({"Referrers.getAll": recorded("193_")}))
    with pytest.raises(PreflightError) as info:
        await harness.run(m.referrers.all, 1, DAY)
    assert info.value.missing == ("Referrers.getAll",)
    assert info.value.version == "5.11.2"
    assert "was not found" in str(info.value)


async def test_plugin_not_enabled_stays_an_api_error_for_call(harness: Harness) -> None:
    """The untyped escape hatch reports a disabled plugin as the ApiError itself."""
    m = harness.client(Router({"Referrers.getAll": NOT_ENABLED}))
    with pytest.raises(ApiError) as info:
        await harness.run(m.call, "Referrers.getAll")
    assert not isinstance(info.value, PreflightError)
    assert info.value.kind is ApiErrorKind.NOT_FOUND


@pytest.mark.parametrize("prefix", ["186_", "188_"])
async def test_auth_error_at_preflight_stays_an_api_error(harness: Harness, prefix: str) -> None:
    """A bad or missing token at the preflight is ApiError(AUTH/PERMISSION), not PreflightError."""
    m = harness.client(Router({"API.getMatomoVersion": recorded(prefix)}))
    with pytest.raises(ApiError) as info:
        await harness.run(m.visits_summary.get, 1, DAY)
    assert not isinstance(info.value, PreflightError)
    assert info.value.kind in (ApiErrorKind.AUTH, ApiErrorKind.PERMISSION)
    assert info.value.status == 401
    assert info.value.method == "API.getMatomoVersion"


async def test_invalid_token_page_at_preflight_is_auth(harness: Harness) -> None:
    """The recorded 401 HTML page answering the preflight is ApiError AUTH."""
    m = harness.client(Router({"API.getMatomoVersion": recorded("186_")}))
    with pytest.raises(ApiError) as info:
        await harness.run(m.sites.list)
    assert info.value.kind is ApiErrorKind.AUTH


async def test_failed_preflight_is_tried_again(harness: Harness) -> None:
    """After a failed preflight, the next call checks the version again (and can succeed)."""
    answers = [recorded("186_"), recorded("001_")]
    m = harness.client(
        Router(
            {
                "API.getMatomoVersion": lambda r: answers.pop(0),
                "VisitsSummary.get": recorded("015_"),
            }
        )
    )
    with pytest.raises(ApiError):
        await harness.run(m.visits_summary.get, 1, DAY)
    assert (await harness.run(m.visits_summary.get, 1, DAY)).nb_visits == 23
    assert versions(harness) == 2
