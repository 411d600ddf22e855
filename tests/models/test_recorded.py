"""Every recorded Matomo 5.11.2 response whose method has a model decodes through it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from matomo_client.models import (
    ActionRow,
    ReferrerRow,
    ReportMetadata,
    ReportRow,
    Site,
    Visit,
    VisitsSummary,
)

RECORDED = Path(__file__).parent.parent / "recorded"

# Recordings that are not the shape their method's model describes, and why.
NOT_A_MODEL_SHAPE = {
    # columns=nb_visits asks for one column; Matomo answers {"value": 23}, like getVisits.
    "035_VisitsSummary.get_day_columns",
}


def _load(stem: str) -> tuple[dict[str, Any], Any]:
    request = json.loads((RECORDED / f"{stem}.request.json").read_text(encoding="utf-8"))
    body = json.loads((RECORDED / request["response_file"]).read_text(encoding="utf-8"))
    return request, body


def _report_methods() -> set[str]:
    """Matomo's own list of DataTable reports (and the methods loading their subtables)."""
    _, metadata = _load("146_API.getReportMetadata_idSite1")
    methods = set()
    for item in metadata:
        methods.add(f"{item['module']}.{item['action']}")
        if "actionToLoadSubTables" in item:
            methods.add(f"{item['module']}.{item['actionToLoadSubTables']}")
    return methods


REPORTS = _report_methods()


def _is_multi_period(params: dict[str, Any]) -> bool:
    date = str(params.get("date", ""))
    if params.get("period") == "range":
        return False
    return date.startswith(("last", "previous")) or "," in date


def _is_multi_site(params: dict[str, Any]) -> bool:
    id_site = str(params.get("idSite", ""))
    return id_site == "all" or "," in id_site


def _leaves(params: dict[str, Any], body: Any) -> list[Any]:
    """Split multi-site and multi-period Maps into their leaf results."""
    leaves = [body]
    if _is_multi_site(params):
        leaves = [leaf for m in leaves for leaf in (m.values() if isinstance(m, dict) else [m])]
    if _is_multi_period(params):
        leaves = [leaf for m in leaves for leaf in (m.values() if isinstance(m, dict) else [])]
    return leaves


def _decode_rows(model: type[ReportRow]) -> Callable[[dict[str, Any], Any], list[Any]]:
    def decode(params: dict[str, Any], body: Any) -> list[Any]:
        decoded = []
        for leaf in _leaves(params, body):
            rows = model.rows(leaf)
            assert len(rows) == len(leaf)
            assert all(type(row) is model for row in rows)
            decoded.extend(rows)
        return decoded

    return decode


def _decode_single_row(params: dict[str, Any], body: Any) -> list[ReportRow]:
    """``Module.get`` reports are one row without a label (an object, not a list)."""
    decoded = []
    for leaf in _leaves(params, body):
        row = ReportRow.model_validate(leaf)
        assert row.label is None
        assert row.model_dump(exclude_none=True) or leaf in ([], {})
        decoded.append(row)
    return decoded


def _decode_visits(params: dict[str, Any], body: Any) -> list[Visit]:
    visits = TypeAdapter(list[Visit]).validate_python(body)
    assert [v.id_visit for v in visits] == [raw["idVisit"] for raw in body]
    return visits


def _decode_summary(params: dict[str, Any], body: Any) -> list[VisitsSummary]:
    sites = list(body.values()) if _is_multi_site(params) else [body]
    decoded: list[VisitsSummary] = []
    for site in sites:
        if _is_multi_period(params):
            series = VisitsSummary.series(site)
            assert len(series) == len(site)
            decoded.extend(series.values())
        else:
            summary = VisitsSummary.model_validate(site)
            assert summary.nb_visits == (site.get("nb_visits", 0) if site else 0)
            decoded.append(summary)
    return decoded


def _decode_sites(params: dict[str, Any], body: Any) -> list[Site]:
    sites = TypeAdapter(list[Site]).validate_python(body if isinstance(body, list) else [body])
    assert all(site.created is not None for site in sites)
    return sites


def _decode_metadata(params: dict[str, Any], body: Any) -> list[ReportMetadata]:
    items = TypeAdapter(list[ReportMetadata]).validate_python(body)
    assert len(items) == len(body)
    return items


def _decoder(method: str) -> Callable[[dict[str, Any], Any], list[Any]] | None:
    if method == "Live.getLastVisitsDetails":
        return _decode_visits
    if method == "VisitsSummary.get":
        return _decode_summary
    if method in ("SitesManager.getSitesWithAtLeastViewAccess", "SitesManager.getSiteFromId"):
        return _decode_sites
    if method == "API.getReportMetadata":
        return _decode_metadata
    if method not in REPORTS:
        return None
    if method.endswith(".get"):
        return _decode_single_row
    if method.startswith("Actions."):
        return _decode_rows(ActionRow)
    if method.startswith("Referrers."):
        return _decode_rows(ReferrerRow)
    return _decode_rows(ReportRow)


def _cases() -> list[Any]:
    cases = []
    for path in sorted(RECORDED.glob("*.request.json")):
        stem = path.name.removesuffix(".request.json")
        request = json.loads(path.read_text(encoding="utf-8"))
        method = str(request["params"].get("method"))
        if not request.get("response_is_json") or _decoder(method) is None:
            continue
        if stem in NOT_A_MODEL_SHAPE:
            continue
        body = json.loads((RECORDED / request["response_file"]).read_text(encoding="utf-8"))
        if isinstance(body, dict) and body.get("result") == "error":
            continue  # error bodies belong to the error classification tests
        cases.append(pytest.param(stem, id=stem))
    return cases


CASES = _cases()


def test_recordings_cover_every_modelled_method() -> None:
    """The parametrized decode below really runs over visits, summaries, rows, sites, metadata."""
    methods = {_load(case.values[0])[0]["params"]["method"] for case in CASES}
    assert {
        "Live.getLastVisitsDetails",
        "VisitsSummary.get",
        "Actions.getPageUrls",
        "Referrers.getAll",
        "SitesManager.getSitesWithAtLeastViewAccess",
        "SitesManager.getSiteFromId",
        "API.getReportMetadata",
        "UserCountry.getCountry",
        "DevicesDetection.getBrowsers",
        "Events.getCategory",
        "Goals.getItemsSku",
    } <= methods
    assert len(CASES) > 120


@pytest.mark.parametrize("stem", CASES)
def test_recorded_response_decodes(stem: str) -> None:
    """A real response validates through its model, and every result can become a record."""
    request, body = _load(stem)
    decode = _decoder(request["params"]["method"])
    assert decode is not None
    for model in decode(request["params"], body):
        record = model.to_record()
        assert all(key == key.lower() for key in record)
