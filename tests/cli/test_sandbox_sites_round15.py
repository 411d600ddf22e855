"""`matomo sandbox --extra-sites N` and a many-site world behind `--sandbox`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from matomo_client.cli import connection

from .conftest import invoke, one_error_line


def test_extra_sites_flag_reaches_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--extra-sites 300` is handed to the sandbox (default 0: the three sites as ever)."""
    seen: list[dict[str, Any]] = []

    def fake_serve(host: str, port: int, **options: Any) -> None:
        seen.append(options)

    monkeypatch.setattr("matomo_client.sandbox.serve", fake_serve)
    assert invoke(["sandbox", "--port", "0", "--extra-sites", "300"]).exit_code == 0
    assert invoke(["sandbox", "--port", "0"]).exit_code == 0
    assert [s["extra_sites"] for s in seen] == [300, 0]
    assert "--extra-sites" in invoke(["sandbox", "--help"]).stdout


@pytest.mark.parametrize("value", ["-1", "10001", "many"])
def test_bad_extra_sites_is_one_error_line(value: str) -> None:
    """A count out of 0..10000 or not a number: one Error line, exit 2."""
    r = invoke(["sandbox", "--port", "0", "--extra-sites", value])
    assert r.exit_code == 2
    assert "--extra-sites" in one_error_line(r.stderr)


def test_module_entry_point_takes_extra_sites(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m matomo_client.sandbox --extra-sites N` mirrors the CLI flag."""
    from matomo_client.sandbox import __main__ as entry

    seen: dict[str, Any] = {}
    monkeypatch.setattr(entry, "serve", lambda host, port, **options: seen.update(options))
    entry.main(["--port", "0", "--extra-sites", "12"])
    assert seen["extra_sites"] == 12


def test_sites_and_export_all_over_extra_sites_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`matomo sites` lists 43 sites and `export visits --site all` reconciles them all."""
    overrides = {"days": 3, "visits_per_day": 6, "extra_sites": 40}
    monkeypatch.setattr(connection, "sandbox_overrides", overrides)
    r = invoke(["call", "--sandbox", "SitesManager.getSitesIdWithAtLeastViewAccess"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == list(range(1, 44))
    r = invoke(["sites", "--sandbox"])
    assert r.exit_code == 0, r.stderr
    assert "Asia/Kolkata" in r.stdout or "Australia/Sydney" in r.stdout
    r = invoke(
        ["export", "visits", "--sandbox", "--site", "all", "--from", "yesterday", "--to",
         "yesterday", "--out", "all.duckdb", "--quiet"]
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    import duckdb

    with duckdb.connect("all.duckdb", read_only=True) as db:
        sites = {row[0] for row in db.execute("select distinct id_site from visits").fetchall()}
    assert len(sites - {1, 2, 3}) > 10
