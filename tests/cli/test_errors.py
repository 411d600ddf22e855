"""The bad-input matrix: every mistake a user can make is one clear line on stderr and an exit code.

Exit 2 for what the user can fix on the command line or the machine, exit 1 when Matomo or the
network says no; never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from matomo_client.cli import connection

from .conftest import SANDBOX_TOKEN, Served, clean_env, invoke, one_error_line, run_cli

EXPORT = ["export", "visits", "--sandbox"]


def _export(*args: str, out: str = "x.duckdb") -> list[str]:
    return [*EXPORT, *args, "--out", out]


@pytest.mark.parametrize("bad", ["2024-13-01", "2024-02-30", "tomorrow", "last0", "lastweek", ""])
def test_invalid_date(bad: str) -> None:
    """An invalid --from is refused before any request, naming the accepted forms."""
    r = invoke(_export("--site", "1", "--from", bad, "--to", "yesterday"))
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "--from" in line
    assert "invalid date" in line


def test_from_after_to() -> None:
    """--from after --to is refused with both dates in the message."""
    r = invoke(_export("--site", "1", "--from", "2024-02-01", "--to", "2024-01-01"))
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "2024-02-01" in line
    assert "2024-01-01" in line


def test_unknown_site() -> None:
    """A site the token cannot see is refused, listing the sites it can see."""
    r = invoke(_export("--site", "99", "--from", "last2", "--to", "yesterday"))
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "99" in line
    assert "1, 2, 3" in line


@pytest.mark.parametrize("site", ["abc", "0", "1,x", ""])
def test_malformed_site(site: str) -> None:
    """A --site that is neither ids nor 'all' is refused before any request."""
    r = invoke(_export("--site", site, "--from", "last2", "--to", "yesterday"))
    assert r.exit_code == 2
    assert "--site" in one_error_line(r.stderr)


def test_unwritable_target(tmp_path: Path) -> None:
    """A target under a plain file (not a directory) is refused with the path named."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    out = str(blocker / "x.duckdb")
    r = invoke(_export("--site", "1", "--from", "last2", "--to", "yesterday", out=out))
    assert r.exit_code == 2
    assert out in one_error_line(r.stderr)


def test_unknown_target_kind() -> None:
    """A target whose kind cannot be told from its name is refused, listing the kinds."""
    r = invoke(_export("--site", "1", "--from", "last2", "--to", "yesterday", out="x.xlsx"))
    assert r.exit_code == 2
    assert ".duckdb" in one_error_line(r.stderr)


@pytest.mark.parametrize("suffix", ["", "/"])
def test_existing_file_without_extension_as_target(tmp_path: Path, suffix: str) -> None:
    """An existing file with no extension is refused as of no known kind, naming the kinds
    (before: 'cannot open plainfile/: File exists'); the file is left alone."""
    plain = tmp_path / "plainfile"
    plain.write_text("keep me")
    out = str(plain) + suffix
    r = invoke(_export("--site", "1", "--from", "last2", "--to", "yesterday", out=out))
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert f"'{plain}' is an existing file of no known target kind" in line
    assert "File exists" not in line
    assert ".duckdb" in line
    assert "a directory" in line
    assert plain.read_text() == "keep me"


def test_bad_token_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token the server refuses (Matomo's HTTP 401 page) is one line, exit 1."""
    monkeypatch.setattr(connection, "sandbox_overrides", {"days": 10, "token": "the-real-one"})
    r = invoke(["sites", "--sandbox"], env={"MATOMO_TOKEN": "a-wrong-token"})
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert "HTTP 401" in line
    assert "Unable to authenticate" in line


def test_bad_token_served(served: Served) -> None:
    """Against a served sandbox a wrong token fails `export visits` with one line, exit 1."""
    r = run_cli(
        ["export", "visits", "--site", "1", "--from", "last2", "--to", "yesterday"],
        env=clean_env(MATOMO_URL=served.url, MATOMO_TOKEN="a-wrong-token"),
    )
    assert r.returncode == 1
    assert "Unable to authenticate" in one_error_line(r.stderr)


def test_unreachable_url(closed_port_url: str) -> None:
    """A URL where nothing listens is one line naming the URL, exit 1."""
    r = invoke(["sites"], env={"MATOMO_URL": closed_port_url, "MATOMO_TOKEN": "x"})
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert "cannot reach Matomo" in line
    assert closed_port_url in line


def test_live_disabled_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exporting a site whose visits log is off is one line with Matomo's reason, exit 1."""
    monkeypatch.setattr(
        connection, "sandbox_overrides", {"days": 10, "live_disabled_sites": frozenset({2})}
    )
    r = invoke(_export("--site", "2", "--from", "last2", "--to", "yesterday"))
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert "site 2" in line
    assert "Visits log is deactivated" in line


def test_live_disabled_served(served_live_off: Served, tmp_path: Path) -> None:
    """The same against a served sandbox started with --live-disabled-site 2, site 2 named."""
    r = run_cli(
        ["export", "visits", "--site", "1,2", "--from", "last2", "--to", "yesterday"],
        env=clean_env(MATOMO_URL=served_live_off.url, MATOMO_TOKEN=SANDBOX_TOKEN),
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert "Visits log is deactivated" in one_error_line(r.stderr)


def test_live_disabled_site_is_left_out_of_all(served_live_off: Served, tmp_path: Path) -> None:
    """With --site all, the other sites are exported and site 2 is a warning, exit 0."""
    r = run_cli(
        ["export", "visits", "--site", "all", "--from", "last2", "--to", "yesterday"],
        env=clean_env(MATOMO_URL=served_live_off.url, MATOMO_TOKEN=SANDBOX_TOKEN),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "Warning: site 2: left out, its visits log is deactivated" in r.stdout
    assert "Reconciled" not in r.stdout  # not every site was compared


@pytest.mark.parametrize(
    "args",
    [
        ["sites", "--token", "abc123"],
        ["sites", "--token=abc123"],
        ["sites", "--token"],
        ["export", "visits", "--site", "1", "--from", "last2", "--to", "today", "--token", "abc"],
        ["call", "API.getMatomoVersion", "--token", "abc123"],
    ],
)
def test_token_on_the_command_line_is_refused(args: list[str]) -> None:
    """--token is refused (exit 2) explaining shell history and ps, and what to do instead."""
    r = invoke(args, env={"MATOMO_URL": "http://127.0.0.1:9/"})
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "shell history" in line
    assert "ps" in line
    assert "MATOMO_TOKEN" in line
    assert "--token-file" in line
    assert "abc" not in line


def test_token_auth_parameter_is_refused() -> None:
    """`call ... token_auth=...` is refused like --token."""
    r = invoke(["call", "--sandbox", "API.getMatomoVersion", "token_auth=abc123"])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "token_auth" in line
    assert "abc123" not in line


def test_missing_url() -> None:
    """No --url and no MATOMO_URL is one line saying how to give one."""
    r = invoke(["sites"], env={"MATOMO_TOKEN": "x"})
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "MATOMO_URL" in line
    assert "--url" in line


def test_missing_token() -> None:
    """A URL without any token is one line naming MATOMO_TOKEN and --token-file."""
    r = invoke(["sites", "--url", "http://127.0.0.1:9/"])
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "MATOMO_TOKEN" in line
    assert "--token-file" in line


@pytest.mark.parametrize("content", [None, ""])
def test_token_file_missing_or_empty(tmp_path: Path, content: str | None) -> None:
    """A --token-file that does not exist or is empty is one line naming the file."""
    path = tmp_path / "token.txt"
    if content is not None:
        path.write_text(content)
    r = invoke(["sites", "--url", "http://127.0.0.1:9/", "--token-file", str(path)])
    assert r.exit_code == 2
    assert "token.txt" in one_error_line(r.stderr)


def test_token_file_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The token from --token-file (whitespace stripped) is the one sent."""
    monkeypatch.setattr(connection, "sandbox_overrides", {"days": 10, "token": "from-file"})
    path = tmp_path / "token.txt"
    path.write_text("from-file\n")
    r = invoke(["sites", "--sandbox", "--json", "--token-file", str(path)])
    assert r.exit_code == 0, r.stderr


def test_non_http_url() -> None:
    """A URL that is not http(s) is refused before any request."""
    r = invoke(["sites", "--url", "ftp://stats.example.com/"], env={"MATOMO_TOKEN": "x"})
    assert r.exit_code == 2
    assert "http://" in one_error_line(r.stderr)


def test_insecure_warns(closed_port_url: str) -> None:
    """--insecure prints a one-line warning about TLS before connecting."""
    r = invoke(["sites", "--insecure"], env={"MATOMO_URL": closed_port_url, "MATOMO_TOKEN": "x"})
    warnings = [line for line in r.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1
    assert "TLS" in warnings[0]


def test_changed_command_line_needs_restart(tmp_path: Path) -> None:
    """An export of other data (another segment) into an existing target is refused (exit 2)
    until --restart is given; another site is not."""
    first = invoke(_export("--site", "1", "--from", "last2", "--to", "yesterday"))
    assert first.exit_code == 0, first.stderr
    assert invoke(_export("--site", "2", "--from", "last2", "--to", "yesterday")).exit_code == 0
    changed = _export(
        "--site", "2", "--from", "last2", "--to", "yesterday", "--segment", "visitorType==new"
    )
    r = invoke(changed)
    assert r.exit_code == 2
    assert "--restart" in one_error_line(r.stderr)
    again = invoke([*changed, "--restart"])
    assert again.exit_code == 0, again.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sites", "--bogus"], "--bogus"),
        (["export", "visits", "--sandbox", "--site", "1", "--from", "last2"], "--to"),
        (["export", "reports", "--sandbox", "--site", "1", "--from", "last2", "--to",
          "yesterday", "--period", "decade"], "--period"),
        (["export", "reports", "--sandbox", "--site", "1", "--from", "last2", "--to",
          "yesterday", "--report", "getPageUrls"], "Module.method"),
        (["call", "--sandbox", "NotAMethod"], "Module.action"),
        (["call", "--sandbox", "API.getMatomoVersion", "idSite"], "KEY=VALUE"),
        (["call", "--sandbox", "API.getMatomoVersion", "a=1", "a=2"], "twice"),
        (["call", "--sandbox", "API.getMatomoVersion", "--format", "xml"], "--raw"),
        (["export", "visits", "--sandbox", "--site", "1", "--from", "last2", "--to",
          "yesterday", "--concurrency", "0"], "--concurrency"),
        (["nope"], "nope"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line(args: list[str], needle: str) -> None:
    """Click's usage errors and our own are one line (no usage block), exit 2."""
    r = invoke(args)
    assert r.exit_code == 2
    assert needle in one_error_line(r.stderr)


def test_debug_shows_the_traceback() -> None:
    """With --debug an error also shows its traceback (still ending in the one-line message)."""
    r = invoke(["call", "--sandbox", "--debug", "VisitsSummary.nope", "idSite=1"])
    assert r.exit_code == 1
    assert "Traceback" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("Error: Matomo refused")


def test_site_given_twice_adds_up_and_all_stays_alone() -> None:
    """`--site 1 --site 2` exports both sites; `--site all --site 1` is one clear error."""
    from matomo_client.cli.export import _sites
    from matomo_client.cli.failures import UserError

    assert _sites(("1", "2,3", "2")) == [1, 2, 3]
    assert _sites(("ALL",)) == "all"
    with pytest.raises(UserError, match="give it alone"):
        _sites(("all", "1"))


@pytest.mark.parametrize("how", ["bom", "stdin", "stdin-bom"])
def test_token_file_with_a_byte_order_mark_or_from_stdin(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token file saved with a UTF-8 byte order mark (Windows editors) and `--token-file -`
    (the token piped in from a password manager) both give the token itself."""
    from click.testing import CliRunner

    from matomo_client.cli.app import cli

    monkeypatch.setattr(connection, "sandbox_overrides", {"days": 10, "token": "from-file"})
    data = ("\ufeff" if how.endswith("bom") else "") + "from-file\n"
    path = tmp_path / "token.txt"
    path.write_text(data, encoding="utf-8")
    source = "-" if how.startswith("stdin") else str(path)
    r = CliRunner().invoke(
        cli, ["sites", "--sandbox", "--json", "--token-file", source], input=data.encode()
    )
    assert r.exit_code == 0, r.stderr
    assert '"id_site": 1' in r.stdout
