"""Where the command's Matomo is and how it authenticates: `--url`, the token, `--sandbox`.

The token only ever comes from `MATOMO_TOKEN` or `--token-file`: a token typed on the command
line lands in the shell history and in `ps` for every user of the machine, so `--token` is
refused. `--sandbox` swaps the URL for an in-process `matomo_client.sandbox` served through
`httpx.ASGITransport`: nothing listens on a port, and the same client code runs.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import click

from .failures import SESSION, UserError
from .options import FiniteFloatRange, debug_option

if TYPE_CHECKING:
    from matomo_client import AsyncMatomo

__all__ = [
    "SANDBOX_DEFAULT_TOKEN",
    "SANDBOX_URL",
    "Connection",
    "connection_options",
    "display_url",
    "sandbox_overrides",
]

F = TypeVar("F", bound=Callable[..., Any])

SANDBOX_URL = "http://sandbox.invalid/"
SANDBOX_DEFAULT_TOKEN = "sandbox-token"
# SandboxConfig fields used by `--sandbox` (tests switch the visits log off here).
sandbox_overrides: dict[str, Any] = {}

TOKEN_REFUSED = (
    "--token is refused: a token typed on the command line is saved in your shell history "
    "and visible to every user of this machine in `ps`. Put it in the MATOMO_TOKEN environment "
    "variable, or in a file only you can read and pass --token-file PATH"
)


def display_url(url: str) -> str:
    """`url` without any user:password part, safe to show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    # The host and port as typed (reading `parts.port` raises for a bad port), minus user:password.
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _refuse_token(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        raise UserError(TOKEN_REFUSED)


def _looks_like_a_token(path: str) -> bool:
    """Whether a --token-file value that names no file may be the token itself: a bare name,
    no folder and no extension (`sandbox-token`, a 32-digit hex token), is never echoed."""
    bare = not any(c in path for c in "/\\.~")
    return bare and not Path(path).exists()


# A Matomo token is 32 characters; a token file is read this far (`--token-file /dev/zero` or a
# log file given by mistake was read whole, then sent: a MemoryError, or minutes of upload).
MAX_TOKEN_FILE = 4096


def _read_token_file(path: str) -> str:
    where = "the token on stdin" if path == "-" else f"the token file {path!r}"
    try:
        if path == "-":  # the token piped in: `pass matomo | matomo sites --token-file -`
            data = sys.stdin.buffer.read(MAX_TOKEN_FILE + 1)
        else:
            with open(path, "rb") as file:
                data = file.read(MAX_TOKEN_FILE + 1)
        if len(data) > MAX_TOKEN_FILE:
            raise UserError(
                f"{where} holds over {MAX_TOKEN_FILE:,} bytes, far more than a token "
                "(32 characters): is it the right file?"
            )
        # utf-8-sig: a byte order mark (Windows editors) is not part of the token
        text = data.decode("utf-8-sig")
    except OSError as e:
        if _looks_like_a_token(path):  # never echo what may be the token
            raise UserError(
                "--token-file takes the path of a file holding the token, not the token "
                "itself: put the token in a file only you can read, or in MATOMO_TOKEN"
            ) from None
        raise UserError(f"cannot read the token file {path!r}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UserError(f"{where} is not UTF-8 text") from None
    token = text.strip()
    if not token:
        raise UserError(f"{where} is empty")
    return token


@dataclass(frozen=True, repr=False)
class Connection:
    """The resolved connection options of one command (the token is never shown)."""

    url: str | None
    token: str | None
    sandbox: bool = False
    insecure: bool = False
    timeout: float = 30.0

    def __repr__(self) -> str:
        return f"Connection(url={self.url!r}, sandbox={self.sandbox}, token=***)"

    @property
    def server(self) -> str:
        """What to call the server in messages."""
        return "the in-process sandbox" if self.sandbox else display_url(self.url or "")

    @asynccontextmanager
    async def client(
        self, *, max_concurrency: int = 8, skip_preflight: bool = False
    ) -> AsyncIterator[AsyncMatomo]:
        """An `AsyncMatomo` for this connection, closed on exit."""
        # Imported here: no HTTP library or model is needed for --help or bad options.
        from matomo_client import AsyncMatomo, Auth

        if self.sandbox:
            import httpx

            from matomo_client.sandbox import Sandbox, SandboxConfig

            token = self.token or SANDBOX_DEFAULT_TOKEN
            config = SandboxConfig(**{"token": token, **sandbox_overrides})
            app = Sandbox(config).app
            async with (
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=SANDBOX_URL
                ) as http,
                AsyncMatomo(
                    SANDBOX_URL,
                    auth=Auth.token(token),
                    http_client=http,
                    max_concurrency=max_concurrency,
                    skip_preflight=skip_preflight,
                ) as m,
            ):
                yield m
            return
        assert self.url is not None
        assert self.token is not None
        # aiohttp, not the library's default httpx: it spends a fifth of httpx's CPU a request.
        from matomo_client.transports.aiohttp_transport import AiohttpTransport

        try:
            with warnings.catch_warnings():
                # The CLI already printed its own one-line warning for --insecure.
                warnings.simplefilter("ignore")
                transport = AiohttpTransport(
                    self.url, timeout=self.timeout, verify=not self.insecure
                )
                m = AsyncMatomo(
                    self.url,
                    auth=Auth.token(self.token),
                    transport=transport,
                    max_concurrency=max_concurrency,
                    skip_preflight=skip_preflight,
                )
        except ValueError as e:
            raise UserError(str(e)) from None
        try:
            async with m:
                yield m
        finally:
            await transport.aclose()


def _check_url(url: str, source: str) -> None:
    """Refuse a URL the client would refuse, naming where it came from (`--url`/`MATOMO_URL`)."""
    from matomo_client._core.url import normalise_base_url

    try:
        parts = urlsplit(url)
    except ValueError as e:  # e.g. "Invalid IPv6 URL"; the URL itself may hold a password
        raise UserError(f"{source} is not a valid URL: {e}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise UserError(f"{source} must start with http:// or https://, not {display_url(url)!r}")
    if "@" in parts.netloc:
        host = parts.hostname or "HOST"
        raise UserError(
            f"{source} must not hold a user or password: the token goes in MATOMO_TOKEN "
            "or a --token-file, and an HTTP Basic login for the web server in ~/.netrc "
            f"(a line 'machine {host} login USER password PASSWORD')"
        )
    try:
        normalise_base_url(url)
    except ValueError as e:  # the library's rules: a host, a valid port, no query...
        shown = display_url(url)
        if parts.query or parts.fragment:
            # A dashboard URL pasted whole (index.php?module=CoreHome...#?...): its query is not
            # shown (it may hold a token_auth=), so say it is there, and what to use instead.
            marks = ("?..." if parts.query else "") + ("#..." if parts.fragment else "")
            try:  # the suggestion only when the rest of the URL is fine (not a bad port...)
                hint = f"; use the base URL alone, {normalise_base_url(shown)}"
            except ValueError:
                hint = ""
            raise UserError(f"{source} {shown + marks!r}: {e}{hint}") from None
        raise UserError(f"{source} {shown!r}: {e}") from None


def _check_token(token: str | None, token_file: str | None) -> None:
    """Refuse a token no Matomo issues (whitespace or control characters inside), naming where
    it came from: the client refused it as an internal error with --sandbox, and elsewhere
    without saying which file or variable held it."""
    if not token or all(c.isprintable() and not c.isspace() for c in token):
        return
    where = (
        "the token on stdin"
        if token_file == "-"
        else f"the token file {token_file!r}"
        if token_file
        else "MATOMO_TOKEN"
    )
    if "\n" in token or "\r" in token:
        raise UserError(f"{where} holds more than one line: keep only the token in it")
    raise UserError(f"{where} holds whitespace or control characters, which a token never has")


def _resolve(
    url: str | None,
    token_file: str | None,
    sandbox: bool,
    insecure: bool,
    timeout: float,
    url_source: str = "--url",
) -> Connection:
    if token_file is not None and not token_file.strip():  # was ignored: MATOMO_TOKEN or none
        raise UserError("--token-file is empty: give the path of a file holding the token")
    token = _read_token_file(token_file) if token_file else os.environ.get("MATOMO_TOKEN")
    token = token.strip() if token else None
    SESSION.add_secret(token)
    _check_token(token, token_file)
    if sandbox:
        conn = Connection(None, token, sandbox=True, timeout=timeout)
        SESSION.server = conn.server
        return conn
    if not url or not url.strip():  # MATOMO_URL=" " said: must start with http://, not ''
        raise UserError(
            "no Matomo URL: pass --url https://stats.example.com/ or set MATOMO_URL "
            "(or try --sandbox)"
        )
    _check_url(url, url_source)
    if not token:
        raise UserError("no token: set MATOMO_TOKEN or pass --token-file PATH (or try --sandbox)")
    if insecure:
        click.echo(
            "Warning: --insecure: TLS certificates are not verified; anyone on the network "
            "path can read the token",
            err=True,
        )
    conn = Connection(url, token, insecure=insecure, timeout=timeout)
    SESSION.server = conn.server
    return conn


def connection_options(f: F) -> F:
    """Add --url, --token-file, --sandbox, --insecure, --timeout, --debug; pass `conn`."""

    @functools.wraps(f)
    def wrapper(
        *args: Any,
        url: str | None,
        token_file: str | None,
        sandbox: bool,
        insecure: bool,
        timeout: float,
        **kwargs: Any,
    ) -> Any:
        source = click.get_current_context().get_parameter_source("url")
        from_env = source is click.core.ParameterSource.ENVIRONMENT
        url_source = "MATOMO_URL" if from_env else "--url"
        if sandbox and url and source is click.core.ParameterSource.COMMANDLINE:
            # (A MATOMO_URL in the environment gives way to --sandbox quietly.)
            raise UserError("--sandbox and --url name two servers: pass one of them")
        conn = _resolve(url, token_file, sandbox, insecure, timeout, url_source)
        return f(*args, conn=conn, **kwargs)

    options = [
        click.option(
            "--url",
            envvar="MATOMO_URL",
            metavar="URL",
            help="Matomo's base URL, e.g. https://stats.example.com/ [env: MATOMO_URL].",
        ),
        click.option(
            "--token-file",
            type=click.Path(dir_okay=False, allow_dash=True),  # '-': stdin, not a file '-'
            metavar="PATH",
            help="Read the API token from this file, or from stdin for - (default: the "
            "MATOMO_TOKEN env variable).",
        ),
        click.option(
            "--token",
            hidden=True,
            is_flag=False,
            flag_value="",
            expose_value=False,
            is_eager=True,
            callback=_refuse_token,
            help="Refused: use MATOMO_TOKEN or --token-file.",
        ),
        click.option(
            "--sandbox",
            is_flag=True,
            help="Run against an in-process sandbox with synthetic data instead of a URL.",
        ),
        click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (warns)."),
        click.option(
            "--timeout",
            type=FiniteFloatRange(min=0, min_open=True),
            default=30.0,
            show_default=True,
            metavar="SECONDS",
            help="Seconds to wait for the server: to connect, or for the next bytes of an answer.",
        ),
        debug_option,
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
