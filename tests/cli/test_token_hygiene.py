"""The token never appears in anything the CLI prints, even with --debug and on failures."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from matomo_client.cli import connection
from matomo_client.cli.failures import _ScrubbingFormatter as Scrubbing

from .conftest import Served, clean_env, invoke, run_cli

MARKER = "MarkerTok3n7f1e2d"  # alphanumeric, so it can also travel inside a method name


def _assert_clean(stdout: str, stderr: str) -> None:
    assert MARKER not in stdout
    assert MARKER not in stderr
    assert MARKER.lower() not in (stdout + stderr).lower()


COMMANDS = [
    ["check"],
    ["sites"],
    ["sites", "--json"],
    ["call", "API.getMatomoVersion"],
    ["call", "--raw", "SitesManager.getSitesWithAtLeastViewAccess"],
    ["call", "--raw", "--format", "xml", "API.getMatomoVersion"],
    ["export", "visits", "--site", "all", "--from", "last2", "--to", "today", "--out", "v.duckdb"],
    ["export", "reports", "--site", "1", "--from", "last2", "--to", "yesterday",
     "--report", "VisitsSummary.get", "--out", "r.duckdb"],
    # failures: the server echoes the marker back (unknown method), bad dates, bad sites
    ["call", f"API.{MARKER}"],
    ["export", "visits", "--site", "99", "--from", "last2", "--to", "yesterday"],
    ["export", "visits", "--site", "1", "--from", "nonsense", "--to", "yesterday"],
]  # fmt: skip


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_in_process_with_debug(args: list[str]) -> None:
    """Every command, with the marker token in MATOMO_TOKEN and --debug, never prints it."""
    r = invoke([*args, "--sandbox", "--debug"], env={"MATOMO_TOKEN": MARKER})
    _assert_clean(r.stdout, r.stderr)
    if args[0] == "call" and MARKER in args[1]:
        assert "***" in r.stderr  # Matomo echoed the marker; the CLI scrubbed it


def test_debug_really_logs() -> None:
    """--debug turns on request logging, so the hygiene tests above look at real debug output."""
    r = invoke(["sites", "--sandbox", "--debug"], env={"MATOMO_TOKEN": MARKER})
    assert r.exit_code == 0
    assert "HTTP Request: POST" in r.stderr
    assert "SitesManager.getSitesWithAtLeastViewAccess" in r.stderr
    _assert_clean(r.stdout, r.stderr)
    leftover = [h for h in logging.getLogger().handlers if h.formatter.__class__ is Scrubbing]
    assert leftover == []  # the debug handler is removed after the run


def test_rejected_token_with_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token the server rejects (401 HTML page) does not show up in the failure either."""
    monkeypatch.setattr(connection, "sandbox_overrides", {"days": 10, "token": "other"})
    r = invoke(["sites", "--sandbox", "--debug"], env={"MATOMO_TOKEN": MARKER})
    assert r.exit_code == 1
    assert "Traceback" in r.stderr
    _assert_clean(r.stdout, r.stderr)


def test_token_file_with_debug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A token read from --token-file is scrubbed the same way."""
    monkeypatch.setattr(connection, "sandbox_overrides", {"days": 10})
    path = tmp_path / "tok"
    path.write_text(MARKER + "\n")
    r = invoke(["call", "--sandbox", "--debug", "--token-file", str(path), f"API.{MARKER}"])
    assert r.exit_code == 1
    _assert_clean(r.stdout, r.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["sites", "--json"],
        ["call", f"API.{MARKER}"],
        ["export", "visits", "--site", "1", "--from", "last2", "--to", "yesterday"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_served_subprocess_with_debug(served: Served, tmp_path: Path, args: list[str]) -> None:
    """Over real HTTP (wrong token, 401 pages, debug logs of httpx), the marker never shows."""
    r = run_cli(
        [*args, "--debug"],
        env=clean_env(MATOMO_URL=served.url, MATOMO_TOKEN=MARKER),
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert "DEBUG" in r.stderr or "INFO" in r.stderr or "FAIL" in r.stdout
    _assert_clean(r.stdout, r.stderr)


def test_unreachable_with_debug(closed_port_url: str) -> None:
    """A connection failure with --debug (httpx/httpcore logs, traceback) hides the marker."""
    r = invoke(["sites", "--debug"], env={"MATOMO_URL": closed_port_url, "MATOMO_TOKEN": MARKER})
    assert r.exit_code == 1
    assert "Traceback" in r.stderr
    _assert_clean(r.stdout, r.stderr)


@pytest.mark.parametrize(
    "value", ["0123456789abcdef0123456789abcdef", MARKER, "sandbox-token", "tok_1-2"]
)
def test_token_given_to_token_file_is_not_echoed(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token passed by mistake as --token-file's path is not repeated in the error."""
    monkeypatch.chdir(tmp_path)
    r = invoke(["sites", "--url", "http://127.0.0.1:9/", "--token-file", value, "--debug"])
    assert r.exit_code == 2
    assert "not the token itself" in r.stderr
    assert value not in r.stdout + r.stderr


def test_a_missing_token_file_is_still_named(tmp_path: Path) -> None:
    """A path that does not look like a token is named in the error, as before."""
    missing = tmp_path / "token.txt"
    r = invoke(["sites", "--url", "http://127.0.0.1:9/", "--token-file", str(missing)])
    assert r.exit_code == 2
    assert f"cannot read the token file {str(missing)!r}" in r.stderr
