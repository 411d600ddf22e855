"""Round 11 scale: a big sandbox day keeps its data, cheap requests answer while a day is
drawn, and Matomo's brute-force block can be switched on (recorded 229-232)."""

from __future__ import annotations

import hashlib
import threading
from datetime import date, timedelta
from typing import Any

import anyio
import httpx
import pytest
from click.testing import CliRunner
from sandbox_support import TOKEN, api, client_for, load_case, recorded_config

from matomo_client.sandbox import Faults, Sandbox, SandboxConfig, generate
from matomo_client.sandbox.records import Visit

TODAY = date(2026, 11, 29)
BAD_TOKEN = "f" * 32


def _digest(visits: tuple[Visit, ...]) -> str:
    return hashlib.sha256(repr(visits).encode()).hexdigest()[:16]


# -- the data a seed gives -------------------------------------------------------------------

# sha256 of repr(day_visits) before round 11's memory work: the same seed gives the same data
PINNED = {
    (1, date(2026, 11, 28)): (235, "ab7c94987ce06004"),
    (2, date(2026, 10, 25)): (166, "045314b4e4542a1b"),  # Berlin's 25-hour day
    (1, date(2026, 3, 29)): (233, "1f488e12ac0b5230"),
}


@pytest.mark.parametrize("shared", [False, True], ids=["small-day", "big-day"])
def test_a_seed_gives_the_same_visits(monkeypatch: pytest.MonkeyPatch, shared: bool) -> None:
    """Visits drawn with shared timestamps (a big day) or without (a small one) are the same
    records as before the memory work, ids and all."""
    monkeypatch.setattr(generate, "_SHARED_SECONDS", 0 if shared else 10**9)
    sb = Sandbox(SandboxConfig(seed=7, days=400, visits_per_day=300, today=TODAY))
    for (id_site, day), (count, digest) in PINNED.items():
        visits = sb.world.day_visits(id_site, day)
        assert (len(visits), _digest(visits)) == (count, digest)
        ids = [v.id_visit for v in visits]
        assert ids == list(range(ids[0], ids[0] + len(ids)))


def test_a_big_day_shares_its_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    """From `_SHARED_SECONDS` visits a day, a second of the day is one int object in every
    visit (a timestamp per action was a 32-byte int of its own)."""
    monkeypatch.setattr(generate, "_SHARED_SECONDS", 100)
    sb = Sandbox(SandboxConfig(days=3, visits_per_day=300, today=TODAY))
    visits = sb.world.day_visits(1, TODAY - timedelta(days=1))
    by_value: dict[int, int] = {}
    for v in visits:
        for a in v.actions:
            assert by_value.setdefault(a.ts, id(a.ts)) == id(a.ts)
        assert id(v.last_ts) == id(v.actions[-1].ts)


# -- cheap requests while a big day is drawn ---------------------------------------------------


def _form(method: str, **params: Any) -> dict[str, str]:
    data = {"module": "API", "format": "JSON", "token_auth": TOKEN, "method": method}
    data.update({k: str(v) for k, v in params.items()})
    return data


@pytest.mark.anyio
async def test_version_answers_while_a_big_day_is_drawn() -> None:
    """While a data request draws a big day, `API.getMatomoVersion` and the site list answer at
    once (the whole server answered nothing else until the day was done, ~30 s at 1,000,000
    visits a day)."""
    sb = Sandbox(SandboxConfig(days=5, visits_per_day=50, today=TODAY))
    sb.offload = True  # as from OFFLOAD_VISITS_PER_DAY, without drawing a big day
    drawing, release = threading.Event(), threading.Event()
    generate_day = sb.world._generate

    def slow_generate(id_site: int, day: date) -> tuple[Visit, ...]:
        drawing.set()
        release.wait(5)  # old code: this blocks the event loop, so nothing else answers
        return generate_day(id_site, day)

    sb.world._generate = slow_generate  # type: ignore[method-assign]
    answered: list[int] = []
    async with client_for(sb) as client:

        async def summary() -> None:
            data = _form("VisitsSummary.get", idSite=1, period="day", date="yesterday")
            response = await client.post("index.php", data=data)
            answered.append(response.status_code)

        async with anyio.create_task_group() as tg:
            tg.start_soon(summary)
            assert await anyio.to_thread.run_sync(drawing.wait, 10)
            version = await client.post("index.php", data=_form("API.getMatomoVersion"))
            sites = await client.post(
                "index.php", data=_form("SitesManager.getSitesIdWithAtLeastViewAccess")
            )
            still_drawing = not release.is_set() and answered == []
            release.set()
    assert still_drawing
    assert version.json() == {"value": "5.11.2"}
    assert sites.json() == [1, 2, 3]
    assert answered == [200]


@pytest.mark.anyio
async def test_answers_are_the_same_from_a_worker_thread() -> None:
    """A big world's requests, run in a worker thread under the world lock, answer the same
    bytes as on the event loop (reports, Live, a segment, an error)."""
    calls = [
        _form("VisitsSummary.get", idSite=1, period="day", date="last3"),
        _form("Live.getLastVisitsDetails", idSite=2, period="day", date="yesterday"),
        _form("Actions.getPageUrls", idSite=1, period="week", date="yesterday", flat=1),
        _form("Referrers.getAll", idSite=1, period="day", date="yesterday",
              segment="visitorType==returning"),
        _form("Nope.get", idSite=1),
    ]  # fmt: skip
    bodies: dict[bool, list[bytes]] = {}
    for offload in (False, True):
        sb = Sandbox(SandboxConfig(days=5, visits_per_day=80, today=TODAY, live_traffic=True))
        sb.offload = offload
        async with client_for(sb) as client:
            bodies[offload] = [(await client.post("index.php", data=d)).content for d in calls]
    assert bodies[True] == bodies[False]


def test_big_worlds_run_data_requests_off_the_event_loop() -> None:
    """From `OFFLOAD_VISITS_PER_DAY` visits a day a sandbox runs data requests in a worker."""
    from matomo_client.sandbox.app import OFFLOAD_VISITS_PER_DAY

    assert Sandbox(SandboxConfig(visits_per_day=OFFLOAD_VISITS_PER_DAY, days=1)).offload
    assert not Sandbox(SandboxConfig(visits_per_day=OFFLOAD_VISITS_PER_DAY - 1, days=1)).offload


# -- the brute-force block -------------------------------------------------------------------


def _recorded_html(number: int) -> str:
    """A recorded HTML page with the logo's absolute URL made relative, as the sandbox serves."""
    return load_case(number)[1].decode().replace("http://127.0.0.1:18080/", "")


async def _fail_logins(client: httpx.AsyncClient, n: int) -> None:
    for _ in range(n):
        response = await client.post(
            "index.php", data=_form("API.getMatomoVersion") | {"token_auth": BAD_TOKEN}
        )
        assert response.status_code == 401


@pytest.mark.anyio
async def test_brute_force_block_answers_as_recorded() -> None:
    """With `Faults(max_failed_logins=20)` (Matomo's default), 21 failed logins block every
    request with a token, valid or not, POST or Bearer, with the recorded HTTP 500 page (229,
    230); anonymous requests still answer (231); `unblock_logins()` lifts it (232)."""
    sb = Sandbox(recorded_config(faults=Faults(max_failed_logins=20)))
    async with client_for(sb) as client:
        await _fail_logins(client, 20)
        ok = await api(client, method="API.getMatomoVersion")
        assert ok.status_code == 200  # 20 failures are still allowed (`<=` in Matomo)
        await _fail_logins(client, 1)

        request, _ = load_case(229)
        blocked = await api(client, **request["params"])
        bearer = await client.post(
            "index.php",
            data={"module": "API", "format": "JSON", "method": "API.getMatomoVersion"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        bad = await client.post(
            "index.php", data=_form("API.getMatomoVersion") | {"token_auth": BAD_TOKEN}
        )
        anonymous = await client.post(
            "index.php", data={"module": "API", "format": "JSON", "method": "API.getMatomoVersion"}
        )
        sb.unblock_logins()
        after = await api(client, method="API.getMatomoVersion")
    for response, number in ((blocked, 229), (bearer, 230), (bad, 229)):
        assert response.status_code == 500
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["cache-control"] == "private, no-cache, no-store"
        assert response.text == _recorded_html(number)
    assert anonymous.status_code == 401
    assert anonymous.content == load_case(231)[1]
    assert after.status_code == 200
    assert after.content == load_case(232)[1]
    assert [r.fault for r in sb.requests].count("brute-force") == 3


@pytest.mark.anyio
async def test_brute_force_block_in_api_format_with_module_and_method_in_the_url() -> None:
    """Errors thrown while Matomo starts come back in API format when module and method are in
    the query string (core/ExceptionHandler.php), the block too, with its status 500."""
    sb = Sandbox(recorded_config(faults=Faults(max_failed_logins=0)))
    async with client_for(sb) as client:
        await _fail_logins(client, 1)
        response = await client.post(
            "index.php",
            params={"module": "API", "method": "API.getMatomoVersion", "format": "JSON"},
            data={"token_auth": TOKEN},
        )
    assert response.status_code == 500
    assert response.json() == {
        "result": "error",
        "message": "Too many failed logins. Please wait and try logging in again later.",
    }


def test_max_failed_logins_is_checked() -> None:
    """A negative or non-integer limit is refused at once."""
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="max_failed_logins"):
            Faults(max_failed_logins=bad)  # type: ignore[arg-type]


def test_cli_max_failed_logins_reaches_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """`matomo sandbox --max-failed-logins N` configures the block."""
    import matomo_client.sandbox
    from matomo_client.cli import cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(matomo_client.sandbox, "serve", lambda *a, **k: calls.append(k))
    result = CliRunner().invoke(cli, ["sandbox", "--port", "0", "--max-failed-logins", "3"])
    assert result.exit_code == 0, result.output
    assert calls[0]["faults"] == Faults(max_failed_logins=3)
