"""The `matomo` command given odd input as a user types it (QA round 10).

Each test pins a case that used to go wrong: a folder named `-` or `~` made by `--out`, a token
file of two lines shown as `internal error`, `--token-file -` broken by a file named `-`, a
sandbox listening on every interface for `--host ""`, site names and counts cut to `…`, and a
404 from the wrong URL without a word about the URL.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from matomo_client.cli import cli, display

from .conftest import http_server, invoke, one_error_line

DAYS = ["--from", "yesterday", "--to", "yesterday"]
SECRET = "0123456789abcdef0123456789abcdef"

LONG_URL = "https://" + "a-rather-long-subdomain." * 8 + "example.com/landing?campaign=2024"
LONG_NAME = "Ünïcödé 東京ストア " + "Marketing Landing Pages " * 6 + "END"
SITE = {
    "idsite": "1",
    "name": LONG_NAME,
    "main_url": LONG_URL,
    "timezone": "America/Argentina/ComodRivadavia",
    "currency": "USD",
    "ecommerce": "1",
    "ts_created": "2020-01-01 00:00:00",
}


def _server(status: int) -> Iterator[str]:
    """A 127.0.0.1 server: with 200, Matomo 5 with one long-named site; else that status."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            method = parse_qs(urlsplit(self.path).query).get("method", [""])[0]
            answer: Any = {"value": "5.11.2"} if method == "API.getMatomoVersion" else [SITE]
            body = json.dumps(answer).encode() if status == 200 else b"Not Found"
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with http_server(Handler) as url:
        yield url


@pytest.fixture
def long_names_url() -> Iterator[str]:
    """A Matomo whose one site has a long unicode name and a long URL."""
    yield from _server(200)


@pytest.fixture
def not_found_url() -> Iterator[str]:
    """A web server with no Matomo: every request is a plain HTTP 404."""
    yield from _server(404)


def _narrow(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """`module`'s consoles as a 40-column terminal's."""

    def narrow(file: Any = None, **kwargs: Any) -> Any:
        return display.console(file, width=40, force_terminal=True, color_system=None)

    monkeypatch.setattr(f"matomo_client.cli.{module}.console", narrow)


# --- --out ----------------------------------------------------------------------------------


def test_out_dash_is_refused(tmp_path: Path) -> None:
    """`--out -` (stdout, by habit) is refused; it made a hive Parquet folder named `-`."""
    r = invoke(["export", "visits", "--sandbox", "--site", "1", *DAYS, "--out", "-"])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "--out" in line
    assert "stdout" in line
    assert list(tmp_path.iterdir()) == []


def test_out_tilde_is_the_home_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quoted `~/x.jsonl` (the shell left the `~`) is written in the home folder, not in a
    folder named `~` here (which `rm -rf ~` would then 'clean up')."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    r = invoke(["export", "visits", "--sandbox", "--site", "3", *DAYS, "-q", "--out", "~/x.jsonl"])
    assert r.exit_code == 0, r.stderr
    assert not (tmp_path / "~").exists()
    assert (home / "x.visits.jsonl").exists()


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["20240101", "2024-1-01"])
def test_day_not_written_yyyy_mm_dd_is_refused(day: str, tmp_path: Path) -> None:
    """The help says YYYY-MM-DD: `20240101` was taken on Python 3.11+ (not 3.10) and kept as
    typed, so resuming it as 2024-01-01 was refused as an export 'made with other options'."""
    r = invoke(["export", "visits", "--sandbox", "--site", "1", "--from", day, "--to", "today"])
    assert r.exit_code == 2
    assert "--from" in one_error_line(r.stderr)
    assert list(tmp_path.iterdir()) == []


# --- the token ------------------------------------------------------------------------------


def test_token_file_dash_reads_stdin_beside_a_folder_named_dash(tmp_path: Path) -> None:
    """`--token-file -` is stdin even where a file or folder `-` exists (it said 'is a
    directory')."""
    (tmp_path / "-").mkdir()
    r = CliRunner().invoke(
        cli,
        ["sites", "--sandbox", "--json", "--token-file", "-"],
        input="sandbox-token\n",
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)[0]["id_site"] == 1


@pytest.mark.parametrize(
    ("content", "says"),
    [(f"{SECRET}\nsecond line\n", "more than one line"), (f"{SECRET} x\n", "whitespace")],
)
@pytest.mark.parametrize("where", [["--sandbox"], ["--url", "http://127.0.0.1:1/"]])
def test_token_file_that_is_not_one_token(
    content: str, says: str, where: list[str], tmp_path: Path
) -> None:
    """A token file of two lines (or with a space) is one line naming the file, exit 2; with
    --sandbox it was `internal error (ValueError)`, exit 1. The token is never shown."""
    (tmp_path / "tok").write_text(content)
    r = invoke(["sites", *where, "--token-file", "tok"])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "'tok'" in line
    assert says in line
    assert "internal error" not in line
    assert SECRET not in r.stdout + r.stderr


def test_token_file_far_larger_than_a_token_is_refused(tmp_path: Path) -> None:
    """A log file given as --token-file (or /dev/zero) is not read whole and sent as the
    token (a MemoryError, or a 66 MB request); it is refused unread past 4 KiB."""
    (tmp_path / "big.log").write_text("x" * 5000)
    r = invoke(["sites", "--url", "http://127.0.0.1:1/", "--token-file", "big.log"])
    assert r.exit_code == 2
    assert "'big.log'" in one_error_line(r.stderr)
    r = CliRunner().invoke(
        cli, ["sites", "--sandbox", "--token-file", "-"], input="y" * 5000, catch_exceptions=False
    )
    assert r.exit_code == 2
    assert "stdin" in one_error_line(r.stderr)


def test_matomo_token_with_a_space_names_the_variable() -> None:
    """MATOMO_TOKEN holding a space says so (with --sandbox it was an internal error)."""
    r = invoke(["sites", "--sandbox"], env={"MATOMO_TOKEN": f"{SECRET} x"})
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "MATOMO_TOKEN" in line
    assert SECRET not in line


def test_empty_token_file_option_is_refused() -> None:
    """`--token-file ""` (an unset variable in a script) is refused; it was ignored, and the
    command went on with MATOMO_TOKEN or said 'no token: ... pass --token-file PATH'."""
    r = invoke(
        ["sites", "--url", "http://127.0.0.1:1/", "--token-file", ""],
        env={"MATOMO_TOKEN": SECRET},
    )
    assert r.exit_code == 2
    assert "--token-file" in one_error_line(r.stderr)


def test_blank_matomo_url_is_no_url() -> None:
    """MATOMO_URL=" " says there is no URL (it said: must start with http://, not '')."""
    r = invoke(["sites"], env={"MATOMO_URL": " ", "MATOMO_TOKEN": SECRET})
    assert r.exit_code == 2
    assert "no Matomo URL" in one_error_line(r.stderr)


# --- export options -------------------------------------------------------------------------


def test_report_with_token_auth_does_not_echo_it() -> None:
    """`--report X.y?token_auth=...` is refused without repeating the value."""
    r = invoke(
        ["export", "reports", "--sandbox", "--site", "1", *DAYS, "--report",
         f"Actions.getPageUrls?expanded=1&token_auth={SECRET}"],
    )  # fmt: skip
    assert r.exit_code == 2
    assert "token_auth" in one_error_line(r.stderr)
    assert SECRET not in r.stdout + r.stderr


def test_blank_segment_is_no_segment() -> None:
    """`--segment " "` exports without a segment, as `--segment ""` does; it failed mid-export
    with Matomo's 'The segment condition ' ' is not valid', exit 1."""
    r = invoke(
        ["export", "visits", "--sandbox", "--site", "1", *DAYS, "-q", "--segment", "  ",
         "--out", "x.jsonl"],
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr


# --- matomo sandbox -------------------------------------------------------------------------


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """`matomo sandbox` records what it would serve instead of listening."""
    import matomo_client.sandbox

    calls: list[dict[str, Any]] = []
    serve: Callable[..., None] = lambda *a, **k: calls.append({"args": a, **k})  # noqa: E731
    monkeypatch.setattr(matomo_client.sandbox, "serve", serve)
    return calls


@pytest.mark.parametrize(
    ("flags", "option"),
    [
        (["--host", ""], "--host"),
        (["--host", "  "], "--host"),
        (["--token", "two words"], "--token"),
        (["--token", "tab\there"], "--token"),
        (["--viewer", "two words:1"], "--viewer"),
    ],
)
def test_sandbox_refuses_what_no_client_can_use(
    flags: list[str], option: str, no_serving: list[dict[str, Any]]
) -> None:
    """An empty --host listened on every interface and printed `http://:PORT/`; a token with
    whitespace was served, though every client refuses such a token."""
    r = invoke(["sandbox", "--port", "0", *flags])
    assert r.exit_code == 2
    assert option in one_error_line(r.stderr)
    assert no_serving == []


# --- tables ---------------------------------------------------------------------------------


def test_sites_table_in_a_pipe_is_whole(long_names_url: str) -> None:
    """Piped, `matomo sites` prints a long name and URL whole on the site's line (they were
    cut to '…' at 200 columns)."""
    r = invoke(["sites"], env={"MATOMO_URL": long_names_url, "MATOMO_TOKEN": SECRET})
    assert r.exit_code == 0, r.stderr
    assert "…" not in r.stdout
    row = next(line for line in r.stdout.splitlines() if LONG_URL in line)
    assert LONG_NAME in row


def test_sites_table_in_a_narrow_terminal_cuts_nothing(
    long_names_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 40 columns every cell was cut to two characters and '…' (the date read '20…')."""
    _narrow(monkeypatch, "inspect")
    r = invoke(["sites"], env={"MATOMO_URL": long_names_url, "MATOMO_TOKEN": SECRET})
    assert r.exit_code == 0, r.stderr
    assert "…" not in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 40


def test_export_summary_in_a_narrow_terminal_cuts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The summary's totals ('6 (+0 done before) of 6') were cut to 'befo…' at 40 columns."""
    _narrow(monkeypatch, "export")
    r = invoke(["export", "visits", "--sandbox", "--site", "all", "--from", "last3", "--to",
                "yesterday", "-q", "--out", "x.jsonl"])  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "…" not in r.stdout


# --- a URL with no Matomo -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["sites"], ["call", "API.getMatomoVersion"], ["export", "visits", "--site", "1", *DAYS]],
)
def test_not_found_points_to_the_url(args: list[str], not_found_url: str) -> None:
    """A plain HTTP 404 (Matomo is in another folder) says to check --url, naming the URL."""
    url = not_found_url + "matomo/"
    r = invoke([*args, "--url", url], env={"MATOMO_TOKEN": SECRET})
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert "HTTP 404" in line
    assert "check --url" in line
    assert url in line


def test_matomo_own_not_found_gets_no_url_hint() -> None:
    """Matomo's own 404 ('The plugin Nope was not found', a CSV body with --raw) is not a
    wrong URL: the line says only what Matomo said."""
    r = invoke(["call", "--sandbox", "Nope.nope", "--raw", "--format", "csv"])
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert "Nope" in line
    assert "--url" not in line


# --- matomo call ----------------------------------------------------------------------------


def test_call_takes_php_list_parameters() -> None:
    """`urls[]=a urls[]=b` is PHP's list (SitesManager.addSite's urls, a bulk request's urls):
    both are sent, as urls[0] and urls[1]; it was refused as 'given twice'."""
    r = invoke(
        ["call", "--sandbox", "API.getBulkRequest", "urls[]=method=API.getMatomoVersion",
         "urls[]=method=SitesManager.getSitesIdWithAtLeastViewAccess"],
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    answers = json.loads(r.stdout)
    assert len(answers) == 2
    assert answers[1] == [1, 2, 3]


def test_call_still_refuses_an_index_given_twice() -> None:
    """`urls[0]=` twice is still a mistake; a following `urls[]=` takes the next index."""
    r = invoke(["call", "--sandbox", "API.getBulkRequest", "urls[0]=a", "urls[0]=b"])
    assert r.exit_code == 2
    assert "urls[0]" in one_error_line(r.stderr)


def test_terminal_with_columns_zero_still_shows_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """COLUMNS=0 on a terminal made rich print nothing at all: `matomo sites` showed no site
    and the export no summary, exit 0."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("COLUMNS", "0")
    out = Terminal()
    display.console(out, color_system=None).print("site 1 Shop")
    assert "site 1 Shop" in out.getvalue()
