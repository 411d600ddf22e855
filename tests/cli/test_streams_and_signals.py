"""The `matomo` command with closed output streams, and stopped by SIGTERM mid-export.

A closed stdout or stderr (`>&-`) behaves like /dev/null, never an internal error; SIGTERM
(`kill`, `docker stop`) stops an export as Ctrl-C does: one line, exit 143.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from matomo_client.cli.failures import SESSION, describe, show_failure
from matomo_client.errors import ApiError, ApiErrorKind, TransportError
from matomo_client.export import ExportApiError

from .conftest import SANDBOX_TOKEN, SMALL_WORLD, clean_env, invoke, one_error_line, serve

SANDBOX_ENV = clean_env(MATOMO_TOKEN=SANDBOX_TOKEN)


def _run_with_closed(fd: int, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m matomo_client.cli ARGS` with descriptor `fd` (1 or 2) closed, as `>&-` does."""
    return subprocess.run(
        [sys.executable, "-m", "matomo_client.cli", *args],
        env=SANDBOX_ENV,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(fd),
    )


@pytest.mark.parametrize(
    "args",
    [
        ["sites", "--sandbox"],
        ["call", "API.getMatomoVersion", "--raw", "--sandbox"],
        ["export", "visits", "--sandbox", "--site", "3", "--from", "yesterday", "--to",
         "yesterday", "--workers", "0", "--out", "x.sqlite"],
    ],
)  # fmt: skip
def test_closed_stdout_is_not_an_internal_error(args: list[str], tmp_path: Path) -> None:
    """`matomo ... >&-` writes nowhere and succeeds, instead of 'internal error (AttributeError)'
    after the work was done."""
    r = _run_with_closed(1, args, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Error" not in r.stderr


def test_closed_stderr_export_succeeds(tmp_path: Path) -> None:
    """`matomo export ... 2>&-` exports and prints its summary (it used to exit 1, silently)."""
    args = ["export", "visits", "--sandbox", "--site", "3", "--from", "yesterday", "--to",
            "yesterday", "--workers", "0", "--out", "x.sqlite"]  # fmt: skip
    r = _run_with_closed(2, args, tmp_path)
    assert r.returncode == 0
    assert "Reconciled" in r.stdout
    assert (tmp_path / "x.sqlite").exists()


def _ignore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell script's `cmd &` starts it


def _signal_export(
    tmp_path: Path,
    signum: int,
    export_args: list[str],
    latency_ms: str,
    preexec: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`matomo export visits EXPORT_ARGS --out x.jsonl` against a served sandbox, sent `signum`
    once its first window is recorded; its exit code and output."""
    argv = ["-m", "matomo_client.sandbox", "--port", "0", *SMALL_WORLD, "--latency-ms", latency_ms]
    with serve(*argv) as served:
        process = subprocess.Popen(
            preexec_fn=preexec,
            args=[sys.executable, "-m", "matomo_client.cli", "export", "visits", *export_args,
                  "--out", "x.jsonl"],
            env=clean_env(MATOMO_URL=served.url, MATOMO_TOKEN=SANDBOX_TOKEN),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        journal = tmp_path / "x.jsonl._matomo_export.jsonl"
        deadline = time.monotonic() + 60
        while not journal.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, "the export ended before it could be stopped"
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize("ctrl_c", ["default", "ignored", "ignored-again"])
def test_sigterm_stops_an_export_with_one_line(tmp_path: Path, ctrl_c: str) -> None:
    """SIGTERM during an export is 'Error: terminated; run the same command again...', exit 143
    (before: killed at once, no message, and a terminal's cursor left hidden by the bars). With
    Ctrl-C ignored, as in a script's background job, no traceback comes first (before: about one
    run in six showed asyncio's "unhandled exception during asyncio.run() shutdown")."""
    done = _signal_export(
        tmp_path,
        signal.SIGTERM,
        ["--site", "all", "--from", "last10", "--to", "yesterday", "--page-size", "1"],
        "200",
        None if ctrl_c == "default" else _ignore_ctrl_c,
    )
    assert done.returncode == 143, done.stderr
    line = one_error_line(done.stderr)
    assert line.startswith("Error: terminated; run the same command again to resume")


@pytest.mark.parametrize("nohup", [False, True], ids=["hangup", "nohup"])
def test_sighup_stops_an_export_cleanly_unless_ignored(tmp_path: Path, nohup: bool) -> None:
    """The ssh session or terminal going away (SIGHUP) stops the export as SIGTERM does, exit
    129 (before: killed at once, leaving its spilled rows in TMPDIR); under `nohup` (SIGHUP
    ignored) it goes on to the end."""

    def start() -> None:
        if nohup:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

    args = ["--site", "1", "--from", "last4", "--to", "yesterday", "--page-size", "3"]
    done = _signal_export(tmp_path, signal.SIGHUP, args, "100", start)
    if nohup:
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 129, done.stderr
    line = one_error_line(done.stderr)
    assert line.startswith("Error: hung up; run the same command again to resume")


def test_sigterm_with_ctrl_c_ignored_cancels_the_export_as_ctrl_c_does() -> None:
    """With Ctrl-C ignored, SIGTERM still goes through the event loop's Ctrl-C handler: the
    export's task is cancelled where it waits, not hit by a KeyboardInterrupt raised in whatever
    code the signal interrupted (which broke asyncio's shutdown with a traceback); Ctrl-C is
    ignored again inside the loop and after."""
    import anyio

    from matomo_client.cli.export import _terminate_as_interrupt

    seen: dict[str, object] = {}

    async def export(adopt: object) -> None:
        adopt()  # type: ignore[operator]
        seen["ctrl_c_inside"] = signal.getsignal(signal.SIGINT)
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            await anyio.sleep(5)
        except BaseException as e:
            seen["inside"] = type(e).__name__
            raise

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # Python 3.10's asyncio ends the run with CancelledError (no Task.uncancel to tell an
        # interrupt apart); the command line reads it as the interrupt it is (cli/app.py).
        interrupted = (KeyboardInterrupt, asyncio.CancelledError)
        with pytest.raises(interrupted), _terminate_as_interrupt() as adopt:
            anyio.run(export, adopt)
        assert seen["inside"] == "CancelledError"
        assert seen["ctrl_c_inside"] is signal.SIG_IGN
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert SESSION.terminated
    finally:
        signal.signal(signal.SIGINT, previous)
        SESSION.reset()


def test_a_second_ctrl_c_while_the_export_stops_is_ignored() -> None:
    """Two quick Ctrl-Cs: the first cancels the export where it waits, the second is ignored
    (before: asyncio's handler raised KeyboardInterrupt wherever the code stood, and the
    shutdown ended in a traceback about 2 runs in 30); Ctrl-C's handler is put back after."""
    import anyio

    from matomo_client.cli.export import _terminate_as_interrupt

    seen: dict[str, object] = {}

    async def export(adopt: object) -> None:
        adopt()  # type: ignore[operator]
        try:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            await anyio.sleep(5)
        except BaseException as e:
            seen["inside"] = type(e).__name__
            raise

    before = signal.getsignal(signal.SIGINT)
    interrupted = (KeyboardInterrupt, asyncio.CancelledError)  # the latter on Python 3.10
    with pytest.raises(interrupted), _terminate_as_interrupt() as adopt:
        anyio.run(export, adopt)
    assert seen["inside"] == "CancelledError"
    assert signal.getsignal(signal.SIGINT) is before
    SESSION.reset()


def test_export_that_cannot_reach_matomo_names_the_server(closed_port_url: str) -> None:
    """An export whose server is unreachable says it cannot start (before: 'cannot list sites')
    and, as `sites` does, names the URL and what to check, not 'Transport error calling Matomo in
    API.getMatomoVersion'."""
    r = invoke(
        ["export", "visits", "--site", "1", "--from", "yesterday", "--to", "yesterday",
         "--timeout", "0.5"],
        env={"MATOMO_URL": closed_port_url, "MATOMO_TOKEN": "tok-unreachable"},
    )  # fmt: skip
    assert r.exit_code == 1
    line = one_error_line(r.stderr)
    assert line.startswith("Error: cannot start the export: cannot reach Matomo at ")
    assert closed_port_url in line
    assert "check --url / MATOMO_URL" in line


def test_export_errors_keep_their_hints() -> None:
    """A timeout points to --timeout, not to the URL; a refused token in an export gets the same
    hint as in `sites`."""
    SESSION.reset()
    cause = TransportError("Live.getLastVisitsDetails", "ReadTimeout", timeout=True)
    timeout = ExportApiError(f"cannot export visits of site 1, 2024-01-01: {cause}")
    timeout.__cause__ = cause
    failure = describe(timeout)
    assert failure is not None
    assert failure.format_message().startswith(
        "cannot export visits of site 1, 2024-01-01: timed out waiting for Matomo (ReadTimeout)"
    )
    assert "--timeout" in failure.format_message()
    auth = ExportApiError("cannot list sites: Unable to authenticate")
    auth.__cause__ = ApiError(ApiErrorKind.AUTH, "Unable to authenticate", "API.getMatomoVersion")
    failure = describe(auth)
    assert failure is not None
    assert "MATOMO_TOKEN" in failure.format_message()


@pytest.mark.parametrize("raw", [True, False])
def test_call_output_cut_short_fails(raw: bool, tmp_path: Path) -> None:
    """`matomo call ... > file` that cannot write the whole answer (here a file size limit, as a
    full disk does) fails with one line, exit 2, instead of a truncated file and exit 0 (--raw)
    or 'internal error (OSError)'."""
    limit = 20_000

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    args = ["call", "Live.getLastVisitsDetails", "idSite=1", "period=range", "date=last10",
            "filter_limit=-1", "--sandbox", *(["--raw"] if raw else [])]  # fmt: skip
    with (tmp_path / "out.json").open("w") as out:
        r = subprocess.run(
            [sys.executable, "-m", "matomo_client.cli", *args],
            env=SANDBOX_ENV,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            preexec_fn=small_files,
        )
    assert (tmp_path / "out.json").stat().st_size == limit
    assert r.returncode == 2, r.stderr
    assert one_error_line(r.stderr) == "Error: cannot write the output: File too large"


def test_call_raw_output_is_whole(tmp_path: Path) -> None:
    """`call --raw` writes the whole body, byte for byte, however large."""
    args = ["call", "Live.getLastVisitsDetails", "idSite=1", "period=range", "date=last10",
            "filter_limit=-1", "--raw", "--sandbox"]  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-m", "matomo_client.cli", *args],
        env=SANDBOX_ENV,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == 0
    assert len(r.stdout) > 100_000
    assert json.loads(r.stdout)[0]["idSite"] == 1


@pytest.mark.parametrize(
    ("command", "limit"), [(["check"], 40), (["sites", "--json"], 40), (["sites"], 1024)]
)
def test_full_output_file_is_one_line(command: list[str], limit: int, tmp_path: Path) -> None:
    """`matomo check > file` on a full disk (here a file size limit) says it cannot write the
    output, exit 2, instead of 'internal error (OSError)'; so does a rich table cut short (the
    sites table, as the export summary, is printed by rich: the rest of a write the disk took
    only part of was dropped, and the command exited 0)."""

    def tiny_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    with (tmp_path / "out.txt").open("w") as out:
        r = subprocess.run(
            [sys.executable, "-m", "matomo_client.cli", *command, "--sandbox"],
            env=SANDBOX_ENV,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            preexec_fn=tiny_files,
        )
    assert r.returncode == 2, r.stderr
    assert one_error_line(r.stderr) == "Error: cannot write the output: File too large"


def test_ctrl_c_outside_an_export_does_not_promise_a_resume(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C in `check`, `sites` or `call` is 'Error: interrupted', exit 130: only an export is
    resumed by running it again (and SIGTERM during one exits 143)."""
    SESSION.reset()
    assert show_failure(KeyboardInterrupt()) == 130
    assert capsys.readouterr().err == "Error: interrupted\n"
    SESSION.resumable = True
    assert show_failure(KeyboardInterrupt()) == 130
    assert capsys.readouterr().err == (
        "Error: interrupted; run the same command again to resume where it stopped\n"
    )
    SESSION.terminated = True
    assert show_failure(KeyboardInterrupt()) == 143
    SESSION.reset()
