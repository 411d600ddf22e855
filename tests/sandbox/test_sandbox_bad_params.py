"""Malformed or extreme parameters get Matomo's answer (an error body, zeros, []), never an
exception out of the app: under uvicorn that is a bare 500, which a client retries."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from sandbox_support import TOKEN, api, client_for, recorded_config

from matomo_client.sandbox import Sandbox

pytestmark = pytest.mark.anyio

SUMMARY = {"method": "VisitsSummary.get", "idSite": 1}
LIVE = {"method": "Live.getLastVisitsDetails", "idSite": 1, "doNotFetchActions": 1}
BAD_IDS = "Website IDs could not be read from the request, ie. idSite="


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """The recorded world's dates."""
    return Sandbox(recorded_config())


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({**SUMMARY, "idSite": "²", "period": "day", "date": "today"}, BAD_IDS),  # isdigit()
        ({**SUMMARY, "period": "range", "date": "last100000000"}, "data"),
        ({**SUMMARY, "period": "range", "date": "previous100000000"}, "data"),
        ({**SUMMARY, "period": "week", "date": "9999-12-31"}, "zeros"),
        ({**SUMMARY, "period": "month", "date": "9999-12-31"}, "zeros"),
        ({**SUMMARY, "period": "week", "date": "9999-12-20,9999-12-31"}, "empty map"),
        ({**LIVE, "period": "day", "date": "9999-12-31"}, []),
        ({**LIVE, "period": "range", "date": "last100000000", "filter_limit": 1}, "one"),
        ({**LIVE, "period": "day", "date": "2026-11-20", "countVisitorsToFetch": "x"}, "list"),
    ],
)
async def test_answered_not_raised(sandbox: Sandbox, params: dict[str, Any], expected: Any) -> None:
    """Each answers 200 with what Matomo would send."""
    async with client_for(sandbox) as client:
        response = await api(client, **params)
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    if isinstance(expected, str) and expected.startswith("Website"):
        assert body == {"result": "error", "message": expected}
    elif expected == "data":
        assert body["nb_visits"] > 0
    elif expected == "zeros":
        assert body["nb_visits"] == 0
    elif expected == "empty map":
        assert body
        assert all(v == [] for v in body.values())
    elif expected == "one":
        assert len(body) == 1
    elif expected == "list":
        assert isinstance(body, list)
        assert body
    else:
        assert body == expected


async def test_bulk_urls_without_indexes_are_a_list(sandbox: Sandbox) -> None:
    """`urls[]=a&urls[]=b` is PHP's list of two sub-requests, as `urls[0]`/`urls[1]` are; an
    index that only isdigit() believes in ('²') is not one."""
    form = [
        ("module", "API"), ("format", "JSON"), ("token_auth", TOKEN),
        ("method", "API.getBulkRequest"),
        ("urls[]", "method=API.getMatomoVersion"),
        ("urls[]", "method=VisitsSummary.getVisits&idSite=1&period=day&date=2026-11-28"),
        ("urls[²]", "method=API.getMatomoVersion"),
    ]  # fmt: skip
    async with client_for(sandbox) as client:
        response = await client.post(
            "index.php",
            content=urlencode(form),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 200, response.text[:300]
    version, visits = response.json()
    assert version == {"value": "5.11.2"}
    assert isinstance(visits["value"], int)


async def test_a_repeated_site_id_is_one_site(sandbox: Sandbox) -> None:
    """`idSite=1,1` is site 1 (Matomo drops repeats), not a Map keyed by site; Live gives each
    visit once."""
    day = {"period": "day", "date": "2026-11-20"}
    async with client_for(sandbox) as client:
        once = (await api(client, **SUMMARY, **day)).json()
        twice = (await api(client, **{**SUMMARY, "idSite": "1,1"}, **day)).json()
        live = (await api(client, **{**LIVE, "idSite": "1,1"}, filter_limit=-1, **day)).json()
    assert twice == once
    ids = [v["idVisit"] for v in live]
    assert len(ids) == len(set(ids)) == once["nb_visits"]
