"""Out-of-range option values are usage errors: one line naming the option, exit 2, no file made.

Each case used to reach the library (or Python) and come back as `internal error (ValueError)`
or `(OverflowError)` with exit 1, some after the export target had been created.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from matomo_client import Limit
from matomo_client.cli.connection import display_url
from matomo_client.cli.export import MAX_PAGE_SIZE
from matomo_client.cli.options import DaySpec

from .conftest import invoke, one_error_line

DAYS = ["--from", "yesterday", "--to", "yesterday"]
ENV = {"MATOMO_TOKEN": "tok-4f2a9c"}


def _nothing_written(where: Path) -> None:
    assert list(where.iterdir()) == [], "a refused command left files behind"


def test_page_size_above_the_library_cap(tmp_path: Path) -> None:
    """--page-size above 1,000,000 is refused before the target is created."""
    r = invoke(["export", "visits", "--sandbox", "--site", "1", *DAYS, "--page-size", "1000001"])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "--page-size" in line
    assert "1000000" in line
    assert "internal error" not in line
    _nothing_written(tmp_path)


def test_workers_above_the_cap_are_refused(tmp_path: Path) -> None:
    """--workers above 64 is refused before any process starts or file is made; the CLI's
    cap is the library's."""
    from matomo_client.cli.export import MAX_WORKERS
    from matomo_client.export import engine

    assert MAX_WORKERS == engine.MAX_WORKERS
    r = invoke(["export", "visits", "--sandbox", "--site", "1", *DAYS, "--workers", "65"])
    assert r.exit_code == 2
    assert "--workers" in one_error_line(r.stderr)
    _nothing_written(tmp_path)


def test_page_size_cap_is_the_library_limit() -> None:
    """The CLI's cap is exactly `Limit`'s: the largest page it allows is one the client sends."""
    assert Limit(MAX_PAGE_SIZE).n == MAX_PAGE_SIZE
    with pytest.raises(ValueError, match="at most"):
        Limit(MAX_PAGE_SIZE + 1)


@pytest.mark.parametrize("command", ["visits", "reports"])
@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--from", "last100000000", "too large"),
        ("--from", "previous100000000", "too large"),
        ("--from", "last99999", "1991-08-06"),
        ("--from", "1991-08-05", "1991-08-06"),
        ("--from", "0001-01-01", "1991-08-06"),
        ("--to", "1991-08-05", "1991-08-06"),
    ],
)
def test_days_matomo_refuses(
    tmp_path: Path, command: str, option: str, value: str, needle: str
) -> None:
    """A day before 1991-08-06 (Matomo's first) or beyond Python's dates names the option."""
    days = {"--from": "2024-01-01", "--to": "yesterday", option: value}
    args = ["export", command, "--sandbox", "--site", "1", *(x for kv in days.items() for x in kv)]
    r = invoke(args)
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert option in line
    assert needle in line
    assert "internal error" not in line
    _nothing_written(tmp_path)


def test_first_matomo_day_is_accepted() -> None:
    """1991-08-06 itself is a day Matomo accepts."""
    assert DaySpec().convert("1991-08-06", None, None) == "1991-08-06"


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://127.0.0.1:99999/", "invalid port"),
        ("http://127.0.0.1:abc/", "invalid port"),
        ("http://[::1/", "IPv6"),
        ("http:///", "no host"),
        ("https://me:tok-4f2a9c@stats.example.com/", "user or password"),
    ],
)
def test_bad_url(url: str, needle: str) -> None:
    """A --url the client cannot use is one line naming --url, exit 2, before any request."""
    r = invoke(["sites", "--url", url], env=ENV)
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert line.startswith("Error: --url ")
    assert needle in line
    assert "internal error" not in line


def test_bad_url_from_the_environment_names_matomo_url() -> None:
    """When the URL came from MATOMO_URL the message says MATOMO_URL, not --url."""
    r = invoke(["sites"], env={**ENV, "MATOMO_URL": "http://127.0.0.1:99999/"})
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert line.startswith("Error: MATOMO_URL ")
    assert "--url" not in line
    assert "invalid port" in line


def test_display_url_survives_a_bad_port() -> None:
    """Showing a URL with a bad port neither raises nor shows user:password."""
    assert display_url("http://u:secret@h.example:99999/m/?q=1") == "http://h.example:99999/m/"
    assert display_url("http://[::1/") == "<invalid URL>"


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_timeout_must_be_finite_and_positive(value: str) -> None:
    """--timeout nan (accepted before, then every request "timed out") is refused."""
    r = invoke(["sites", "--url", "http://127.0.0.1:9/", "--timeout", value], env=ENV)
    assert r.exit_code == 2
    assert "--timeout" in one_error_line(r.stderr)


def test_report_comma_list_exports_each_report(tmp_path: Path) -> None:
    """`--report A.b,C.d` exports both reports, like `--report A.b --report C.d`."""
    r = invoke(["export", "reports", "--sandbox", "--site", "1", *DAYS, "--quiet",
                "--report", "Actions.getPageUrls, Referrers.getAll", "--out", "r.duckdb"])  # fmt: skip
    assert r.exit_code == 0, r.stderr
    with duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True) as db:
        found = {row[0] for row in db.execute("select distinct report from reports").fetchall()}
    assert found == {"Actions.getPageUrls", "Referrers.getAll"}


@pytest.mark.parametrize("value", ["Actions.getPageUrls,nope", "Actions.getPage-Urls"])
def test_report_not_a_method(tmp_path: Path, value: str) -> None:
    """A --report piece that is not Module.method is refused before the target is created."""
    r = invoke(["export", "reports", "--sandbox", "--site", "1", *DAYS, "--report", value])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "--report" in line
    assert "Module.method" in line
    _nothing_written(tmp_path)


# An address no machine here has: if the options pass, serving fails at once (no hang).
UNBINDABLE = ["--host", "192.0.2.1", "--port", "1"]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--token", ""], "--token"),
        (["--token", "   "], "--token"),
        (["--token", "anonymous"], "--token"),
        (["--days", "100000000"], "--days"),
        (["--days", "10001"], "--days"),
        (["--latency-ms", "nan"], "--latency-ms"),
        (["--fault-rate", "nan"], "--fault-rate"),
    ],
)
def test_sandbox_options(args: list[str], option: str) -> None:
    """`matomo sandbox` refuses values its world or server cannot take, naming the option."""
    r = invoke(["sandbox", *UNBINDABLE, *args])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert option in line
    assert "cannot listen" not in line


@pytest.mark.parametrize(
    ("key", "needle"),
    [("format", "--format"), ("method", "first argument"), ("module", "module=API")],
)
def test_call_parameters_the_command_sets(key: str, needle: str) -> None:
    """`call ... format=xml` points to --raw --format, in the CLI's words, not the library's."""
    r = invoke(["call", "--sandbox", "API.getMatomoVersion", f"{key}=xml"])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert needle in line
    assert "Params" not in line


def test_an_empty_out_is_refused(tmp_path: Path) -> None:
    """`--out ""` is refused, not taken as the default target."""
    r = invoke(["export", "visits", "--sandbox", "--site", "1", *DAYS, "--out", " "])
    assert r.exit_code == 2
    assert "--out" in one_error_line(r.stderr)
    _nothing_written(tmp_path)


def test_sandbox_and_url_together_are_refused(tmp_path: Path) -> None:
    """--sandbox with an explicit --url names two servers: refused, not one silently ignored."""
    r = invoke(["sites", "--sandbox", "--url", "https://stats.example.com/"])
    assert r.exit_code == 2
    assert "--sandbox and --url" in one_error_line(r.stderr)


def test_sandbox_wins_over_matomo_url_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MATOMO_URL set in the environment does not stop `--sandbox`."""
    monkeypatch.setenv("MATOMO_URL", "https://stats.example.com/")
    r = invoke(["sites", "--sandbox"])
    assert r.exit_code == 0, r.stderr
    assert "Shop" in r.stdout
