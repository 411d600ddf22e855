"""`matomo -v` / `-vv` / `MATOMO_LOG`: the client's log on stderr with timestamps, scrubbed;
stdout, `--json` and the one-line errors stay as they are.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import logging
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, quote_plus

import pytest

from matomo_client.cli.failures import SESSION
from matomo_client.sandbox import Faults, Sandbox, SandboxConfig, serve_in_thread

from .conftest import http_server, invoke

# Alphanumeric but for characters whose URL-encoded forms differ from the raw one.
MARKER = "Mark3rTok+en/cli=9MARKER"
FORMS = (MARKER, quote(MARKER, safe=""), quote_plus(MARKER), quote(MARKER))
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
LOG_LINE = re.compile(rf"^{STAMP} (?P<level>DEBUG|INFO|WARNING) (?P<name>[\w.]+): (?P<msg>.*)$")
TODAY = dt.date(2026, 11, 29)
EXPORT = ["export", "visits", "--site", "1", "--from", "2026-11-26", "--to", "2026-11-28"]


def assert_no_token(*texts: str) -> None:
    """No form of the token in any of `texts`."""
    for text in texts:
        for form in FORMS:
            assert form not in text, f"the token leaked: {text[:400]!r}"


def log_lines(stderr: str, logger: str = "matomo_client") -> list[re.Match[str]]:
    """The timestamped records of `logger` on stderr."""
    found = [LOG_LINE.match(line) for line in stderr.splitlines()]
    return [m for m in found if m is not None and m["name"] == logger]


@pytest.fixture(scope="module")
def flaky_url() -> Iterator[str]:
    """A served sandbox (token MARKER) that answers one request in four with a 5xx."""
    config = SandboxConfig(
        seed=4, days=6, visits_per_day=8, token=MARKER, today=TODAY,
        faults=Faults(error_5xx_rate=0.25),
    )  # fmt: skip
    with serve_in_thread(Sandbox(config)) as url:
        yield url


def test_vv_logs_each_request_and_retry_with_timestamps_and_json_stays_pure(
    flaky_url: str, tmp_path: Path
) -> None:
    """`matomo -vv export ... --json`: stdout is one JSON object; stderr has a timestamped DEBUG
    line per request (site, day, paging, status, attempt) and an INFO line per retry."""
    out = str(tmp_path / "v.jsonl")
    r = invoke(
        ["-vv", *EXPORT, "--url", flaky_url, "--out", out, "--json"], {"MATOMO_TOKEN": MARKER}
    )
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)  # the whole of stdout: nothing logged there
    assert summary["ok"] is True
    lines = log_lines(r.stderr)
    pages = [m["msg"] for m in lines if m["msg"].startswith("Live.getLastVisitsDetails idSite=1 ")]
    assert pages
    assert all(m["level"] == "DEBUG" for m in lines if m["msg"] in pages)
    assert all(re.search(r"date=\S+ filter_limit=\d+ .* -> HTTP \d+, ", p) for p in pages)
    assert all(re.search(r", attempt \d+$", p) for p in pages)
    retries = [m for m in lines if m["msg"].startswith("retrying ")]
    assert retries
    assert all(m["level"] == "INFO" for m in retries)
    assert_no_token(r.stdout, r.stderr)


def test_one_v_logs_the_retries_only(flaky_url: str, tmp_path: Path) -> None:
    """`matomo -v`: the retries (INFO), not every request."""
    out = str(tmp_path / "v.jsonl")
    r = invoke(
        ["-v", *EXPORT, "--url", flaky_url, "--out", out, "--quiet"], {"MATOMO_TOKEN": MARKER}
    )
    assert r.exit_code == 0, r.stderr
    levels = {m["level"] for m in log_lines(r.stderr)}
    assert levels == {"INFO"}, r.stderr


@pytest.mark.parametrize(("value", "level"), [("debug", "DEBUG"), ("INFO", "INFO")])
def test_matomo_log_does_what_v_does(flaky_url: str, value: str, level: str) -> None:
    """MATOMO_LOG=debug is -vv and MATOMO_LOG=info is -v, for a job whose command stays put."""
    env = {"MATOMO_TOKEN": MARKER, "MATOMO_LOG": value}
    r = invoke(["call", "--url", flaky_url, "VisitsSummary.get", "idSite=1", "period=day",
                "date=2026-11-28"], env)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    json.loads(r.stdout)
    levels = {m["level"] for m in log_lines(r.stderr)}
    assert level in levels
    if level == "INFO":
        assert "DEBUG" not in levels
    assert_no_token(r.stdout, r.stderr)


def test_a_bad_matomo_log_warns_and_the_command_runs() -> None:
    """A typo in MATOMO_LOG is one warning line; the command still runs and logs nothing."""
    r = invoke(["sites", "--sandbox", "--json"], {"MATOMO_LOG": "loud"})
    assert r.exit_code == 0
    json.loads(r.stdout)
    assert r.stderr == "Warning: MATOMO_LOG='loud' is ignored: use info or debug\n"


class _Echo(BaseHTTPRequestHandler):
    """A server that echoes the request's body (the token with it) in its error pages: two
    503s, then a 401 HTML page; the version check is answered."""

    answers: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if b"getMatomoVersion" in self.path.encode():
            page, status, kind = b'{"value":"5.2.0"}', 200, "application/json"
        else:
            status = self.answers.pop(0) if self.answers else 401
            page, kind = b"<html><body><pre>" + body + b"</pre></body></html>", "text/html"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def echo_server() -> Iterator[str]:
    """Serve `_Echo` on a free loopback port from a thread; yields its URL."""
    with http_server(_Echo) as url:
        yield url


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_pages_echoing_the_token_show_it_nowhere_and_the_error_stays_one_line(
    tmp_path: Path, json_flag: list[str]
) -> None:
    """-vv against a server whose 503 and 401 pages echo the request body: the log lines, the
    one `Error:` line and `--json`'s object hold no form of the token."""
    _Echo.answers = [503, 503]
    with echo_server() as url:
        r = invoke(["-vv", *EXPORT, "--url", url, "--out", str(tmp_path / "v.jsonl"), *json_flag],
                   {"MATOMO_TOKEN": MARKER})  # fmt: skip
    assert r.exit_code == 1
    assert_no_token(r.stdout, r.stderr)
    lines = log_lines(r.stderr)
    assert any("-> HTTP 401," in m["msg"] for m in lines), r.stderr
    assert any(m["msg"].startswith("retrying ") and "HTTP 503" in m["msg"] for m in lines)
    others = [line for line in r.stderr.splitlines() if not LOG_LINE.match(line)]
    errors = [line for line in others if line.startswith("Error: ")]
    assert len(errors) == 1, r.stderr
    assert "Traceback" not in r.stderr
    if json_flag:
        assert json.loads(r.stdout)["ok"] is False


def test_v_after_the_command_says_where_it_goes() -> None:
    """`matomo sites -v` is a usage error that says -v goes before the command."""
    r = invoke(["sites", "-v", "--sandbox"])
    assert r.exit_code == 2
    assert "(-v goes before the command: 'matomo -v sites ...')" in r.stderr


def test_a_usage_error_after_v_still_answers_json() -> None:
    """`matomo -v export visits --json --bogus`: stdout still holds the JSON failure (the
    `--json` of an export was looked for only when `export` came first)."""
    r = invoke(["-v", "export", "visits", "--json", "--bogus"])
    assert r.exit_code == 2
    failure = json.loads(r.stdout)
    assert failure["ok"] is False
    assert "--bogus" in failure["error"]


def test_debug_after_one_v_still_logs_every_request() -> None:
    """`matomo -v sites --debug`: -v's INFO level does not hide the requests --debug logs."""
    r = invoke(["-v", "sites", "--sandbox", "--debug"])
    assert r.exit_code == 0
    assert any(m["msg"].startswith("SitesManager.") for m in log_lines(r.stderr)), r.stderr
    assert "HTTP Request: POST" in r.stderr  # httpx's own, as --debug alone shows


def test_logging_is_put_back_after_the_run() -> None:
    """The `matomo_client` level and the root handlers are as before once the command ends."""
    client = logging.getLogger("matomo_client")
    before = (client.level, list(logging.getLogger().handlers), logging.getLogger().level)
    r = invoke(["-vv", "sites", "--sandbox", "--debug"])
    assert r.exit_code == 0
    assert log_lines(r.stderr), "nothing was logged"
    after = (client.level, list(logging.getLogger().handlers), logging.getLogger().level)
    assert after == before


def test_records_go_to_stderr_as_it_is_when_they_are_written() -> None:
    """The handler writes to the current sys.stderr, so that rich's progress display, which
    takes stderr over while it runs, prints the lines above its bar instead of through it."""
    SESSION.start_verbose(logging.DEBUG)
    try:
        taken_over = io.StringIO()
        with contextlib.redirect_stderr(taken_over):
            logging.getLogger("matomo_client").debug("a request line")
    finally:
        SESSION.stop_logging()
    assert re.match(rf"^{STAMP} DEBUG matomo_client: a request line\n$", taken_over.getvalue())


def test_help_documents_the_switches() -> None:
    """`matomo --help` names -v/--verbose and MATOMO_LOG."""
    r = invoke(["--help"])
    assert "-v, --verbose" in r.stdout
    assert "MATOMO_LOG=info|debug" in r.stdout
