"""The `matomo` command group and its entry point.

`MatomoGroup.main` is where every failure becomes one line: click's own usage errors, the
CLI's `UserError`/`RemoteError`, and the library's exceptions (via `failures.describe`).
It runs for the installed `matomo` script and for click's `CliRunner` alike.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from matomo_client import __version__
from matomo_client.export._gc import RELAXED_THRESHOLDS

from .export import export
from .failures import EXIT_USER, SESSION, json_failure, one_line, show_failure
from .inspect import call, check, sites
from .sandbox import sandbox

__all__ = ["MatomoGroup", "cli", "main"]


# `MATOMO_LOG`: the same as -v (info) or -vv (debug), for a job whose command line stays put.
_LOG_LEVELS = {"info": logging.INFO, "debug": logging.DEBUG}


def _usage_line(e: click.UsageError) -> str:
    text = one_line(e.format_message())
    if isinstance(e, click.NoSuchOption) and e.option_name in ("-v", "--verbose") and e.ctx:
        where = e.ctx.command_path.removeprefix("matomo ")
        text += f" (-v goes before the command: 'matomo -v {where} ...')"
    elif e.ctx is not None:
        text += f" (see '{e.ctx.command_path} --help')"
    return text


def _start_verbose(ctx: click.Context, param: click.Parameter, count: int) -> None:
    """-v: retries (INFO); -vv: every request (DEBUG); else `MATOMO_LOG` says."""
    if count:
        SESSION.start_verbose(logging.DEBUG if count > 1 else logging.INFO)
        return
    name = os.environ.get("MATOMO_LOG", "").strip()
    if name.lower() in _LOG_LEVELS:
        SESSION.start_verbose(_LOG_LEVELS[name.lower()])
    elif name:  # a typo in a debugging switch must not stop the night's export
        click.echo(f"Warning: MATOMO_LOG={name!r} is ignored: use info or debug", err=True)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # not a real file (CliRunner): nothing will flush into a closed pipe


def _cancelled(exc: BaseException) -> bool:
    """Whether `exc` is asyncio's CancelledError: what Ctrl-C (and SIGTERM, see export.py) ends
    `anyio.run` with on Python 3.10, where a cancelled task cannot be told from an interrupt."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)


def _reopen_closed_streams() -> None:
    """Point a closed stdin/stdout/stderr (`>&-`) at /dev/null, as if it were redirected there.

    Python leaves `sys.stdout` None for a closed descriptor 1, which rich and `--raw` cannot
    write to; and the next file opened (the DuckDB target, say) would take descriptor 1 or 2,
    where a worker process's stray output would land in it.
    """
    for fd, name, flags in (
        (0, "stdin", os.O_RDONLY),
        (1, "stdout", os.O_WRONLY),
        (2, "stderr", os.O_WRONLY),
    ):
        if getattr(sys, name) is not None:
            continue
        try:
            os.fstat(fd)
            continue  # open, only not given to Python: leave it
        except OSError:
            pass
        devnull = os.open(os.devnull, flags)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
        stream = open(fd, "r" if fd == 0 else "w", closefd=False)  # noqa: SIM115 - sys.std*
        setattr(sys, name, stream)


class MatomoGroup(click.Group):
    """A click group whose failures are one scrubbed line on stderr and an exit code."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; exit (or return the code when `standalone_mode` is False)."""
        _reopen_closed_streams()
        SESSION.reset()
        try:
            # Always "matomo" (CliRunner would say "cli"), so messages read the same everywhere.
            rv = super().main(args, "matomo", complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
            sys.stdout.flush()  # a full disk fails here, with its line, not as a silent cut at exit
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.ctx.get_help() if e.ctx else self.get_help(click.Context(self)))
            code = 0
        except click.UsageError as e:
            click.echo("Error: " + SESSION.scrub(_usage_line(e)), err=True)
            code = EXIT_USER
            # An unknown option stops the parsing before `--json` is read: look for it.
            argv = list(args) if args is not None else sys.argv[1:]
            command = next((a for a in argv if not a.startswith("-")), "")  # after -v, -vv
            SESSION.json |= command == "export" and "--json" in argv
            json_failure(_usage_line(e), code)
        except BrokenPipeError:
            # `matomo sites --json | head -1`: the reader left; say nothing more.
            _silence_stdout()
            code = 1
        except click.exceptions.Abort:
            code = show_failure(KeyboardInterrupt())
        except click.ClickException as e:
            code = show_failure(e)
        except Exception as e:
            code = show_failure(e)
        except BaseException as e:
            if not _cancelled(e):
                raise
            code = show_failure(KeyboardInterrupt())
        finally:
            SESSION.stop_logging()
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(cls=MatomoGroup)
@click.version_option(__version__, prog_name="matomo")
@click.option(
    "-v",
    "--verbose",
    count=True,
    expose_value=False,
    is_eager=True,
    callback=_start_verbose,
    help="Log to stderr with timestamps: -v each retry and the export's progress, -vv each "
    "request too (or MATOMO_LOG=info|debug). The token is never shown.",
)
def cli() -> None:
    """Get data out of Matomo: completely, resumably, and without leaking the token.

    Connect with --url (or MATOMO_URL) and the token in MATOMO_TOKEN or a --token-file;
    or try any command with --sandbox, which runs it against built-in synthetic data.

    \b
    Example:
      matomo check --sandbox
      matomo export visits --sandbox --site all --from last7 --to yesterday --out demo.duckdb

    \b
    Exit codes (errors are one line on stderr; results and summaries go to stdout):
      0    done; an export's summary names mismatching days and the windows left open
      1    Matomo or the network failed, or a check failed
      2    bad input: options, dates, sites, the token's source, the target, the output
      130  interrupted (Ctrl-C); 143 terminated (SIGTERM); 129 hung up (SIGHUP)
    An export stopped with 1, 129, 130 or 143 (or 2 for its target) resumes when the same
    command is run again.

    \b
    Debugging: 'matomo -vv export ...' logs each request (method, site, dates, paging, status,
    size, time, attempt) and each retry on stderr; stdout and --json stay as they are.
    """


cli.add_command(check)
cli.add_command(sites)
cli.add_command(call)
cli.add_command(export)
cli.add_command(sandbox)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The `matomo` console script."""
    # A command's imports (click, pydantic, aiohttp, DuckDB...) allocate a few hundred thousand
    # long-lived objects and no garbage; at the default thresholds the collector walks them again
    # and again meanwhile. The export's thresholds (`export/_gc.py`) spare that for the command.
    gc.set_threshold(*RELAXED_THRESHOLDS)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="matomo")
    finally:
        # The command has closed what it opened; what is left is the interpreter's exit, whose
        # last garbage collection walks every object the imports made (0.1 s of a command's
        # time once pydantic, aiohttp and DuckDB are loaded). Frozen objects are left out of it.
        gc.freeze()
    raise SystemExit(0)  # pragma: no cover - cli.main always exits
