"""The public surface is a contract: `matomo_client.__all__` is what SPEC §2 promises."""

from __future__ import annotations

import inspect

import pytest

import matomo_client
from matomo_client import endpoints, transports

# Named in SPEC §2 (2.1 clients and auth, 2.2 modules' result types, 2.3-2.5 values,
# 2.6 neutral request/response, 2.8 errors, 2.9 retries, 2.10 models).
SPEC_NAMES = {
    "AsyncMatomo",
    "Matomo",
    "Auth",
    "RetryPolicy",
    "Period",
    "Date",
    "DateRange",
    "RangeEnd",
    "Limit",
    "Cursor",
    "Params",
    "Request",
    "Response",
    "BulkResult",
    "ReportMetadata",
    "VisitsSummary",
    "ActionRow",
    "ReferrerRow",
    "Visit",
    "Site",
    "MatomoError",
    "ApiError",
    "ApiErrorKind",
    "HttpStatusError",
    "NonJsonBodyError",
    "DecodeError",
    "TransportError",
    "PreflightError",
}
# Also public, for reasons given in STYLE.md and SPEC: the shipped mocks ("ship the mock"),
# the retry testing switch, `client.stats`, the action and generic row models, the version.
EXTRA_NAMES = {
    "MockTransport",
    "SyncMockTransport",
    "set_testing",
    "ClientStats",
    "Action",
    "ReportRow",
    "__version__",
}


def test_all_is_exactly_the_promised_names() -> None:
    """__all__ holds every name SPEC §2 promises, plus the listed extras, and nothing else."""
    assert set(matomo_client.__all__) == SPEC_NAMES | EXTRA_NAMES
    assert len(matomo_client.__all__) == len(set(matomo_client.__all__))


@pytest.mark.parametrize("name", sorted(SPEC_NAMES | EXTRA_NAMES - {"__version__"}))
def test_each_public_name_is_importable_and_documented(name: str) -> None:
    """Each public name imports from matomo_client and has a docstring."""
    obj = getattr(matomo_client, name)
    assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_version_is_a_string() -> None:
    """__version__ is a dotted version string."""
    assert matomo_client.__version__.count(".") >= 1


@pytest.mark.parametrize("module", [endpoints, transports])
def test_submodule_names_are_documented(module: object) -> None:
    """Every name in matomo_client.endpoints / .transports __all__ exists and is documented."""
    for name in module.__all__:  # type: ignore[attr-defined]
        assert (getattr(module, name).__doc__ or "").strip(), f"{name} has no docstring"


def _public_methods(cls: type) -> list[tuple[str, object]]:
    return [
        (name, member)
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and (inspect.isfunction(member) or inspect.ismethod(member))
    ]


@pytest.mark.parametrize("client", [matomo_client.AsyncMatomo, matomo_client.Matomo])
def test_client_methods_are_documented(client: type) -> None:
    """Every public method of both clients and of their typed modules has a docstring."""
    m = client("https://m.example/", transport=object(), skip_preflight=True)
    owners = [client] + [
        type(getattr(m, a))
        for a in ("api", "visits_summary", "actions", "referrers", "live", "sites")
    ]
    for owner in owners:
        methods = _public_methods(owner)
        assert methods, owner
        for name, member in methods:
            assert (getattr(member, "__doc__", None) or "").strip(), f"{owner.__name__}.{name}"


def test_spec_module_methods_exist() -> None:
    """The typed modules have every method the SPEC §2.2 table lists."""
    m = matomo_client.AsyncMatomo("https://m.example/", transport=object(), skip_preflight=True)
    table = {
        "api": ["version", "report_metadata", "bulk"],
        "visits_summary": ["get", "series"],
        "actions": ["page_urls", "page_titles", "downloads", "outlinks", "subtable"],
        "referrers": [
            "referrer_type",
            "all",
            "websites",
            "search_engines",
            "keywords",
            "campaigns",
            "socials",
        ],
        "live": ["last_visits", "stream", "next_page"],
        "sites": ["list", "get"],
    }
    for module, methods in table.items():
        for method in methods:
            assert callable(getattr(getattr(m, module), method)), f"{module}.{method}"
    for method in ("call", "call_typed", "call_raw", "stream_raw", "preflight", "aclose"):
        assert callable(getattr(m, method)), method
