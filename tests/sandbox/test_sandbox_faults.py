"""Fault switches and auth: a raw client sees what a real server or proxy would send."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from sandbox_support import TOKEN, api, client_for, recorded_config

from matomo_client.sandbox import Faults, Sandbox

VERSION = {"method": "API.getMatomoVersion"}


@pytest.mark.anyio
async def test_429_with_retry_after() -> None:
    """rate_429=1 answers 429 with a Retry-After header carrying retry_after_s."""
    sb = Sandbox(recorded_config(faults=Faults(rate_429=1.0, retry_after_s=7)))
    async with client_for(sb) as client:
        response = await api(client, **VERSION)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert sb.requests[-1].fault == "429"


@pytest.mark.anyio
async def test_5xx_pages_like_a_proxy() -> None:
    """error_5xx_rate=1 answers 500/502/503 with an HTML body, never JSON."""
    sb = Sandbox(recorded_config(faults=Faults(error_5xx_rate=1.0)))
    statuses = set()
    async with client_for(sb) as client:
        for _ in range(30):
            response = await api(client, **VERSION)
            statuses.add(response.status_code)
            assert response.headers["content-type"].startswith("text/html")
            assert f"<h1>{response.status_code} " in response.text
    assert statuses == {500, 502, 503}


@pytest.mark.anyio
async def test_truncated_json_body() -> None:
    """truncated_rate=1 sends status 200 with the first half of the JSON body."""
    sb = Sandbox(recorded_config(faults=Faults(truncated_rate=1.0)))
    async with client_for(sb) as client:
        response = await api(client, method="SitesManager.getSitesWithAtLeastViewAccess")
    assert response.status_code == 200
    assert response.text.startswith('[{"idsite":1')
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


@pytest.mark.anyio
async def test_html_login_page_with_200() -> None:
    """html_error_rate=1 answers 200 with a proxy's HTML sign-in page."""
    sb = Sandbox(recorded_config(faults=Faults(html_error_rate=1.0)))
    async with client_for(sb) as client:
        response = await api(client, **VERSION)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Sign in" in response.text


@pytest.mark.anyio
async def test_hung_response_times_the_client_out() -> None:
    """hang_rate=1 sleeps hang_s before answering, so a client with a shorter timeout fails."""
    sb = Sandbox(recorded_config(faults=Faults(hang_rate=1.0, hang_s=5.0)))
    async with client_for(sb) as client:
        with anyio.fail_after(3), pytest.raises(TimeoutError):
            with anyio.fail_after(0.2):
                await api(client, **VERSION)


@pytest.mark.anyio
async def test_faults_are_seeded_and_counted() -> None:
    """The same seed gives the same fault sequence; the log and counter see every request."""
    runs = []
    for _ in range(2):
        sb = Sandbox(recorded_config(faults=Faults(error_5xx_rate=0.3, rate_429=0.2)))
        async with client_for(sb) as client:
            statuses = [(await api(client, **VERSION)).status_code for _ in range(25)]
        runs.append(statuses)
        assert sb.request_count == 25
        assert [r.status for r in sb.requests] == statuses
    assert runs[0] == runs[1]
    assert {200, 429} <= set(runs[0])


@pytest.mark.anyio
async def test_latency_and_max_in_flight() -> None:
    """Concurrent requests are counted in max_in_flight while latency holds them open."""
    sb = Sandbox(recorded_config(latency_ms=50))

    async def one(client: httpx.AsyncClient) -> None:
        assert (await api(client, **VERSION)).status_code == 200

    async with client_for(sb) as client, anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(one, client)
    assert sb.max_in_flight == 4
    assert sb.in_flight == 0


@pytest.mark.anyio
async def test_token_rules() -> None:
    """POST token and Bearer work; a GET token needs the switch; a bad POST token gets HTML 401."""
    strict = Sandbox(recorded_config())
    lenient = Sandbox(recorded_config(accept_token_in_get=True))
    query = {"module": "API", "method": "API.getMatomoVersion", "format": "JSON"}
    async with client_for(strict) as client:
        assert (await api(client, **VERSION)).json() == {"value": "5.11.2"}
        bearer = await client.post(
            "index.php", data=query, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert bearer.json() == {"value": "5.11.2"}
        in_get = await client.get("index.php", params={**query, "token_auth": TOKEN})
        assert in_get.status_code == 401
        assert "required to be sent as a POST parameter" in in_get.json()["message"]
        bad = await client.post("index.php", data={**query, "token_auth": "nope"})
        assert bad.status_code == 401
        assert "<h2>Unable to authenticate with the provided token." in bad.text
        assert "nope" not in bad.text
    async with client_for(lenient) as client:
        in_get = await client.get("index.php", params={**query, "token_auth": TOKEN})
        assert in_get.json() == {"value": "5.11.2"}


@pytest.mark.anyio
async def test_request_log_never_holds_the_token() -> None:
    """The request log keeps the parameters but drops token_auth."""
    sb = Sandbox(recorded_config())
    async with client_for(sb) as client:
        await api(client, method="VisitsSummary.get", idSite=1, period="day", date="yesterday")
    (logged,) = sb.requests
    assert logged.method == "VisitsSummary.get"
    assert "token_auth" not in logged.params
    assert TOKEN not in repr(logged)
    assert TOKEN not in repr(sb.config)


def test_invalid_fault_probability_is_refused() -> None:
    """Probabilities outside 0..1 are a ValueError at construction."""
    with pytest.raises(ValueError, match="error_5xx_rate"):
        Faults(error_5xx_rate=1.5)
