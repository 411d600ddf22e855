"""Fidelity: the sandbox answers recorded Matomo 5.11.2 requests with the same status,
the same JSON shape (keys, value kinds, [] vs {}) and the same error texts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sandbox_support import (
    TOKEN,
    VIEWER_TOKEN,
    client_for,
    load_case,
    recorded_config,
    shape_mismatches,
)

from matomo_client.sandbox import Sandbox

# recorded cases the sandbox reproduces, by family
VISITS_SUMMARY = [*range(15, 40), 40, *range(42, 47)]
LIVE = [49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60]
ACTIONS = [66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 81, 82, 83, 84, 85, 91]
REFERRERS = [92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 106]
UNTYPED = [108, 109, 111, 117, 118, 119, 120, 124, 129]
API_AND_SITES = [1, 2, 4, 7, 9, 10, 11, 13, 146, 147]
BULK = [153, 154, 155, 156]
SITE3 = [
    158,
    159,
    160,
    161,
    162,
    163,
    164,
    166,
    167,
    168,
    169,
    170,
    172,
    173,
    174,
    175,
    177,
    178,
    179,
]
ERRORS = [
    182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199,
    200, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 217, 218, 219, 222, 223, 224,
]  # fmt: skip
# as user `viewer`, who sees site 2 only
VIEWER = [12, 157, 201, 202, 203]
CASES = (
    VISITS_SUMMARY
    + LIVE
    + ACTIONS
    + REFERRERS
    + UNTYPED
    + API_AND_SITES
    + BULK
    + SITE3
    + ERRORS
    + VIEWER
)


_SANDBOXES: dict[bool, Sandbox] = {}


def _sandbox(accept_token_in_get: bool) -> Sandbox:
    """One sandbox per token policy for the whole module (answers do not depend on history)."""
    if accept_token_in_get not in _SANDBOXES:
        _SANDBOXES[accept_token_in_get] = Sandbox(
            recorded_config(accept_token_in_get=accept_token_in_get, viewers={VIEWER_TOKEN: {2}})
        )
    return _SANDBOXES[accept_token_in_get]


LIVE_REFERENCE = [visit for n in [*LIVE, 55, 56, 228] for visit in json.loads(load_case(n)[1])]


def _request_parts(
    request: dict[str, Any],
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Query, form and headers that reproduce how the recorded call was sent."""
    params = {k: str(v) for k, v in request["params"].items()}
    auth = request["auth"]
    headers: dict[str, str] = {}
    token: str | None = TOKEN
    if "invalid token" in auth:
        token = "f" * 32
    elif "user 'viewer'" in auth:
        token = VIEWER_TOKEN
    elif auth.startswith("no token"):
        token = None
    in_get = request["http_method"] == "GET"
    query, form = (params, {}) if in_get else ({}, params)
    if token is not None:
        if auth.startswith("Authorization: Bearer"):
            headers["Authorization"] = f"Bearer {token}"
        elif "GET query" in auth:
            query["token_auth"] = token
        else:
            form["token_auth"] = token
    return query, form, headers


@pytest.mark.anyio
@pytest.mark.parametrize("number", CASES)
async def test_sandbox_answers_like_the_recording(number: int) -> None:
    """Status, body shape and error message match the recorded Matomo response."""
    request, recorded_body = load_case(number)
    # the recorded app token was not secure-only, so Matomo took it from the query string too
    get_token_ok = "GET query" in request["auth"] and "superuser app token" in request["auth"]
    sb = _sandbox(get_token_ok)
    query, form, headers = _request_parts(request)
    async with client_for(sb) as client:
        if request["http_method"] == "GET":
            response = await client.get("index.php", params=query, headers=headers)
        else:
            response = await client.post("index.php", params=query, data=form, headers=headers)
    assert response.status_code == request["status"], response.text[:400]
    if not request["response_is_json"]:
        recorded_text = recorded_body.decode("utf-8")
        if recorded_text.lstrip().startswith("<!DOCTYPE html>"):
            h2 = recorded_text.split("<h2>")[1].split("</h2>")[0]
            assert f"<h2>{h2}</h2>" in response.text
            assert response.headers["content-type"].startswith("text/html")
        else:
            assert response.text == recorded_text
        return
    recorded = json.loads(recorded_body)
    actual = response.json()
    if isinstance(recorded, dict) and recorded.get("result") == "error":
        assert actual == recorded
        return
    if number in LIVE:
        recorded = LIVE_REFERENCE  # one page shows few action types: compare with all of them
    assert shape_mismatches(recorded, actual) == []


def test_shape_signature_catches_differences() -> None:
    """The shape comparison is not vacuous: it flags kind, key and [] vs {} differences."""
    assert shape_mismatches({"a": 1}, {"a": "1"})
    assert shape_mismatches([{"a": 1}], [{"a": 1, "b": 2}])
    assert shape_mismatches([{"a": 1, "b": 2}], [{"a": 1}])
    assert shape_mismatches({"2026-11-28": []}, {"2026-11-28": {"x": 1}})
    assert shape_mismatches({"2026-11-28": []}, {"2026-11-29": []})
    assert not shape_mismatches([{"a": 1, "c": None}], [{"a": 2.5, "c": "x"}])


def _segment_forms(body: Any) -> set[str]:
    """Each row's segment with its values blanked (`referrerType==search;referrerKeyword==<v>`;
    an empty value stays empty), or `<none>` for a row without one."""
    rows = body if isinstance(body, list) else []
    return {
        re.sub(r"==[^;]+", "==<v>", r["segment"]) if "segment" in r else "<none>"
        for r in rows
        if isinstance(r, dict)
    }


@pytest.mark.anyio
@pytest.mark.parametrize("number", [95, 97, 98, 99, 101, 102, 104])
async def test_referrer_segments_are_written_as_matomo_writes_them(number: int) -> None:
    """The segments of referrer rows have the recorded form: which dimensions, in which order,
    `referrerKeyword==` empty for "Keyword not defined" (they end up in exported reports)."""
    request, recorded_body = load_case(number)
    query, form, headers = _request_parts(request)
    async with client_for(_sandbox(False)) as client:
        response = await client.post("index.php", params=query, data=form, headers=headers)
    actual = _segment_forms(response.json())
    assert actual
    assert actual <= _segment_forms(json.loads(recorded_body))
