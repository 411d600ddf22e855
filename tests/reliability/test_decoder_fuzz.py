"""Decoder fuzzing through the client's own read path: bytes in, a result or `DecodeError` out.

`tests/models/test_properties.py` feeds the pydantic models directly; this goes one layer up, the
way every client call decodes: Matomo-shaped JSON (real recorded answers, mutated: strings for
numbers, `[]`/`{}` flips, missing and extra fields, nulls, huge numbers, Unicode) is encoded to
bytes, wrapped in a 200 `Response`, and read by the endpoint (`endpoint.read(response)`): the
JSON layer, the endpoint's shape handling (Maps keyed by period, bulk lists, empty flips) and the
model. Anything but the result or a `DecodeError` would escape the error tree and crash a caller.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matomo_client import DateRange, Params, Period, Response
from matomo_client.endpoints import (
    Endpoint,
    GetBulkRequest,
    GetMatomoVersion,
    GetReportMetadata,
    LastVisitsDetails,
    LivePage,
    Report,
    SiteFromId,
    SitesWithViewAccess,
    VisitsSummaryGet,
    VisitsSummarySeries,
)
from matomo_client.errors import DecodeError
from matomo_client.models import ActionRow, ReferrerRow, ReportRow

RECORDED = Path(__file__).parent.parent / "recorded"
DAY = Period.day(date(2026, 11, 1))


def _load(prefix: str) -> Any:
    (path,) = RECORDED.glob(f"{prefix}_*.response.json")
    return json.loads(path.read_text(encoding="utf-8"))


# Real answers, trimmed so each example stays small: a few visits, rows, sites.
VISITS = _load("049")[:2]
SUMMARY = _load("015")
SUMMARY_MAP = _load("028")
SUMMARY_ALL_SITES = _load("036")
PAGE_ROWS = _load("067")[:4]
REFERRER_ROWS = _load("092")[:4]
SITES = _load("009")[:2]
SITE = _load("011")
METADATA = _load("146")[:3]
BULK = _load("153")

# Keys of at most five characters can never spell "result" or "message", so a generated value
# is never Matomo's error object (which rightly raises ApiError instead).
small_key = st.text(max_size=5)
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
numeric_text = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=0, max_value=10**12).map(lambda n: f"{n:,}"),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.decimals(min_value=-1000, max_value=1000, places=2).map(lambda d: f"{d}%"),
    st.sampled_from(["", "-", "NaN", "INF", "1e999", "0x1F", "٣", "１２"]),
)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    numeric_text,
    text,
)
quirky = st.one_of(
    scalar,
    st.just([]),
    st.just({}),
    st.lists(scalar, max_size=3),
    st.dictionaries(small_key, scalar, max_size=3),
)


def mutate(draw: Any, value: Any, depth: int = 0) -> Any:
    """A copy of `value` with Matomo's quirks mixed in at random places."""
    if depth > 3:
        return value
    if isinstance(value, dict):
        if value and draw(st.integers(0, 30)) == 0:
            return []  # Matomo's empty object renders as []
        out: dict[str, Any] = {}
        for key, child in value.items():
            op = draw(st.integers(0, 9))
            if op == 0:
                continue  # a field missing (another version, another plugin set)
            if op == 1:
                out[key] = draw(quirky)
            elif op == 2:
                out[key] = mutate(draw, child, depth + 1)
            else:
                out[key] = child
        for key, extra in draw(st.dictionaries(small_key, quirky, max_size=2)).items():
            out.setdefault(key, extra)
        return out
    if isinstance(value, list):
        if not value and draw(st.booleans()):
            return {}
        items = [mutate(draw, v, depth + 1) if draw(st.booleans()) else v for v in value]
        if draw(st.integers(0, 5)) == 0:
            items.append(draw(quirky))
        return items
    return draw(quirky) if draw(st.integers(0, 4)) == 0 else value


def _read(endpoint: Endpoint[Any], value: Any, ascii_only: bool) -> Any:
    """Encode `value` like a server would, then read it exactly as the client does."""
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    response = Response(200, {"content-type": "application/json; charset=utf-8"}, body)
    try:
        result = endpoint.read(response)
    except DecodeError as e:
        result = e
    if isinstance(result, DecodeError):
        assert result.method == endpoint.method
    return result


CASES: list[tuple[str, Endpoint[Any], Any]] = [
    ("visits", LastVisitsDetails(1, DAY, 100), VISITS),
    ("live page", LivePage(Params().id_site(1)), VISITS),
    ("summary", VisitsSummaryGet(1, DAY), SUMMARY),
    ("summary map", VisitsSummarySeries(1, "day", DateRange.last(3)), SUMMARY_MAP),
    ("summary all sites", VisitsSummarySeries(1, "day", DateRange.last(3)), SUMMARY_ALL_SITES),
    ("page rows", Report("Actions.getPageUrls", 1, DAY, ActionRow), PAGE_ROWS),
    ("referrer rows", Report("Referrers.getReferrerType", 1, DAY, ReferrerRow), REFERRER_ROWS),
    ("any report rows", Report("Goals.get", 1, DAY, ReportRow), PAGE_ROWS),
    ("sites", SitesWithViewAccess(), SITES),
    ("site", SiteFromId(1), SITE),
    ("metadata", GetReportMetadata(1), METADATA),
    ("version", GetMatomoVersion(), {"value": "5.11.2"}),
    (
        "bulk",
        GetBulkRequest(
            (
                ("VisitsSummary.get", Params().id_site(1)),
                ("API.getMatomoVersion", Params()),
                ("Referrers.getReferrerType", Params().id_site(1)),
            )
        ),
        BULK,
    ),
]

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),  # more: FUZZ_EXAMPLES=2000
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(case=st.sampled_from(CASES), data=st.data(), ascii_only=st.booleans())
def test_mutated_real_answers_decode_or_raise_decode_error(
    case: tuple[str, Endpoint[Any], Any], data: st.DataObject, ascii_only: bool
) -> None:
    """Every mutated real answer read by its endpoint is a result or a DecodeError, nothing else."""
    _, endpoint, real = case
    _read(endpoint, mutate(data.draw, real), ascii_only)


any_json = st.recursive(
    scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(small_key, children, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(case=st.sampled_from(CASES), value=any_json, ascii_only=st.booleans())
def test_arbitrary_json_decodes_or_raises_decode_error(
    case: tuple[str, Endpoint[Any], Any], value: Any, ascii_only: bool
) -> None:
    """Any JSON at all, read by any endpoint, is a result or a DecodeError."""
    _, endpoint, _ = case
    _read(endpoint, value, ascii_only)


@FUZZ
@given(
    keys=st.lists(
        st.one_of(
            st.dates().map(str),
            st.dates().map(lambda d: f"{d},{d}"),
            st.dates().map(lambda d: d.strftime("%Y-%m")),
            st.integers(1, 9999).map(str),
            text,
        ),
        max_size=4,
    ),
    data=st.data(),
)
def test_summary_maps_with_any_keys(keys: list[str], data: st.DataObject) -> None:
    """A VisitsSummary Map keyed by dates, weeks, months, years, site ids or junk: a dict of summaries or a DecodeError."""
    value = {k: data.draw(st.one_of(st.just([]), st.just(SUMMARY), st.builds(dict))) for k in keys}
    result = _read(VisitsSummarySeries(1, "day", DateRange.last(3)), value, True)
    if not isinstance(result, DecodeError):
        assert all(isinstance(d, date) for d in result)


def test_the_real_answers_decode() -> None:
    """Unmutated, every base answer above decodes into a result (so the fuzzing starts from valid data)."""
    for name, endpoint, real in CASES:
        if name == "summary all sites":
            continue  # keyed by site id, not by period: a DecodeError for a one-site series
        result = _read(endpoint, real, True)
        assert not isinstance(result, DecodeError), (name, result)
