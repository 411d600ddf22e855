"""What the README says about round 15's changes holds: the error fields, the SQLite names, the
escape hatch's dicts and bulk items, and the methods the sandbox serves or refuses."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from matomo_client import ApiError, Auth, Date, HttpStatusError, Matomo
from matomo_client.export.sinks import SQLiteSink, open_target
from matomo_client.sandbox import Sandbox, SandboxConfig, serve_in_thread

README = Path(__file__).resolve().parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")


def test_the_error_tree_names_the_fields_errors_have() -> None:
    """Each field the README's error tree lists for ApiError and HttpStatusError is an attribute."""
    for name, cls in (("ApiError", ApiError), ("HttpStatusError", HttpStatusError)):
        listed = re.search(rf"── {name}\(([^)]*)\)", TEXT)
        assert listed, f"{name} is no longer in the README's error tree"
        fields = [f.split(":")[0].strip() for f in listed.group(1).split(",")]
        assert "retry_after" in fields
        annotated = {k for c in cls.__mro__ for k in getattr(c, "__annotations__", {})}
        for field in fields:
            assert field in annotated or field in ("message", "method"), (name, field)


@pytest.mark.parametrize("name", ["x.sqlite", "x.sqlite3", "x.db"])
def test_the_sqlite_names_the_readme_gives_are_sqlite_targets(name: str, tmp_path: Path) -> None:
    """The `--out` table's SQLite row names only names that open SQLite."""
    assert f"`{name}`" in TEXT
    assert isinstance(open_target(str(tmp_path / name)), SQLiteSink)


def test_the_escape_hatch_takes_the_readme_dict_and_refuses_bad_bulk_items() -> None:
    """The README's dict example answers; a token_auth key and a bare bulk name are ValueErrors."""
    assert '{"idSite": 1, "period": "day", "date": Date.YESTERDAY}' in TEXT
    sb = Sandbox(SandboxConfig(seed=3, days=5, visits_per_day=10, today=date(2026, 11, 29)))
    with serve_in_thread(sb) as url, Matomo(url, auth=Auth.token(sb.config.token)) as m:
        summary = m.call(
            "VisitsSummary.get", {"idSite": 1, "period": "day", "date": Date.YESTERDAY}
        )
        assert summary["nb_visits"] == len(sb.world.visits(1, date(2026, 11, 28)))
        sent = len(sb.requests)
        with pytest.raises(ValueError, match="token_auth"):
            m.call("VisitsSummary.get", {"idSite": 1, "token_auth": "x"})
        with pytest.raises(ValueError, match="pairs"):
            m.api.bulk(["API.getMatomoVersion"])  # type: ignore[list-item]
        assert len(sb.requests) == sent  # refused before any request


_NOT_REPORTS = (
    "API.getBulkRequest",
    "API.getReportMetadata",
    "API.getProcessedReport",
    "API.getRowEvolution",
    "API.getReportPagesMetadata",
    "API.getSegmentsMetadata",
    "MultiSites.getAll",
)


def _unknown(m: Matomo, method: str) -> bool:
    """Whether the server answers `method` with the unknown method's error (any other error,
    such as a missing parameter, means it serves the method)."""
    try:
        m.call(method, {"idSite": 1, "period": "day", "date": "yesterday"})
    except ApiError as e:
        return "does not exist" in str(e)
    return False


def test_the_sandbox_serves_and_refuses_the_methods_the_readme_names() -> None:
    """Named as served: listed by the report metadata; named as not served: Matomo's 400."""
    section = TEXT[TEXT.index("## Testing your own code against the sandbox") :]
    section = section[section.index("It serves") : section.index("```")]
    served, refused = section.split("Any other method")
    sb = Sandbox(SandboxConfig(seed=3, days=5, visits_per_day=10, today=date(2026, 11, 29)))
    with serve_in_thread(sb) as url, Matomo(url, auth=Auth.token(sb.config.token)) as m:
        listed = {f"{r.module}.{r.action}" for r in m.api.report_metadata(1)}
        for method in re.findall(r"`(\w+\.\w+)`", served):
            if method in listed:
                continue
            # Not a report: served, so it never gets the unknown method's error.
            assert method in _NOT_REPORTS, method
            assert not _unknown(m, method), method
        names = re.findall(r"`(\w+\.\w+)`", refused)
        assert names
        for method in names:
            with pytest.raises(ApiError, match="does not exist") as caught:
                m.call(method, {"idSite": 1, "period": "day", "date": "yesterday"})
            assert caught.value.status == 400
