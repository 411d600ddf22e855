"""Every response recorded from a real Matomo 5.11.2 decodes, or raises the error we expect."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from matomo_client._core.decode import api_error_from_value, read_json, read_raw
from matomo_client._core.http import Response
from matomo_client.errors import (
    ApiError,
    ApiErrorKind,
    BodyProblem,
    NonJsonBodyError,
)

RECORDED = Path(__file__).resolve().parent.parent / "recorded"

A = ApiErrorKind


@dataclass(frozen=True)
class Case:
    """One recorded call: the request metadata and the raw response."""

    name: str
    meta: dict[str, Any]
    body: bytes

    @property
    def method(self) -> str:
        return str(self.meta["params"].get("method", ""))

    @property
    def response(self) -> Response:
        headers = {k.lower(): v for k, v in self.meta["response_headers"].items()}
        return Response(self.meta["status"], headers, self.body)


def _load() -> list[Case]:
    cases = []
    for request_file in sorted(RECORDED.glob("*.request.json")):
        meta = json.loads(request_file.read_text("utf-8"))
        body = (RECORDED / meta["response_file"]).read_bytes()
        cases.append(Case(request_file.name.removesuffix(".request.json"), meta, body))
    return cases


CASES = _load()
BY_NAME = {case.name: case for case in CASES}

# Every recorded error, by file name: (kind, HTTP status). All of them are ApiError; the
# 2xx XML success is the one NonJsonBodyError for read_json. Anything not listed is a success.
API_ERRORS: dict[str, tuple[ApiErrorKind, int]] = {
    "025_VisitsSummary.get_range_last7_comma_today": (A.INVALID_PARAMETER, 200),
    "040_VisitsSummary.getBounceRate_day": (A.NOT_FOUND, 400),
    "156_API.getBulkRequest_no_urls": (A.INVALID_PARAMETER, 400),
    "182_error.invalid_token": (A.AUTH, 401),  # HTML page
    "183_error.invalid_token_short": (A.AUTH, 401),  # HTML page
    "184_error.invalid_token_via_GET": (A.AUTH, 401),  # JSON: module/method in the query
    "185_error.invalid_token_bulk": (A.AUTH, 401),  # HTML page
    "186_error.invalid_token_getMatomoVersion": (A.AUTH, 401),  # HTML page
    "187_error.no_token": (A.PERMISSION, 401),  # anonymous: authenticated, but no access
    "188_error.no_token_getMatomoVersion": (A.PERMISSION, 401),
    "189_error.bearer_invalid": (A.AUTH, 401),  # HTML page
    "190_error.secure_only_token_via_GET": (A.AUTH, 401),
    "192_error.unknown_method": (A.NOT_FOUND, 400),
    "193_error.unknown_module": (A.NOT_FOUND, 404),
    "194_error.method_without_dot": (A.INVALID_PARAMETER, 200),
    "195_error.missing_method": (A.INVALID_PARAMETER, 200),
    "196_error.empty_method": (A.INVALID_PARAMETER, 200),
    "197_error.invalid_idSite_999": (A.NOT_FOUND, 200),
    "198_error.invalid_idSite_abc": (A.INVALID_PARAMETER, 200),
    "199_error.invalid_idSite_0": (A.INVALID_PARAMETER, 200),
    "200_error.missing_idSite": (A.INVALID_PARAMETER, 400),
    "201_error.site_without_access_viewer": (A.PERMISSION, 401),
    "203_error.viewer_write_method": (A.PERMISSION, 401),
    "204_error.invalid_period": (A.INVALID_PARAMETER, 200),
    "205_error.missing_period": (A.INVALID_PARAMETER, 400),
    "206_error.missing_date": (A.INVALID_PARAMETER, 400),
    "207_error.invalid_date": (A.INVALID_PARAMETER, 200),
    "208_error.invalid_date_month13": (A.INVALID_PARAMETER, 200),
    "209_error.range_single_date": (A.INVALID_PARAMETER, 200),
    "210_error.range_start_after_end": (A.INVALID_PARAMETER, 200),
    "211_error.range_lastN_keyword_comma_today_day": (A.INVALID_PARAMETER, 200),
    "212_error.date_too_old": (A.INVALID_PARAMETER, 200),
    "214_error.invalid_segment": (A.INVALID_PARAMETER, 200),
    "215_error.invalid_segment_syntax": (A.INVALID_PARAMETER, 200),
    "216_error.invalid_format": (A.INVALID_PARAMETER, 200),  # plain text "Error: ..."
    "217_error.missing_required_param": (A.INVALID_PARAMETER, 400),
    "218_error.invalid_idSubtable_string": (A.INVALID_PARAMETER, 200),
    "221_error.CustomDimensions_unknown_id": (A.NOT_FOUND, 200),
    # module= empty is routed to the widget controller, whose HTML error page we still read.
    "222_error.empty_module_param": (A.UNKNOWN, 500),
    "223_error.invalid_token_format_xml": (A.AUTH, 401),  # HTML page despite format=xml
    "224_error.unknown_method_GET": (A.NOT_FOUND, 400),
    "225_error.live_disabled_getLastVisitsDetails": (A.DISABLED, 200),
    "226_error.live_disabled_getVisitorProfile": (A.DISABLED, 200),
    "229_error.ip_blocked_brute_force_valid_token": (A.RATE_LIMITED, 500),  # HTML page
    "230_error.ip_blocked_brute_force_bearer": (A.RATE_LIMITED, 500),  # HTML page
    "231_error.ip_blocked_brute_force_anonymous": (A.PERMISSION, 401),
}

# Successes that are not JSON: read_json refuses them, read_raw returns them as they are.
NON_JSON_SUCCESSES = {"008_API.getMatomoVersion_xml": BodyProblem.OTHER_FORMAT}

SUCCESSES = [c for c in CASES if c.name not in API_ERRORS and c.name not in NON_JSON_SUCCESSES]


def _ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


def test_all_recordings_are_covered() -> None:
    """The fixture folder holds all 232 recorded calls and every table entry names a real file."""
    assert len(CASES) == 232
    assert set(API_ERRORS) <= set(BY_NAME)
    assert set(NON_JSON_SUCCESSES) <= set(BY_NAME)


def test_every_recorded_error_shape_is_in_the_table() -> None:
    """Each response the recorder saw as an error (JSON error or non-JSON body) has an entry."""
    flagged = {
        c.name
        for c in CASES
        if c.meta["response_shape"] == "error" or not c.meta["response_is_json"]
    }
    assert flagged == set(API_ERRORS) | set(NON_JSON_SUCCESSES)


@pytest.mark.parametrize("case", SUCCESSES, ids=_ids(SUCCESSES))
def test_success_decodes_like_json_loads(case: Case) -> None:
    """A recorded success (quirks included) decodes to exactly what json.loads gives."""
    assert read_json(case.method, case.response) == json.loads(case.body)


@pytest.mark.parametrize("case", SUCCESSES, ids=_ids(SUCCESSES))
def test_success_raw_is_untouched(case: Case) -> None:
    """read_raw hands a recorded success back byte for byte."""
    assert read_raw(case.method, case.response) == case.body


ERROR_CASES = [BY_NAME[name] for name in API_ERRORS]


@pytest.mark.parametrize("case", ERROR_CASES, ids=_ids(ERROR_CASES))
def test_error_maps_to_api_error(case: Case) -> None:
    """A recorded error becomes an ApiError with the expected kind, HTTP status and method."""
    kind, status = API_ERRORS[case.name]
    with pytest.raises(ApiError) as caught:
        read_json(case.method, case.response)
    error = caught.value
    assert (error.kind, error.status, error.method) == (kind, status, case.method)
    assert error.message
    assert "<" not in error.message  # HTML pages give their text, not their markup
    assert len(repr(error)) < 400


@pytest.mark.parametrize("case", ERROR_CASES, ids=_ids(ERROR_CASES))
def test_error_raw_raises_the_same(case: Case) -> None:
    """read_raw raises the same ApiError as read_json for every recorded error."""
    with pytest.raises(ApiError) as from_json:
        read_json(case.method, case.response)
    with pytest.raises(ApiError) as from_raw:
        read_raw(case.method, case.response)
    assert str(from_raw.value) == str(from_json.value)
    assert from_raw.value.kind is from_json.value.kind


def test_html_error_page_message_is_the_h2_text() -> None:
    """The 401 HTML page yields Matomo's sentence, unescaped, as the message users match on."""
    case = BY_NAME["182_error.invalid_token"]
    with pytest.raises(ApiError) as caught:
        read_json(case.method, case.response)
    assert caught.value.message == (
        "Unable to authenticate with the provided token. It is either invalid or expired."
    )
    assert str(caught.value) == (
        "Matomo API error in VisitsSummary.get (HTTP 401, AUTH): "
        "Unable to authenticate with the provided token. It is either invalid or expired."
    )


def test_brute_force_page_message() -> None:
    """The 500 brute-force page is a RATE_LIMITED ApiError carrying Matomo's text."""
    case = BY_NAME["229_error.ip_blocked_brute_force_valid_token"]
    with pytest.raises(ApiError) as caught:
        read_json(case.method, case.response)
    assert caught.value.message.startswith("Too many failed logins.")


def test_plain_text_format_error_message() -> None:
    """The plain-text renderer error loses its "Error: " prefix and keeps the sentence."""
    case = BY_NAME["216_error.invalid_format"]
    with pytest.raises(ApiError) as caught:
        read_json(case.method, case.response)
    assert caught.value.message.startswith("Renderer format 'foo' not valid.")


@pytest.mark.parametrize("name", sorted(NON_JSON_SUCCESSES))
def test_non_json_success(name: str) -> None:
    """A 2xx XML success is a NonJsonBodyError for read_json but plain bytes for read_raw."""
    case = BY_NAME[name]
    with pytest.raises(NonJsonBodyError) as caught:
        read_json(case.method, case.response)
    assert caught.value.problem is NON_JSON_SUCCESSES[name]
    assert caught.value.body == case.body
    assert read_raw(case.method, case.response) == case.body


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "154_API.getBulkRequest_with_errors",
            [None, A.NOT_FOUND, A.NOT_FOUND, A.INVALID_PARAMETER, None],
        ),
        ("157_API.getBulkRequest_viewer_mixed_access", [None, A.PERMISSION]),
    ],
)
def test_bulk_items(name: str, expected: list[ApiErrorKind | None]) -> None:
    """A bulk answer decodes as a list whose failed items api_error_from_value turns into errors."""
    case = BY_NAME[name]
    items = read_json(case.method, case.response)
    errors = [api_error_from_value("API.getBulkRequest", item) for item in items]
    assert [e.kind if e else None for e in errors] == expected
    assert all(e.status == 200 for e in errors if e)
