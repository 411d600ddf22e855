"""How the `matomo` command fails: one clear line on stderr, never a traceback, never the token.

Exit codes: 0 success, 1 Matomo or the network said no (`RemoteError`: API errors, HTTP errors,
unreachable server), 2 the user asked for something that cannot work (`UserError`: bad dates,
unknown site, unwritable target, a token on the command line, missing URL/token). `describe`
maps every library exception to one of the two; `Session` remembers the secrets of the current
run so that every line shown (errors, debug logs, tracebacks) is scrubbed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

import click

from matomo_client.errors import (
    ApiError,
    ApiErrorKind,
    BodyProblem,
    DecodeError,
    HttpStatusError,
    MatomoError,
    NonJsonBodyError,
    PreflightError,
    TransportError,
    scrub,
)
from matomo_client.export import (
    ExportApiError,
    ExportError,
    ExportUsageError,
    StateMismatchError,
    TargetError,
)

__all__ = [
    "SESSION",
    "CliError",
    "RemoteError",
    "Session",
    "UserError",
    "describe",
    "json_failure",
    "one_line",
    "write_out",
]

# A disk or quota full, a file too large: what stops a write to stdout redirected to a file.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

EXIT_USER = 2
EXIT_REMOTE = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_HUNG_UP = 129  # 128 + SIGHUP: the terminal or ssh session went away


class CliError(click.ClickException):
    """A failure shown as one line; subclasses set the exit code."""

    exit_code = EXIT_REMOTE


class UserError(CliError):
    """Something the user can fix on the command line or the machine (exit 2)."""

    exit_code = EXIT_USER


class RemoteError(CliError):
    """Matomo or the network refused (exit 1)."""

    exit_code = EXIT_REMOTE


class _ScrubbingFormatter(logging.Formatter):
    """Formats log records, then removes the session's secrets from the text."""

    def format(self, record: logging.LogRecord) -> str:
        return SESSION.scrub(super().format(record))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to `sys.stderr` as it is at each record, so that a progress bar that takes
    stderr over (rich's) prints the line above the bar instead of through it."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always the current sys.stderr


# `2026-11-30 03:00:01.377 INFO matomo_client.export: ...`, for -v, -vv and --debug alike
_FORMAT = "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s"
_DATE = "%Y-%m-%d %H:%M:%S"  # local time, as cron's and the shell's


@dataclass
class Session:
    """Per-invocation state: secrets to scrub, `--debug`, the server we talk to."""

    secrets: set[str] = field(default_factory=set, repr=False)  # `repr` must not show them
    debug: bool = False
    server: str = ""
    terminated: bool = False  # SIGTERM (or SIGHUP), not Ctrl-C, stopped the command
    hung_up: bool = False  # SIGHUP: the terminal went away
    resumable: bool = False  # an export: running it again resumes it
    json: bool = False  # `export --json`: stdout holds one JSON object, failures included
    _handler: logging.Handler | None = None
    _old_level: int = logging.WARNING
    _old_client_level: int | None = None

    def reset(self) -> None:
        """Forget everything from a previous invocation (tests run many in one process)."""
        self.stop_logging()
        self.secrets.clear()
        self.debug = False
        self.server = ""
        self.terminated = False
        self.hung_up = False
        self.resumable = False
        self.json = False

    def add_secret(self, secret: str | None) -> None:
        """Remember a secret so no output of this run can show it."""
        if secret:
            self.secrets.add(secret)

    def scrub(self, text: str) -> str:
        """`text` without any of the session's secrets."""
        return scrub(text, self.secrets)

    def start_debug(self) -> None:
        """`--debug`: log everything (scrubbed, with timestamps) to stderr and show tracebacks
        on failure."""
        self.debug = True
        self._add_handler()
        logging.getLogger().setLevel(logging.DEBUG)
        if self._old_client_level is not None:  # `-v` set the client's level: lower it too
            logging.getLogger("matomo_client").setLevel(logging.DEBUG)

    def start_verbose(self, level: int) -> None:
        """`matomo -v` (INFO: retries, the export's windows) or `-vv` (DEBUG: every request):
        the client's log, with timestamps and scrubbed, on stderr; other libraries' only with
        `--debug`."""
        client = logging.getLogger("matomo_client")
        if self._old_client_level is None:
            self._old_client_level = client.level
        client.setLevel(level)
        self._add_handler()

    def _add_handler(self) -> None:
        """Put the one stderr handler on the root logger."""
        if self._handler is None:
            self._handler = _StderrHandler()
            self._handler.setFormatter(_ScrubbingFormatter(_FORMAT, _DATE))
            root = logging.getLogger()
            self._old_level = root.level
            root.addHandler(self._handler)

    def stop_logging(self) -> None:
        """Remove the stderr handler again and restore the levels it changed."""
        if self._handler is not None:
            root = logging.getLogger()
            root.removeHandler(self._handler)
            root.setLevel(self._old_level)
            self._handler = None
        if self._old_client_level is not None:
            logging.getLogger("matomo_client").setLevel(self._old_client_level)
            self._old_client_level = None


SESSION = Session()


def one_line(text: str) -> str:
    """Whitespace collapsed: the message fits on one line."""
    return " ".join(text.split())


def _leaves(exc: BaseException) -> list[BaseException]:
    """The real errors inside (nested) exception groups, or `[exc]`."""
    inner: Iterable[BaseException] | None = getattr(exc, "exceptions", None)
    if inner is None or isinstance(exc, (MatomoError, ExportError)):
        return [exc]
    out: list[BaseException] = []
    for e in inner:
        out.extend(_leaves(e))
    return out or [exc]


_AUTH_HINT = " (check the token in MATOMO_TOKEN or the --token-file)"


def _transport_message(e: TransportError) -> str:
    server = f" at {SESSION.server}" if SESSION.server else ""
    detail = f" ({e.detail})" if e.detail else ""
    if e.timeout:  # the server answered too slowly: the URL is likely right
        return (
            f"timed out waiting for Matomo{server}{detail}: a slow server needs a longer --timeout"
        )
    if ": " in e.detail:  # the server was reached; the detail says what is wrong (TLS...)
        return f"cannot talk to Matomo{server} ({e.detail})"
    return f"cannot reach Matomo{server}{detail}: check --url / MATOMO_URL"


# What a web server that is not Matomo's index.php answers its POST with: nothing here (404),
# no POST here (405: a static site; 501: `python -m http.server`).
_NOT_MATOMO_STATUS = frozenset({404, 405, 501})


def _not_found_hint(e: BaseException | None) -> str:
    """For an answer to the first request (the version, asked as JSON: a Matomo answers it, or
    its error body is an ApiError) that no Matomo gives: a 404, 405 or 501, an HTML page, JSON of
    another shape. `call --raw --format csv` gets Matomo's own 404s ("The plugin Nope was not
    found") as HttpStatusError too: only the version's answer says there is no Matomo."""
    if not isinstance(e, MatomoError) or e.method != "API.getMatomoVersion":
        return ""
    server = f" at {SESSION.server}" if SESSION.server else ""
    if isinstance(e, HttpStatusError) and e.status in _NOT_MATOMO_STATUS:
        return f" (no Matomo API{server}: check --url / MATOMO_URL, the folder Matomo is in)"
    if isinstance(e, NonJsonBodyError) and e.problem is BodyProblem.HTML:
        return (
            f" (a web page, not Matomo's API, answered{server}: check --url / MATOMO_URL, the "
            "folder Matomo is in, and that no login page stands in front of it)"
        )
    if isinstance(e, DecodeError):
        return f" (no Matomo API{server}: check --url / MATOMO_URL, the folder Matomo is in)"
    return ""


def _api_message(e: ApiError) -> str:
    where = f" {e.method}" if e.method else ""
    text = f"Matomo refused{where} (HTTP {e.status}): {e.message}"
    if e.kind is ApiErrorKind.AUTH:
        text += _AUTH_HINT
    elif e.kind is ApiErrorKind.DISABLED and "visits log" in e.message.lower():
        text += " (an admin can enable the visits log in the website or general settings)"
    if e.retry_after is not None:  # longer than the retries could wait: say how long it asked
        text += f" (it asked to wait {e.retry_after:g} s before trying again)"
    return text


def _restart_deletes(message: str) -> str:
    """What `--restart` deletes, from a "holds a <kind> export" message."""
    m = re.search(r"holds an? reports:(\w+) export", message)
    if m:
        return f"the {m.group(1)} reports it holds"
    return "the visits and actions it holds"


def describe(exc: BaseException) -> click.ClickException | None:
    """The one-line failure for a known exception, or None for a bug."""
    leaves = _leaves(exc)
    known = (click.ClickException, MatomoError, ExportError)
    exc = next((e for e in leaves if isinstance(e, known)), exc)
    if isinstance(exc, click.ClickException):
        return exc
    if isinstance(exc, StateMismatchError):
        # "start over" alone reads as harmless: --restart first deletes what that export wrote
        restart = f"pass --restart to delete {_restart_deletes(str(exc))} and start over"
        text = str(exc).replace("pass restart to start over", restart)
        if "--restart" not in text:
            text += f" ({restart})"
        return UserError(text)
    if isinstance(exc, (ExportUsageError, TargetError)):
        return UserError(str(exc))
    if isinstance(exc, ExportApiError):
        cause = exc.__cause__
        if isinstance(cause, TransportError):
            # "cannot start the export: <the transport line>": the server, and what to check.
            where = str(exc).removesuffix(str(cause)).rstrip(": ")
            return RemoteError(f"{where}: {_transport_message(cause)}")
        if isinstance(cause, ApiError) and cause.kind is ApiErrorKind.DISABLED:
            return RemoteError(f"{exc} (an admin can enable the visits log for this website)")
        if isinstance(cause, ApiError) and cause.kind is ApiErrorKind.AUTH:
            return RemoteError(f"{exc}{_AUTH_HINT}")
        return RemoteError(f"{exc}{_not_found_hint(cause)}")
    if isinstance(exc, ApiError):
        return RemoteError(_api_message(exc))
    if isinstance(exc, TransportError):
        return RemoteError(_transport_message(exc))
    if isinstance(exc, (HttpStatusError, NonJsonBodyError, DecodeError, PreflightError)):
        return RemoteError(f"{exc}{_not_found_hint(exc)}")
    if isinstance(exc, MatomoError):
        return RemoteError(str(exc))
    if isinstance(exc, ExportError):
        return RemoteError(str(exc))
    if isinstance(exc, OSError) and exc.errno in _FULL:
        # The library and the export wrap their own I/O errors: this is stdout (`> file`).
        return UserError(f"cannot write the output: {exc.strerror or exc}")
    return None


def write_out(data: bytes) -> None:
    """Write `data` to stdout whole. A short write (a full disk, a file size limit) is written on
    until it fails with its error: Python hands a large write's short count back silently."""
    sys.stdout.flush()
    out = sys.stdout.buffer
    view = memoryview(data)
    try:
        while view:
            written = out.write(view)
            if not written:
                raise OSError(errno.EIO, "the output takes no more bytes")
            view = view[written:]
        out.flush()
    except BrokenPipeError:
        raise  # the reader left (`| head`): the command group ends quietly
    except OSError as e:
        raise UserError(f"cannot write the output: {e.strerror or e}") from None


def json_failure(text: str, code: int, exc: BaseException | None = None) -> None:
    """With `export --json`, the failure as the JSON object a job reads from stdout too: its
    stdout is never empty or half a table (`{"ok": false, "exit_code": ..., "error": ...}`)."""
    if not SESSION.json:
        return
    import orjson

    # resumable: the export had started (not refused for its input), what was written is kept,
    # and the same command, run again once the cause is mended, goes on from there;
    # retryable: running it again may succeed by itself (a server down, a time-out, a run stopped
    # by a signal), so a scheduler may simply do so; not a bad token, a disabled log, a bad option.
    bad_input = (click.UsageError, UserError, ExportUsageError, StateMismatchError)
    failure = {
        "ok": False,
        "exit_code": code,
        "error": SESSION.scrub(one_line(text)),
        "resumable": SESSION.resumable and exc is not None and not isinstance(exc, bad_input),
        "retryable": isinstance(exc, KeyboardInterrupt) or (exc is not None and _passing(exc)),
    }
    with contextlib.suppress(OSError, click.ClickException):  # stdout gone: stderr still says
        write_out(orjson.dumps(failure) + b"\n")


def _passing(exc: BaseException) -> bool:
    """Whether the Matomo error behind `exc` (itself, or what it was raised from) may pass."""
    from matomo_client._core.retry import is_transient

    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, MatomoError) and is_transient(cause):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def show_failure(exc: BaseException) -> int:
    """Print `exc` as one scrubbed line on stderr (plus a traceback with --debug); the exit code."""
    if isinstance(exc, KeyboardInterrupt):
        what = (
            "hung up" if SESSION.hung_up else "terminated" if SESSION.terminated else "interrupted"
        )
        if SESSION.resumable:
            what += "; run the same command again to resume where it stopped"
        with contextlib.suppress(OSError):  # after SIGHUP, the terminal may be gone
            click.echo(f"Error: {what}", err=True)
        code = (
            EXIT_HUNG_UP
            if SESSION.hung_up
            else EXIT_TERMINATED
            if SESSION.terminated
            else EXIT_INTERRUPTED
        )
        json_failure(what, code, exc)
        return code
    failure = describe(exc)
    if SESSION.debug:
        click.echo(SESSION.scrub("".join(traceback.format_exception(exc))).rstrip(), err=True)
    if failure is None:
        kind = type(exc).__name__
        hint = "" if SESSION.debug else " (run again with --debug for the traceback)"
        text = f"internal error ({kind}): {exc}{hint}"
        code = EXIT_REMOTE
    else:
        text = failure.format_message()
        code = failure.exit_code
    click.echo("Error: " + SESSION.scrub(one_line(text)), err=True)
    json_failure(text, code, exc)
    return code
