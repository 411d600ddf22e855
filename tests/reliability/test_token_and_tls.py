"""Token hygiene across exports, redirects that must not carry the token, and TLS verification.

* An export with a marker token, `--debug` and every target type: the marker is in no line of
  stdout/stderr, no log record, and no byte of any file left behind (data, state, manifest,
  parts), compressed files and databases included (read back with their own readers).
* A server answering 302/307 to another host: the client does not follow (even through a user's
  httpx client with `follow_redirects=True`), the other host receives nothing, and the error is
  one of the tree, without the token.
* TLS: a self-signed HTTPS server on 127.0.0.1 is refused by default; `verify=False` warns (a
  warning naming the risk) and connects; the CLI's `--insecure` does the same in one line.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import shutil
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import duckdb
import httpx
import pyarrow.parquet as pq
import pytest
import zstandard
from click.testing import CliRunner
from reliability_support import MARKER, scan_text, served

from matomo_client import (
    AsyncMatomo,
    Auth,
    HttpStatusError,
    Matomo,
    MatomoError,
    Period,
    TransportError,
)
from matomo_client.cli import cli
from matomo_client.sandbox import Sandbox, SandboxConfig

TARGETS = ["x.duckdb", "x.sqlite", "x.jsonl.gz", "x.jsonl.zst", "x.csv", "x.parquet", "hive/"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MATOMO_* variable from the developer's shell."""
    for key in ("MATOMO_URL", "MATOMO_TOKEN"):
        monkeypatch.delenv(key, raising=False)


# --- every file of every target -------------------------------------------------------------------


def _texts_of(path: Path) -> Iterator[str]:
    """Everything a file holds, as text: raw bytes, decompressed bytes, or its tables' rows."""
    data = path.read_bytes()
    yield data.decode("latin-1")
    name = path.name
    if name.endswith(".gz"):
        yield gzip.decompress(data).decode("utf-8", "replace")
    elif name.endswith(".zst"):
        reader = zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(data), read_across_frames=True
        )
        yield reader.read().decode("utf-8", "replace")
    elif name.endswith(".parquet"):
        yield json.dumps(pq.read_table(path).to_pylist(), default=str)
    elif name.endswith(".duckdb"):
        con = duckdb.connect(str(path), read_only=True)
        try:
            for (table,) in con.execute(
                "SELECT table_name FROM information_schema.tables"
            ).fetchall():
                yield json.dumps(con.execute(f'SELECT * FROM "{table}"').fetchall(), default=str)
        finally:
            con.close()


def _scan_files(root: Path) -> list[str]:
    """The files under `root` (relative names) in which the marker shows up in any form."""
    return [
        str(path.relative_to(root))
        for path in sorted(p for p in root.rglob("*") if p.is_file())
        if any(scan_text(text) for text in _texts_of(path))
    ]


def test_exports_with_debug_leave_no_token_anywhere(
    tmp_path: Path, clean_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    """`matomo export visits|reports --debug` with a marker token into every target type: no output line, log record or file holds it."""
    sb = Sandbox(SandboxConfig(seed=41, days=5, visits_per_day=4, token=MARKER))
    out = tmp_path / "out"
    out.mkdir()
    caplog.set_level(logging.DEBUG)
    with served(sb.app) as url:
        runs = []
        for name in TARGETS:
            runs.append(["export", "visits", "--site", "all", "--from", "last3", "--to", "today",
                         "--out", str(out / name)])  # fmt: skip
        runs.append(["export", "reports", "--site", "1", "--from", "last3", "--to", "yesterday",
                     "--report", "VisitsSummary.get", "--out", str(out / "r.jsonl")])  # fmt: skip
        runs.append(["sites"])
        runs.append(["check"])
        runs.append(["call", "API.noSuchMethod"])  # a failure path, with --debug's traceback
        results = [
            CliRunner().invoke(cli, [*args, "--url", url, "--debug"], env={"MATOMO_TOKEN": MARKER})
            for args in runs
        ]
    for args, r in zip(runs, results, strict=True):
        assert scan_text(r.stdout) == [], args
        assert scan_text(r.stderr) == [], args
    assert [r.exit_code for r in results[:-1]] == [0] * (len(runs) - 1), results[0].stderr
    assert results[-1].exit_code == 1
    assert "DEBUG" in results[0].stderr  # the debug log really ran
    assert [rec for rec in caplog.records if scan_text(rec.getMessage())] == []
    assert len(list(out.rglob("*"))) > 20  # data, parts, journals: all of them were scanned
    assert _scan_files(out) == []


def test_scanner_finds_a_planted_token(tmp_path: Path) -> None:
    """The file scan above does look inside compressed files and databases (a planted marker is found)."""
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(MARKER.encode()))
    (tmp_path / "b.zst").write_bytes(zstandard.ZstdCompressor().compress(MARKER.encode()))
    con = duckdb.connect(str(tmp_path / "c.duckdb"))
    con.execute("CREATE TABLE t (v VARCHAR)")
    con.execute("INSERT INTO t VALUES (?)", [MARKER * 50])  # compressed in the file
    con.close()
    assert sorted(_scan_files(tmp_path)) == ["a.jsonl.gz", "b.zst", "c.duckdb"]


# --- redirects ------------------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request from the server's `answer(handler, body)`; records what it got."""

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        self.server.answer(self, body)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PUT = _any


def _http_server(answer: Any, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Any:
    server = ThreadingHTTPServer((host, 0), _Recorder)
    server.seen = []  # type: ignore[attr-defined]
    server.answer = answer  # type: ignore[attr-defined]
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    handler.send_response(status)
    for k, v in {"Content-Type": "application/json", **headers}.items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def elsewhere() -> Iterator[Any]:
    """Another host (127.0.0.2) that records whatever reaches it."""
    server = _http_server(lambda h, b: _reply(h, 200, b'{"value":"5.11.2"}'), host="127.0.0.2")
    yield server
    server.shutdown()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("auth", [Auth.token(MARKER), Auth.bearer(MARKER)], ids=["token", "bearer"])
def test_redirects_to_another_host_are_not_followed(
    status: int, auth: Auth, elsewhere: Any
) -> None:
    """A 30x to another host is an HttpStatusError without the token; the other host gets no request (sync, async, user client with follow_redirects=True, stream_raw)."""
    target = f"http://127.0.0.2:{elsewhere.server_address[1]}/index.php"
    origin = _http_server(lambda h, b: _reply(h, status, b"", Location=target))
    url = f"http://127.0.0.1:{origin.server_address[1]}/"
    errors: list[MatomoError] = []
    try:
        with Matomo(url, auth=auth, skip_preflight=True) as m:
            with pytest.raises(HttpStatusError) as info:
                m.api.version()
            errors.append(info.value)
        user_client = httpx.Client(follow_redirects=True)
        with Matomo(url, auth=auth, http_client=user_client, skip_preflight=True) as m:
            with pytest.raises(HttpStatusError) as info:
                m.sites.list()
            errors.append(info.value)
            with pytest.raises(HttpStatusError) as info:
                for _ in m.stream_raw("Live.getLastVisitsDetails"):
                    pass
            errors.append(info.value)
        user_client.close()

        async def go() -> None:
            http = httpx.AsyncClient(follow_redirects=True)
            async with http, AsyncMatomo(url, auth=auth, http_client=http) as am:
                with pytest.raises(HttpStatusError) as info:
                    await am.visits_summary.get(1, Period.day(date(2024, 5, 1)))
                errors.append(info.value)

        anyio.run(go)
    finally:
        origin.shutdown()
    assert elsewhere.seen == []
    assert len(origin.seen) == 4  # one request each, none repeated on the other host
    for e in errors:
        assert e.status == status
        assert scan_text(str(e) + repr(e)) == []


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a self-signed test certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    return ctx


@pytest.fixture
def https_url(self_signed: ssl.SSLContext) -> Iterator[str]:
    """An HTTPS Matomo stand-in with an untrusted certificate that answers getMatomoVersion."""
    server = _http_server(lambda h, b: _reply(h, 200, b'{"value":"5.11.2"}'), tls=self_signed)
    yield f"https://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_tls_is_verified_by_default(https_url: str) -> None:
    """Both clients refuse a self-signed certificate by default: TransportError, no warning, no token in it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default must not warn
        with Matomo(https_url, auth=Auth.token(MARKER)) as m, pytest.raises(TransportError) as info:
            m.api.version()
    assert scan_text(str(info.value) + repr(info.value)) == []

    async def go() -> None:
        async with AsyncMatomo(https_url, auth=Auth.token(MARKER)) as am:
            with pytest.raises(TransportError):
                await am.api.version()

    anyio.run(go)


def test_verify_false_warns_and_connects(https_url: str) -> None:
    """verify=False warns, naming the risk to the token, and then talks to the self-signed server."""
    with pytest.warns(UserWarning, match=r"verification is off.*token") as warned:
        m = Matomo(https_url, auth=Auth.token(MARKER), verify=False)
    with m:
        assert m.api.version() == "5.11.2"
    assert all(scan_text(str(w.message)) == [] for w in warned)
    with pytest.warns(UserWarning, match=r"verification is off"):
        AsyncMatomo(https_url, auth=Auth.token(MARKER), verify=False)


def test_cli_insecure_warns_and_connects(https_url: str, clean_env: None) -> None:
    """`matomo call --insecure` prints one warning line naming the risk and succeeds; without it, one error line."""
    env = {"MATOMO_TOKEN": MARKER}
    ok = CliRunner().invoke(
        cli, ["call", "API.getMatomoVersion", "--url", https_url, "--insecure"], env=env
    )
    refused = CliRunner().invoke(cli, ["call", "API.getMatomoVersion", "--url", https_url], env=env)
    assert ok.exit_code == 0, ok.stderr
    assert "5.11.2" in ok.stdout
    warning = [line for line in ok.stderr.splitlines() if line.strip()]
    assert len(warning) == 1
    assert "not verified" in warning[0]
    assert "token" in warning[0]
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.exit_code == 1
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert scan_text(ok.stdout + ok.stderr + refused.stdout + refused.stderr) == []
