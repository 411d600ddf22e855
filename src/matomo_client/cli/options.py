"""Option decorators shared by the commands, and the `--from`/`--to` date type.

Dates are only checked here (so a typo fails before any request); the export engine receives
the text as typed and resolves `today`/`yesterday`/`lastN` in each site's own timezone.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

import click

from matomo_client._core.periods import date_param
from matomo_client.export import DEFAULT_TARGET, resolve_day
from matomo_client.export.sinks.checks import target_problem

from .failures import SESSION

__all__ = [
    "DaySpec",
    "FiniteFloatRange",
    "WholeRange",
    "debug_option",
    "export_options",
    "parse_day",
    "quiet_option",
]

F = TypeVar("F", bound=Callable[..., Any])


def parse_day(text: str, today: date | None = None) -> date:
    """`YYYY-MM-DD`, `today`, `yesterday`, `lastN` (N-1 days before today: Matomo's lastN
    includes today) or `previousN` (N days before today) as a date; ValueError otherwise."""
    return resolve_day(text, today or datetime.now(timezone.utc).date())


# The earliest "today" of any site (UTC-12): where lastN/previousN reach furthest back.
_WESTMOST = timezone(timedelta(hours=-12))
# A day as the help writes it. Python 3.11 also reads 20240101 (3.10 does not), and the export
# records the text as typed: resuming with 2024-01-01 was then "made with other options".
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class DaySpec(click.ParamType):  # type: ignore[type-arg]
    """A day as typed on the command line; checked, then passed on as text."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """Check `value` and return it normalised (lower case, trimmed)."""
        text = str(value).strip().lower()
        try:
            if not text.isascii():  # Python's int() reads `last٣` (Arabic-Indic 3) as last3
                raise ValueError(
                    f"invalid date {text!r}: use YYYY-MM-DD, today, yesterday, lastN or previousN"
                )
            day = parse_day(text, datetime.now(_WESTMOST).date())
            if text[:1].isdigit() and not _ISO_DAY.fullmatch(text):
                raise ValueError(
                    f"invalid date {text!r}: use YYYY-MM-DD, today, yesterday, lastN or previousN"
                )
        except ValueError as e:  # resolve_day's own message (a lastN too large included)
            self.fail(str(e), param, ctx)
        try:
            date_param(day)  # the library's own rule: Matomo refuses days before 1991-08-06
        except ValueError as e:
            shown = "" if text == day.isoformat() else f"{text} reaches back to {day}: "
            self.fail(f"{shown}{e}", param, ctx)
        return text


class _NonEmpty(click.ParamType):  # type: ignore[type-arg]
    """Text that is not empty or blank (`--out ""` used to mean the default target)."""

    name = "TEXT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """`value`, unless it is empty or blank."""
        text = str(value)
        if not text.strip():
            self.fail("must not be empty", param, ctx)
        return text


class _Target(_NonEmpty):
    """An export's `--out`: not `-` (an export is no stream), and `~/` is the home folder."""

    name = "TARGET"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """The target as the export opens it."""
        text = super().convert(value, param, ctx)
        if text.strip() == "-":  # was a hive Parquet folder named '-'
            self.fail(
                "an export writes files or a database, not stdout: name a target such as "
                "visits.jsonl (for stdout, use matomo call ... --raw)",
                param,
                ctx,
            )
        if text.startswith("~"):  # quoted, the shell left it: a folder named '~' was made here
            text = os.path.expanduser(text)
        if "://" not in text:
            # Refused before any request (the export would refuse it too, `open_target`).
            problem = target_problem(text)
            if problem:
                self.fail(problem, param, ctx)
        return text


class WholeRange(click.IntRange):
    """A `click.IntRange` whose error for a value that is no integer says so: click said
    "'1.5' is not a valid integer range", as if a range had been asked for."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The integer, once it is one and in range."""
        if not isinstance(value, int):
            try:
                int(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a whole number.", param, ctx)
        number: int = super().convert(value, param, ctx)
        return number


class FiniteFloatRange(click.FloatRange):
    """A `click.FloatRange` that also refuses nan and inf (nan passes any range check)."""

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The number, once it is finite and in range."""
        if not isinstance(value, (int, float)):
            try:
                float(value)
            except (TypeError, ValueError):  # click: "'abc' is not a valid float range"
                self.fail(f"{value!r} is not a number.", param, ctx)
        number: float = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def _json_output(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    # Eager: set before the other options are read, so that their errors come as JSON too.
    if value:
        SESSION.json = True
    return value


def _start_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        SESSION.start_debug()


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_start_debug,
    help="Log every request (token scrubbed) and show tracebacks.",
)

quiet_option = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress. Without it: bars on a terminal, else a line on stderr every minute.",
)


def export_options(f: F) -> F:
    """Options common to `export visits` and `export reports`."""
    options = [
        click.option(
            "--site",
            "site",
            required=True,
            multiple=True,
            metavar="ID|all",
            help="A site id; several (1,2, or --site again); or 'all' (every site it can view).",
        ),
        click.option(
            "--from",
            "start",
            required=True,
            type=DaySpec(),
            help="First day: YYYY-MM-DD, today, yesterday, lastN (N days up to today), previousN.",
        ),
        click.option(
            "--to",
            "end",
            required=True,
            type=DaySpec(),
            help="Last day (inclusive), same forms as --from; today is exported but stays open.",
        ),
        click.option(
            "--segment", metavar="SEGMENT", help="A Matomo segment, e.g. countryCode==de."
        ),
        click.option(
            "--out",
            "target",
            type=_Target(),
            default=DEFAULT_TARGET,
            show_default=True,
            metavar="TARGET",
            help="*.duckdb, *.sqlite[3] or *.db, *.parquet, a directory (hive Parquet), "
            "*.jsonl[.gz|.zst], *.csv[.gz|.zst] or postgresql://...",
        ),
        click.option(
            "--concurrency",
            type=WholeRange(min=1),
            default=4,
            show_default=True,
            help="Requests in flight at once: the most the server sees. Visits: twice as many "
            "days are in progress, their rows in memory up to about 100,000, then in TMPDIR.",
        ),
        click.option(
            "--restart",
            is_flag=True,
            help="Delete what the target holds of this export, then start over: needed for "
            "another --segment (or --report list); other sites and dates need none.",
        ),
        quiet_option,
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            is_eager=True,
            callback=_json_output,
            help="Print the summary as one line of JSON instead of a table; a failure too "
            '({"ok": false, "exit_code": ..., "error": ...}).',
        ),
    ]
    decorated: Any = f
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]
