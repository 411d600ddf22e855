"""`matomo check`, `matomo sites` and `matomo call`: look at a Matomo before exporting from it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from matomo_client.errors import scrub_bytes

from .connection import Connection, connection_options
from .display import console
from .failures import SESSION, UserError, describe, one_line, write_out

if TYPE_CHECKING:
    from matomo_client import Params, Site
    from matomo_client.check import CheckLine

# The client, the models and rich are imported inside the commands, so that `matomo --help`
# (and every other command) does not pay for them.

__all__ = ["call", "check", "sites"]


# --- check ----------------------------------------------------------------------------------


def _why(e: BaseException | None) -> str:
    if e is None:
        return "unexpected answer"
    failure = describe(e)
    return one_line(failure.format_message() if failure else f"{type(e).__name__}: {e}")


async def _run_checks(conn: Connection) -> list[CheckLine]:
    from matomo_client.check import CheckLine, check_server

    async with conn.client() as m:
        found = await check_server(m)
    # A failed line carries the error: show it the way every other CLI error is shown.
    return [
        line if line.error is None else CheckLine(line.ok, line.what, _detail(line), line.error)
        for line in found
    ]


def _detail(line: CheckLine) -> str:
    why = _why(line.error)
    return f"{line.detail}: {why}" if line.what in ("visits log", "reports") else why


@click.command("check")
@connection_options
def check(conn: Connection) -> None:
    """Check the server, the token, the sites, the visits log and the reports.

    Prints one line per check and exits 0 when all pass, 1 otherwise.

    \b
    Example:
      MATOMO_URL=https://stats.example.com/ MATOMO_TOKEN=... matomo check
    """
    import anyio

    lines = anyio.run(_run_checks, conn)
    click.echo(f"Matomo check: {conn.server}")
    width = max(len(line.what) for line in lines)
    for line in lines:
        mark = "ok  " if line.ok else "FAIL"
        click.echo(SESSION.scrub(f"  {mark}  {line.what:<{width}}  {line.detail}"))
    failed = sum(not line.ok for line in lines)
    if failed:
        click.echo(f"{failed} check(s) failed.")
        raise click.exceptions.Exit(1)
    click.echo("All checks passed.")


# --- sites ----------------------------------------------------------------------------------


def _site_json(s: Site) -> dict[str, Any]:
    return {
        "id_site": s.id_site,
        "name": s.name,
        "main_url": s.main_url,
        "timezone": s.timezone,
        "currency": s.currency,
        "ecommerce": s.ecommerce,
        "created": s.created.isoformat() if s.created else None,
    }


async def _list_sites(conn: Connection) -> list[Site]:
    async with conn.client() as m:
        return await m.sites.list()


@click.command("sites", short_help="List the sites the token can view.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@connection_options
def sites(conn: Connection, as_json: bool) -> None:
    """List the sites the token can view: id, name, URL, timezone, currency, ecommerce, created.

    \b
    Example:
      matomo sites --sandbox
      matomo sites --json | jq '.[].id_site'
    """
    import anyio
    import orjson
    from rich.measure import Measurement
    from rich.table import Table

    found = anyio.run(_list_sites, conn)
    if as_json:
        body = orjson.dumps([_site_json(s) for s in found], option=orjson.OPT_INDENT_2)
        write_out(SESSION.scrub(body.decode()).encode() + b"\n")
        return
    table = Table()
    for name in ("id", "name", "URL", "timezone", "currency", "ecommerce", "created"):
        # fold, not rich's "…": a narrow terminal wraps a long name or URL instead of cutting it
        table.add_column(name, justify="right" if name == "id" else "left", overflow="fold")
    for s in found:
        table.add_row(
            str(s.id_site),
            s.name or "",
            s.main_url or "",
            s.timezone or "",
            s.currency or "",
            "yes" if s.ecommerce else "no",
            s.created.strftime("%Y-%m-%d") if s.created else "",
        )
    out = console(sys.stdout)
    if not out.is_terminal:  # a pipe or a file gets each site on one line, however long
        unbounded = out.options.update_width(sys.maxsize)
        out.width = max(out.width, Measurement.get(out, unbounded, table).maximum)
    out.print(table)


# --- call -----------------------------------------------------------------------------------


# Parameters the client sets itself (the library refuses them in Params), in the CLI's words.
_SET_BY_THE_COMMAND = {
    "format": "use --raw --format FORMAT (e.g. --raw --format xml)",
    "method": "the method is the first argument (matomo call Module.method KEY=VALUE...)",
    "module": "the command always calls module=API",
    "force_api_session": "the command sends the token in the POST body itself",
}


def _next_index(items: dict[str, str], name: str) -> int:
    """The index PHP gives the next `name[]=`: one past the largest `name[N]` so far."""
    taken = [k[len(name) + 1 : -1] for k in items if k.startswith(f"{name}[") and k[-1] == "]"]
    return max((int(n) + 1 for n in taken if n.isdigit()), default=0)


def _params(pairs: tuple[str, ...]) -> Params:
    from matomo_client import Params

    items: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        key = key.strip()
        if not eq or not key:
            raise UserError(f"{pair!r} is not KEY=VALUE (e.g. idSite=1 period=day date=today)")
        if key == "token_auth":
            raise UserError(
                "token_auth is refused as an argument: it would land in the shell history and "
                "`ps`; the token is sent from MATOMO_TOKEN or --token-file"
            )
        if key in _SET_BY_THE_COMMAND:
            raise UserError(f"{key}= cannot be passed: {_SET_BY_THE_COMMAND[key]}")
        if key.endswith("[]"):  # PHP's list push (urls[]=a urls[]=b): the next free index
            key = f"{key[:-2]}[{_next_index(items, key[:-2])}]"
        if key in items:
            raise UserError(f"parameter {key!r} is given twice")
        items[key] = value
    try:
        return Params(items)
    except ValueError as e:
        raise UserError(str(e)) from None


async def _call(conn: Connection, method: str, params: Params, raw: bool, fmt: str) -> Any:
    async with conn.client() as m:
        if raw:
            return await m.call_raw(method, params, fmt=fmt)
        return await m.call(method, params)


@click.command("call")
@click.argument("method")
@click.argument("params", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--raw", is_flag=True, help="Write the response body to stdout byte for byte.")
@click.option(
    "--format",
    "fmt",
    default="json",
    show_default=True,
    type=click.Choice(["JSON", "XML", "CSV", "TSV", "HTML"], case_sensitive=False),
    help="The format Matomo renders (only with --raw).",
)
@connection_options
def call(conn: Connection, method: str, params: tuple[str, ...], raw: bool, fmt: str) -> None:
    """Call any Matomo API method and print the answer (the escape hatch).

    Parameters are Matomo's own names. The answer is printed as indented JSON, or with
    --raw exactly as Matomo sent it (errors still fail with exit 1).

    \b
    Example:
      matomo call VisitsSummary.get idSite=1 period=day date=yesterday
      matomo call Actions.getPageUrls idSite=1 period=month date=today flat=1 --raw > pages.json
    """
    import anyio
    import orjson

    from matomo_client._core.url import check_method

    try:
        check_method(method)
    except ValueError as e:
        raise UserError(str(e)) from None
    if fmt.upper() != "JSON" and not raw:
        raise UserError("--format only applies with --raw")
    answer = anyio.run(_call, conn, method, _params(params), raw, fmt.upper())
    if raw:
        write_out(scrub_bytes(answer, SESSION.secrets))
        return
    text = orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode()
    write_out(SESSION.scrub(text).encode() + b"\n")
