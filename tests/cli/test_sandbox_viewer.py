"""`matomo sandbox --viewer TOKEN:IDS`: tokens of users who see some sites only."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from .conftest import SANDBOX_TOKEN, SMALL_WORLD, clean_env, invoke, one_error_line, run_cli

VIEWER = "cli-viewer-tok42"


def test_viewer_flags_reach_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Repeated --viewer flags become one token -> sites map handed to the sandbox."""
    seen: dict[str, Any] = {}

    def fake_serve(host: str, port: int, **options: Any) -> None:
        seen.update(options)

    monkeypatch.setattr("matomo_client.sandbox.serve", fake_serve)
    r = invoke(["sandbox", "--port", "0", "--viewer", f"{VIEWER}:2", "--viewer", "other:1,3"])
    assert r.exit_code == 0, r.stderr
    assert seen["viewers"] == {VIEWER: frozenset({2}), "other": frozenset({1, 3})}
    assert seen["token"] == SANDBOX_TOKEN


@pytest.mark.parametrize(
    "spec", [f"{VIEWER}", f"{VIEWER}:0", f"{VIEWER}:two", SANDBOX_TOKEN + ":1"]
)
def test_bad_viewer_is_one_line_without_the_token(spec: str) -> None:
    """A malformed --viewer (or one reusing the super user's token) is one Error line, exit 2, no token."""
    r = invoke(["sandbox", "--port", "0", "--viewer", spec])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "--viewer" in line
    assert VIEWER not in line
    assert SANDBOX_TOKEN not in line


def test_served_viewer_sees_only_its_site() -> None:
    """A `matomo sandbox` served with a viewer: `matomo sites` as that viewer lists site 2 only,
    a call on site 1 is Matomo's 401 as one Error line, and the start banner omits the token."""
    command = [sys.executable, "-m", "matomo_client.cli", "sandbox", "--port", "0"]
    command += [*SMALL_WORLD, "--viewer", f"{VIEWER}:2"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
    )
    assert process.stdout is not None
    try:
        banner = [process.stdout.readline().strip() for _ in range(3)]
        assert "http://" in banner[0], banner
        url = banner[0][banner[0].index("http://") :]
        env = clean_env(MATOMO_URL=url, MATOMO_TOKEN=VIEWER)
        sites = run_cli(["sites", "--json"], env=env)
        refused = run_cli(
            ["call", "VisitsSummary.get", "idSite=1", "period=day", "date=yesterday"], env=env
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert banner[2] == "viewer #1: view access to sites 2"
    assert all(VIEWER not in line for line in banner)
    assert sites.returncode == 0, sites.stderr
    assert [s["id_site"] for s in json.loads(sites.stdout)] == [2]
    assert refused.returncode == 1
    line = one_error_line(refused.stderr)
    assert "requires 'view' access for the website id = 1" in line
    assert VIEWER not in refused.stderr + refused.stdout
