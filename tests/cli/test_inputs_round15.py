"""Round 15, bad inputs: each is refused as one line naming the value, and an export kept whole.

`--out` inside another export's files wrote there (a `x.parquet.parts` target made the next run
of `x.parquet` write every visit twice); a SQLite file named `.duckdb` sent DuckDB to download
its SQLite extension; `--site 1_0` exported site 10 and `--from last٣` read as last3; a web
server with no Matomo behind it (405, 501, an HTML page) said nothing about the URL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import duckdb
import pytest

from .conftest import http_server, invoke, one_error_line

DAYS = ["--from", "yesterday", "--to", "yesterday"]
VISITS = ["export", "visits", "--sandbox", "--site", "1", *DAYS, "-q"]
SECRET = "tok-r15-9b1e"


def _visits(path: Path) -> tuple[int, int]:
    """Rows and distinct visits of a Parquet file."""
    sql = f"SELECT count(*), count(DISTINCT (id_site, id_visit)) FROM '{path}'"
    with duckdb.connect() as db:
        [(rows, visits)] = db.execute(sql).fetchall()
    return int(rows), int(visits)


# --- --out among another export's files -----------------------------------------------------


def test_out_in_a_parquet_targets_parts_is_refused(tmp_path: Path) -> None:
    """`--out x.parquet.parts` (the parts folder of an `x.parquet` export) is refused; it was
    taken as a directory target and the next `x.parquet` run read its files as its own parts."""
    assert invoke([*VISITS, "--out", "x.parquet"]).exit_code == 0
    before = _visits(tmp_path / "x.visits.parquet")
    parts = sorted(p for p in (tmp_path / "x.parquet.parts").rglob("*") if p.is_file())
    r = invoke([*VISITS, "--out", "x.parquet.parts"])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "--out" in line
    assert "x.parquet.parts" in line
    assert "inside the files of the export" in line
    assert sorted(p for p in (tmp_path / "x.parquet.parts").rglob("*") if p.is_file()) == parts
    assert invoke([*VISITS, "--out", "x.parquet"]).exit_code == 0
    assert _visits(tmp_path / "x.visits.parquet") == before


@pytest.mark.parametrize("inner", ["out/visits", "out/actions/", "out/visits/x.parquet"])
def test_out_in_a_directory_targets_table_folder_is_refused(tmp_path: Path, inner: str) -> None:
    """A target inside a directory target's table folder (`out/visits`) is refused: its Parquet
    files would be read as that table's rows."""
    assert invoke([*VISITS, "--out", "out/"]).exit_code == 0
    files = sorted(p for p in (tmp_path / "out").rglob("*") if p.is_file())
    r = invoke([*VISITS, "--out", inner])
    assert r.exit_code == 2
    assert "inside the files of the export" in one_error_line(r.stderr)
    assert sorted(p for p in (tmp_path / "out").rglob("*") if p.is_file()) == files


def test_out_beside_an_export_is_still_taken(tmp_path: Path) -> None:
    """Targets next to an export, and the export's own target again, are not refused."""
    assert invoke([*VISITS, "--out", "out/"]).exit_code == 0
    assert invoke([*VISITS, "--out", "out/"]).exit_code == 0
    assert invoke([*VISITS, "--out", "out/other.duckdb"]).exit_code == 0
    assert invoke([*VISITS, "--out", "x.parquet"]).exit_code == 0
    assert invoke([*VISITS, "--out", "x.parquet"]).exit_code == 0


# --- --out naming a database of the other kind ----------------------------------------------


def test_sqlite_file_named_duckdb_is_refused(tmp_path: Path) -> None:
    """A SQLite database named `.duckdb` is refused naming the kind; DuckDB opened it by
    downloading its SQLite extension (an internet request, then an unclear error)."""
    target = tmp_path / "mine.duckdb"
    with sqlite3.connect(target) as db:
        db.execute("CREATE TABLE keep (x)")
        db.execute("INSERT INTO keep VALUES (1)")
    db.close()
    data = target.read_bytes()
    r = invoke([*VISITS, "--out", str(target)])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "is a SQLite database, not a DuckDB one" in line
    assert ".sqlite" in line
    assert target.read_bytes() == data


@pytest.mark.parametrize("name", ["mine.sqlite", "mine.db"])
def test_duckdb_file_named_sqlite_is_refused(tmp_path: Path, name: str) -> None:
    """A DuckDB database named `.sqlite` or `.db` (DuckDB's own examples use .db) is refused
    naming the kind, not with SQLite's 'file is not a database'."""
    target = tmp_path / name
    duckdb.connect(str(target)).close()
    r = invoke([*VISITS, "--out", str(target)])
    assert r.exit_code == 2
    assert "is a DuckDB database, not a SQLite one" in one_error_line(r.stderr)


# --- digits that are not ASCII --------------------------------------------------------------


@pytest.mark.parametrize("site", ["1_0", "\u0663", "+1", "1,2_0"])
def test_site_takes_ascii_digits_only(tmp_path: Path, site: str) -> None:
    """`--site 1_0` exported site 10 and `--site ٣` site 3 (Python's int() reads both)."""
    r = invoke(["export", "visits", "--sandbox", "--site", site, *DAYS, "-q", "--out", "x.jsonl"])
    assert r.exit_code == 2
    assert f"--site {site!r}" in one_error_line(r.stderr)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("day", ["last\u0663", "previous\u0663", "last\uff13"])
def test_dates_take_ascii_digits_only(day: str) -> None:
    """`--from last٣` (Arabic-Indic 3) was read as last3 and recorded as typed."""
    r = invoke(["export", "visits", "--sandbox", "--site", "1", "--from", day, "--to", "today"])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "--from" in line
    assert "lastN" in line


# --- a web server with no Matomo ------------------------------------------------------------


def _web_server(status: int, content_type: str, body: bytes) -> Iterator[str]:
    """A web server answering every request with `status` and `body`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args: Any) -> None:
            pass

    with http_server(Handler) as url:
        yield url


@pytest.fixture(
    params=[
        (405, "text/html", b"<html>405 Not Allowed</html>"),
        (501, "text/html", b"<p>Error code: 501 Unsupported method ('POST')</p>"),
        (200, "text/html", b"<html><body>Welcome to nginx</body></html>"),
        (200, "application/json", b'{"status": "ok"}'),
    ],
    ids=["405", "501-http.server", "html-page", "other-json"],
)
def not_matomo_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A web server that is not Matomo: a static site, `python -m http.server`, another API."""
    yield from _web_server(*request.param)


@pytest.mark.parametrize(
    "args", [["sites"], ["export", "visits", "--site", "1", *DAYS, "--out", "x.jsonl"]]
)
def test_no_matomo_at_the_url_points_to_the_url(args: list[str], not_matomo_url: str) -> None:
    """The first answer no Matomo gives (405, 501, a web page, JSON of another shape) says to
    check --url, naming it; it said only 'HTTP 501 from Matomo' or 'not JSON'."""
    r = invoke([*args, "--url", not_matomo_url], env={"MATOMO_TOKEN": SECRET})
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert "check --url / MATOMO_URL" in line
    assert not_matomo_url in line
    assert SECRET not in r.stdout + r.stderr


def test_a_server_error_gets_no_url_hint() -> None:
    """An HTTP 500 or 403 to the first request may be Matomo's own: no word about the URL."""
    from matomo_client.cli.failures import describe
    from matomo_client.errors import HttpStatusError

    for status in (500, 403):
        failure = describe(HttpStatusError(status, "API.getMatomoVersion", "oops"))
        assert failure is not None
        assert "--url" not in failure.format_message()
    failure = describe(HttpStatusError(405, "VisitsSummary.get", ""))
    assert failure is not None
    assert "--url" not in failure.format_message()


def test_a_rate_limit_too_long_to_wait_says_how_long_it_asked() -> None:
    """A 429 with Matomo's JSON error whose Retry-After the call could not wait out: the line
    says how long the server asked (the error carries it; the line dropped it)."""
    from matomo_client.cli.failures import describe
    from matomo_client.errors import ApiError, ApiErrorKind

    error = ApiError(
        ApiErrorKind.RATE_LIMITED, "Too many requests", "API.getMatomoVersion", 429, 3600.0
    )
    described = describe(error)
    assert described is not None
    assert "wait 3600 s" in described.format_message()
