"""Round 28, a new user's first hour: the errors for the first things typed wrong say what is wrong.

A Matomo dashboard URL pasted whole as `--url` was refused as "--url 'https://host/index.php':
the Matomo base URL must not have a query string", the URL shown without the query it complains
about. A word or a fraction where a count goes (`--concurrency 1.5`) was "'1.5' is not a valid
integer range", as if a range had been asked for.
"""

from __future__ import annotations

import pytest

from .conftest import clean_env, invoke, one_error_line

SECRET = "0123456789abcdef0123456789abcdef"
DASHBOARD = (
    "https://stats.example.com/index.php?module=CoreHome&action=index&idSite=1&period=day"
    f"&date=yesterday&token_auth={SECRET}#?idSite=1&period=day"
)


@pytest.mark.parametrize("from_env", [False, True])
def test_a_pasted_dashboard_url_says_what_to_use(from_env: bool) -> None:
    """The refused URL is shown with `?...`/`#...` where its query and fragment were (never
    their text, which may hold a token), and the base URL to use instead is named."""
    args = ["sites"] if from_env else ["sites", "--url", DASHBOARD]
    env = {"MATOMO_TOKEN": "sandbox-token", **({"MATOMO_URL": DASHBOARD} if from_env else {})}
    r = invoke(args, env=clean_env(**env))
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    source = "MATOMO_URL" if from_env else "--url"
    assert f"{source} 'https://stats.example.com/index.php?...#...'" in line
    assert "must not have a query string or fragment" in line
    assert line.endswith("use the base URL alone, https://stats.example.com/")
    assert SECRET not in r.stderr + r.stdout
    assert "CoreHome" not in line


def test_a_fragment_alone_is_marked_too() -> None:
    """`https://host/matomo/#x`: the fragment is marked, the folder kept in the advice."""
    r = invoke(["sites", "--url", "https://stats.example.com/matomo/#x"], env=clean_env())
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "'https://stats.example.com/matomo/#...'" in line
    assert line.endswith("use the base URL alone, https://stats.example.com/matomo/")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://stats.example.com:99999/?x=1", "has an invalid port"),
        ("http://:80/index.php?module=CoreHome", "has no host"),
    ],
)
def test_a_url_with_a_query_and_another_fault_names_that_fault(url: str, problem: str) -> None:
    """A URL with a query and something else wrong (a bad port, no host): one line naming that,
    with the query marked, and no base URL advised (there is none to give): it used to end in
    an internal error, the advice's own check failing."""
    r = invoke(["sites", "--url", url], env=clean_env(MATOMO_TOKEN="sandbox-token"))
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert "internal error" not in line
    assert line.endswith(f"the Matomo base URL {problem}")
    assert "?...'" in line


EXPORT = ["export", "visits", "--sandbox", "--site", "1", "--from", "yesterday", "--to", "today"]


@pytest.mark.parametrize(
    ("args", "option", "value", "what"),
    [
        ([*EXPORT, "--concurrency", "1.5"], "--concurrency", "1.5", "a whole number"),
        ([*EXPORT, "--concurrency", "four"], "--concurrency", "four", "a whole number"),
        ([*EXPORT, "--page-size", "1e3"], "--page-size", "1e3", "a whole number"),
        ([*EXPORT, "--workers", "x"], "--workers", "x", "a whole number"),
        ([*EXPORT, "--timeout", "abc"], "--timeout", "abc", "a number"),
        (["sandbox", "--port", "http"], "--port", "http", "a whole number"),
        (["sandbox", "--days", "1.5"], "--days", "1.5", "a whole number"),
        (["sandbox", "--fault-rate", "x"], "--fault-rate", "x", "a number"),
    ],
)
def test_a_value_that_is_no_number_is_called_so(
    args: list[str], option: str, value: str, what: str
) -> None:
    """One line naming the option and saying the value is not a (whole) number, exit 2."""
    r = invoke(args)
    assert r.exit_code == 2
    line = one_error_line(r.stderr)
    assert f"Invalid value for '{option}': '{value}' is not {what}." in line
    assert "range" not in line.split("(see")[0]


def test_numbers_in_range_and_out_of_range_read_as_before() -> None:
    """An integer out of range keeps click's range message; a good one is taken."""
    r = invoke([*EXPORT, "--concurrency", "0", "--out", "x.jsonl", "-q"])
    assert r.exit_code == 2
    assert "0 is not in the range x>=1" in one_error_line(r.stderr)
    r = invoke([*EXPORT, "--concurrency", " 2", "--out", "x.jsonl", "-q", "--timeout", "5"])
    assert r.exit_code == 0, r.stderr
