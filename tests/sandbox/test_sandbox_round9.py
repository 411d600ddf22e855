"""Round 9: the sandbox as a product in other people's tests, demos and CI.

Stable visit ids whatever `--days` and today are, one-line errors for bad flags of
`matomo sandbox` and `python -m matomo_client.sandbox`, a served sandbox that keeps no
request log, and `serve_in_thread` for the blocking `Matomo` client.
"""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from matomo_client import Auth, Matomo, Period
from matomo_client.cli import cli
from matomo_client.sandbox import Sandbox, SandboxConfig, serve
from matomo_client.sandbox import server as server_module

TODAY = date(2026, 11, 29)
DAY = date(2026, 11, 20)


def _visits(days: int, today: date, id_site: int = 1) -> list[dict[str, Any]]:
    world = Sandbox(SandboxConfig(seed=7, days=days, visits_per_day=30, today=today)).world
    return world.visits(id_site, DAY)


@pytest.mark.parametrize("id_site", [1, 2])
def test_a_days_visits_do_not_depend_on_days_or_today(id_site: int) -> None:
    """Day D's visits (ids, IPs, visit counts...) are the same whatever `days` and `today` are:
    a sandbox restarted the next day must not give yesterday's ids to another day's visits."""
    base = _visits(30, TODAY, id_site)
    assert base
    assert _visits(60, TODAY, id_site) == base
    assert _visits(30, TODAY + timedelta(days=1), id_site) == base
    assert _visits(10, DAY, id_site) == base


def test_ids_of_a_restarted_sandbox_never_collide() -> None:
    """Yesterday's sandbox and today's give no two different visits the same (site, idVisit)."""
    seen: dict[tuple[int, int], str] = {}
    for today in (TODAY, TODAY + timedelta(days=1)):
        world = Sandbox(SandboxConfig(seed=7, days=3, visits_per_day=30, today=today)).world
        for id_site in (1, 2):
            for n in range(3):
                day = today - timedelta(days=n)
                for v in world.visits(id_site, day):
                    key = (id_site, v["idVisit"])
                    fingerprint = f"{day}/{v['firstActionTimestamp']}/{v['visitorId']}"
                    assert seen.setdefault(key, fingerprint) == fingerprint, key


def test_days_reaching_before_1970_are_refused() -> None:
    """A world starting before the id epoch is refused in words, not given negative ids."""
    with pytest.raises(ValueError, match="before 1970-01-01"):
        Sandbox(SandboxConfig(days=30_000, today=TODAY))


@pytest.mark.parametrize("field", ["latency_ms", "latency_jitter_ms"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_config_refuses_non_finite_latency(field: str, value: float) -> None:
    """NaN latency was silently none, infinite latency hung every request."""
    with pytest.raises(ValueError, match="finite"):
        SandboxConfig(**{field: value})


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("anonymous:1", "'anonymous' is Matomo's token for no login"),
        (" padded:1", "whitespace"),
    ],
)
def test_cli_refuses_bad_viewer_tokens_in_one_line(spec: str, needle: str) -> None:
    """`--viewer anonymous:1` was an "internal error (ValueError)" with 'anonymous' masked."""
    r = CliRunner().invoke(
        cli, ["sandbox", "--host", "192.0.2.1", "--port", "1", "--viewer", spec], env={}
    )
    assert r.exit_code == 2, r.output
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: --viewer: viewer #1: ")
    assert needle in lines[0]
    assert "internal error" not in lines[0]
    assert "***" not in lines[0]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--days", "0"], "days must be >= 1"),
        (["--fault-rate", "2"], "between 0 and 1"),
        (["--viewer", "anonymous:1"], "anonymous"),
        (["--port", "99999"], "--port"),
        (["--latency-ms", "inf"], "finite"),
    ],
)
def test_python_m_sandbox_bad_values_are_one_usage_error(args: list[str], needle: str) -> None:
    """`python -m matomo_client.sandbox` (the README's other way to serve) answered bad values
    with a traceback; now with argparse's usage error and exit code 2."""
    r = subprocess.run(
        [sys.executable, "-m", "matomo_client.sandbox", "--host", "192.0.2.1", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert needle in r.stderr.splitlines()[-1]


def test_a_served_sandbox_keeps_no_request_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """`matomo sandbox` ran for days kept every request (about 1.4 KB each) that nobody can read."""
    served: list[Sandbox] = []

    class _Server:
        def __init__(self, sandbox: Sandbox) -> None:
            served.append(sandbox)

        def run(self, sockets: list[Any]) -> None:
            del sockets

    monkeypatch.setattr(server_module, "_server", lambda sandbox, *a, **k: _Server(sandbox))
    serve(port=0, out=_Sink(), days=3)
    (sandbox,) = served
    assert sandbox.keep_requests is False


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.anyio
async def test_sandbox_without_a_request_log_still_counts() -> None:
    """keep_requests=False leaves `requests` empty; the counters still count."""
    import httpx

    sb = Sandbox(SandboxConfig(days=3, visits_per_day=5, today=TODAY), keep_requests=False)
    transport = httpx.ASGITransport(app=sb.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/") as client:
        data = {"module": "API", "method": "API.getMatomoVersion", "format": "json"}
        response = await client.post("index.php", data={**data, "token_auth": sb.config.token})
    assert response.json() == {"value": "5.11.2"}
    assert sb.request_count == 1
    assert sb.requests == []


def test_serve_in_thread_for_the_blocking_client() -> None:
    """The blocking `Matomo` can test against a Sandbox it holds: port 0, the URL, ground truth."""
    import threading

    from matomo_client.sandbox import serve_in_thread

    before = threading.active_count()
    sb = Sandbox(SandboxConfig(seed=3, days=10, visits_per_day=20, today=TODAY))
    day = TODAY - timedelta(days=1)
    with (
        serve_in_thread(sb) as url,
        Matomo(url, auth=Auth.token(sb.config.token)) as m,
    ):
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0/")
        summary = m.visits_summary.get(1, Period.day(day))
        assert summary.nb_visits == len(sb.world.visits(1, day))
    assert [r.method for r in sb.requests][-1] == "VisitsSummary.get"
    # the server stopped with the block: no thread left behind, the port is closed
    assert threading.active_count() == before
    import httpx

    with pytest.raises(httpx.TransportError):
        httpx.post(url + "index.php", timeout=2)
