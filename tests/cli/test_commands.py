"""Each `matomo` command against the in-process sandbox (`--sandbox`) and a served one."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from matomo_client.cli import connection

from .conftest import SANDBOX_TOKEN, Served, clean_env, invoke, run_cli, serve


def _served_env(served: Served, token: str = SANDBOX_TOKEN) -> dict[str, str]:
    return clean_env(MATOMO_URL=served.url, MATOMO_TOKEN=token)


# --- check ----------------------------------------------------------------------------------


def test_check_sandbox_all_good() -> None:
    """`check --sandbox` reports version, token, the three sites, visits log and reports; exit 0."""
    r = invoke(["check", "--sandbox"])
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "Matomo 5." in out
    assert "token" in out
    assert "accepted" in out
    assert "3 visible: 1 Shop, 2 Blog, 3 Empty" in out
    assert out.count("visits log") == 3
    assert "FAIL" not in out
    assert out.rstrip().endswith("All checks passed.")


def test_check_served_all_good(served: Served) -> None:
    """`check` against the sandbox served over HTTP passes every check."""
    r = run_cli(["check"], env=_served_env(served))
    assert r.returncode == 0, r.stderr
    assert "All checks passed." in r.stdout
    assert r.stderr == ""


def test_check_flags_site_with_visits_log_off(served_live_off: Served) -> None:
    """A site whose visits log is off fails the check with Matomo's reason, and exit 1."""
    r = run_cli(["check"], env=_served_env(served_live_off))
    assert r.returncode == 1
    fail = [line for line in r.stdout.splitlines() if "FAIL" in line]
    assert len(fail) == 1
    assert "site 2 Blog" in fail[0]
    assert "Visits log is deactivated" in fail[0]
    assert "1 check(s) failed." in r.stdout


def test_check_bad_token_is_a_failed_check(served: Served) -> None:
    """With a token the server refuses (HTTP 401), `check` names the token as the failure."""
    r = run_cli(["check"], env=_served_env(served, token="not-the-token"))
    assert r.returncode == 1
    fail = [line for line in r.stdout.splitlines() if "FAIL" in line]
    assert len(fail) == 1
    assert "token" in fail[0]
    assert "HTTP 401" in fail[0]


# --- sites ----------------------------------------------------------------------------------


def test_sites_json_sandbox() -> None:
    """`sites --json` lists the sandbox's sites with the documented fields."""
    r = invoke(["sites", "--sandbox", "--json"])
    assert r.exit_code == 0, r.stderr
    sites = json.loads(r.stdout)
    assert [s["id_site"] for s in sites] == [1, 2, 3]
    assert sites[0]["name"] == "Shop"
    assert sites[0]["ecommerce"] is True
    assert sites[1]["timezone"] == "Europe/Berlin"
    assert sites[1]["currency"] == "EUR"
    assert set(sites[0]) == {
        "id_site",
        "name",
        "main_url",
        "timezone",
        "currency",
        "ecommerce",
        "created",
    }


def test_sites_table_sandbox() -> None:
    """`sites` prints a table with the headers and one row per site."""
    r = invoke(["sites", "--sandbox"])
    assert r.exit_code == 0, r.stderr
    for header in ("id", "name", "URL", "timezone", "currency", "ecommerce", "created"):
        assert header in r.stdout
    assert "Europe/Berlin" in r.stdout
    assert "https://shop.example.com" in r.stdout


def test_sites_served(served: Served) -> None:
    """`sites --json` against the served sandbox gives the same sites as in-process."""
    r = run_cli(["sites", "--json"], env=_served_env(served))
    assert r.returncode == 0, r.stderr
    assert [s["name"] for s in json.loads(r.stdout)] == ["Shop", "Blog", "Empty"]


# --- call -----------------------------------------------------------------------------------


def test_call_pretty_json_sandbox() -> None:
    """`call` decodes Matomo's JSON and prints it indented."""
    r = invoke(
        ["call", "--sandbox", "VisitsSummary.get", "idSite=1", "period=day", "date=yesterday"]
    )
    assert r.exit_code == 0, r.stderr
    value = json.loads(r.stdout)
    assert value["nb_visits"] >= 0
    assert r.stdout.startswith("{\n  ")


def test_call_raw_is_the_body_untouched(served: Served) -> None:
    """`call --raw` writes exactly the bytes Matomo sent (here PHP-style escaped JSON)."""
    r = run_cli(
        ["call", "--raw", "SitesManager.getSitesWithAtLeastViewAccess"], env=_served_env(served)
    )
    assert r.returncode == 0, r.stderr
    assert "https:\\/\\/shop.example.com" in r.stdout  # json_encode escapes slashes
    assert "\n" not in r.stdout.strip()


def test_call_raw_other_format_sandbox() -> None:
    """`call --raw --format xml` asks Matomo for XML and prints it as is."""
    r = invoke(["call", "--sandbox", "--raw", "--format", "xml", "API.getMatomoVersion"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.lstrip().startswith("<?xml")


def test_call_api_error_is_exit_1() -> None:
    """An API error from `call` (unknown method) is one line naming Matomo's message, exit 1."""
    r = invoke(["call", "--sandbox", "VisitsSummary.nope", "idSite=1", "period=day", "date=today"])
    assert r.exit_code == 1
    assert "does not exist" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# --- export ---------------------------------------------------------------------------------


def _counts(path: Path) -> tuple[int, int, int]:
    with duckdb.connect(str(path), read_only=True) as db:
        visits = db.execute("SELECT count(*), count(DISTINCT (id_site, id_visit)) FROM visits")
        v, distinct = visits.fetchall()[0]
        (a,) = db.execute("SELECT count(*) FROM actions").fetchall()[0]
    return v, distinct, a


def test_export_visits_sandbox(tmp_path: Path) -> None:
    """`export visits --sandbox` writes every visit once and prints a reconciled summary table."""
    out = tmp_path / "v.duckdb"
    r = invoke(
        ["export", "visits", "--sandbox", "--site", "all", "--from", "last4", "--to", "yesterday",
         "--out", str(out)]
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    v, distinct, a = _counts(out)
    assert v == distinct > 0
    assert a > v
    assert f"{v:,}" in r.stdout
    assert "Reconciled: every window matches" in r.stdout
    assert "9 (+0 done before) of 9" in r.stdout  # 3 sites x 3 days
    assert r.stderr == ""


def test_export_visits_rerun_skips_done_windows(tmp_path: Path) -> None:
    """Running the same export again fetches nothing new and keeps every visit once."""
    # Days that ended long ago in any timezone: in the hour after midnight, yesterday is still
    # settling (open), and a re-run fetches it again, as it should.
    today = datetime.now(timezone.utc).date()
    first_day, last_day = (str(today - timedelta(days=n)) for n in (3, 2))
    args = ["export", "visits", "--sandbox", "--site", "1", "--from", first_day, "--to",
            last_day, "--out", str(tmp_path / "v.duckdb")]  # fmt: skip
    first = invoke(args)
    assert first.exit_code == 0, first.stderr
    before = _counts(tmp_path / "v.duckdb")
    second = invoke(args)
    assert second.exit_code == 0, second.stderr
    assert "0 (+2 done before) of 2" in second.stdout
    assert _counts(tmp_path / "v.duckdb") == before


@pytest.mark.parametrize(
    ("flag", "expected"), [([], None), (["--workers", "0"], 0), (["--workers", "3"], 3)]
)
def test_export_visits_workers_option_reaches_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: list[str], expected: int | None
) -> None:
    """--workers N is the export's `workers` (default: the library's, one per CPU)."""
    from matomo_client.export import engine

    seen: list[int | None] = []
    real = engine.export_visits

    async def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("workers"))  # type: ignore[arg-type]
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("matomo_client.export.export_visits", spy)
    r = invoke(["export", "visits", "--sandbox", "--site", "1", "--from", "last2", "--to",
                "yesterday", "--out", str(tmp_path / "v.jsonl"), *flag])  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert seen == [expected]
    assert (tmp_path / "v.visits.jsonl").read_text().count("\n") > 0


def test_export_visits_negative_workers_is_a_usage_error(tmp_path: Path) -> None:
    """--workers -1 exits 2 naming the option, before any target is created."""
    r = invoke(["export", "visits", "--sandbox", "--site", "1", "--from", "last2", "--to",
                "yesterday", "--out", str(tmp_path / "v.duckdb"), "--workers", "-1"])  # fmt: skip
    assert r.exit_code == 2
    assert "--workers" in r.stderr
    assert not (tmp_path / "v.duckdb").exists()


def test_export_visits_served_jsonl(served: Served, tmp_path: Path) -> None:
    """`export visits` against the served sandbox into JSONL holds the sandbox's visit ids."""
    r = run_cli(
        ["export", "visits", "--site", "1", "--from", "last3", "--to", "yesterday",
         "--out", "out.jsonl", "--page-size", "4"],
        env=_served_env(served),
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in (tmp_path / "out.visits.jsonl").read_text().splitlines()]
    ids = [row["id_visit"] for row in rows]
    assert ids
    assert len(ids) == len(set(ids))
    today = datetime.now(timezone.utc).date()  # site 1 is on UTC
    days = f"{today - timedelta(days=2)},{today - timedelta(days=1)}"
    check = run_cli(
        ["call", "Live.getLastVisitsDetails", "idSite=1", "period=range", f"date={days}",
         "filter_limit=-1", "doNotFetchActions=1"],
        env=_served_env(served),
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    expected = {int(v["idVisit"]) for v in json.loads(check.stdout)}
    assert set(ids) == expected


def test_export_reports_sandbox(tmp_path: Path) -> None:
    """`export reports --report` writes long-form rows whose visits match VisitsSummary."""
    out = tmp_path / "r.duckdb"
    r = invoke(
        ["export", "reports", "--sandbox", "--site", "1", "--from", "last3", "--to", "yesterday",
         "--report", "VisitsSummary.get", "--report", "Actions.getPageUrls", "--out", str(out)]
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    with duckdb.connect(str(out), read_only=True) as db:
        reports = {row[0] for row in db.execute("SELECT DISTINCT report FROM reports").fetchall()}
        (rows,) = db.execute("SELECT count(*) FROM reports").fetchall()[0]
    assert reports == {"VisitsSummary.get", "Actions.getPageUrls"}
    assert f"{rows:,}" in r.stdout


def test_export_reports_served(served: Served, tmp_path: Path) -> None:
    """`export reports --period month` against the served sandbox writes rows and exits 0."""
    r = run_cli(
        ["export", "reports", "--site", "2", "--from", "last3", "--to", "yesterday",
         "--period", "month", "--report", "Referrers.getReferrerType", "--out", "r.sqlite"],
        env=_served_env(served),
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r.sqlite").exists()
    assert "reports (month) export to r.sqlite" in r.stdout


# --- sandbox --------------------------------------------------------------------------------


def test_sandbox_command_serves(tmp_path: Path) -> None:
    """`matomo sandbox --port 0` serves a Matomo that `matomo sites` can read."""
    argv = ["-m", "matomo_client.cli", "sandbox", "--port", "0", "--days", "3"]
    with serve(*argv, "--visits-per-day", "2", "--token", "t0ken-for-test") as served:
        r = run_cli(
            ["sites", "--json"],
            env=clean_env(MATOMO_URL=served.url, MATOMO_TOKEN="t0ken-for-test"),
        )
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) == 3


def test_help_has_an_example_for_every_command() -> None:
    """Every command's help text carries an `Example:` section."""
    names = [
        ["check"], ["sites"], ["call"], ["export"], ["export", "visits"], ["export", "reports"],
        ["sandbox"], [],
    ]  # fmt: skip
    for name in names:
        r = invoke([*name, "--help"])
        assert r.exit_code == 0
        assert "Example:" in r.stdout, name


@pytest.mark.parametrize("args", [["--version"], []])
def test_version_and_bare_command(args: list[str]) -> None:
    """`matomo --version` prints the version; bare `matomo` prints the help, both exit 0."""
    r = invoke(args)
    assert r.exit_code == 0
    assert ("0.1.0" in r.stdout) if args else ("Commands:" in r.stdout)


def test_sandbox_overrides_reach_the_in_process_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--sandbox` builds its world from `connection.sandbox_overrides` (used by other tests)."""
    monkeypatch.setattr(connection, "sandbox_overrides", {"days": 10, "visits_per_day": 0})
    r = invoke(["call", "--sandbox", "VisitsSummary.get", "idSite=1", "period=day",
                "date=yesterday"])  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["nb_visits"] == 0
