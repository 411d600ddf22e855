"""`matomo sandbox`: serve the Matomo-compatible sandbox (delegates to `matomo_client.sandbox`)."""

from __future__ import annotations

import click

from .failures import SESSION, UserError
from .options import FiniteFloatRange, WholeRange, debug_option

__all__ = ["MAX_DAYS", "MAX_EXTRA_SITES", "sandbox"]

# About 27 years: the first day stays well after 1991-08-06, before which Matomo has no dates.
MAX_DAYS = 10_000
# as `matomo_client.sandbox.extra_sites.MAX_EXTRA_SITES` (not imported: --help stays light)
MAX_EXTRA_SITES = 10_000


def _token_problem(value: str) -> str | None:
    """Why `value` cannot be a sandbox token (never quoting it), or None."""
    if not value.strip():
        return "the token must not be empty"
    if value != value.strip():
        return "the token must not start or end with whitespace"
    if value == "anonymous":
        return "'anonymous' is Matomo's token for no login"
    if any(c.isspace() or not c.isprintable() for c in value):  # the client refuses such a token
        return "the token must not hold whitespace or control characters"
    return None


def _check_host(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # An empty host listened on every interface and printed the URL http://:PORT/.
    if not value.strip():
        raise click.BadParameter(
            "must not be empty: 127.0.0.1 for this machine only, 0.0.0.0 for every interface",
            ctx,
            param,
        )
    return value.strip()


def _check_token(ctx: click.Context, param: click.Parameter, value: str) -> str:
    problem = _token_problem(value)
    if problem:
        raise click.BadParameter(problem, ctx, param)
    return value


@click.command("sandbox")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    callback=_check_host,
    help="Interface to listen on.",
)
@click.option("--port", type=WholeRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--token",
    default="sandbox-token",
    show_default=True,
    callback=_check_token,
    help="The super user token the sandbox accepts (any other gets Matomo's 401).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same data.")
@click.option(
    "--days",
    type=WholeRange(1, MAX_DAYS),
    default=90,
    show_default=True,
    help="Days of visits, up to and including today.",
)
@click.option(
    "--visits-per-day",
    type=WholeRange(0, 1_000_000),
    default=50,
    show_default=True,
    help="Visits a day on site 1 (site 2 gets 70%). A day is drawn and summed when first asked "
    "for, at about 30 us and 1.5 KB a visit, and the last day drawn stays in memory: 100,000 "
    "costs about 4 s and 200 MB, 1,000,000 about 40 s and 1.7 GB. From 20,000, data requests "
    "are answered one at a time; API.getMatomoVersion and SitesManager calls answer meanwhile.",
)
@click.option(
    "--extra-sites",
    type=WholeRange(0, MAX_EXTRA_SITES),
    default=0,
    show_default=True,
    metavar="N",
    help="Add sites 4 to N+3 (sites 1-3 stay the same): timezones, creation days inside "
    "--days, ecommerce and goals drawn from --seed, and a few visits a day each (up to 30% "
    "of --visits-per-day), to try a many-site export.",
)
@click.option(
    "--latency-ms",
    type=FiniteFloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Added to every answer.",
)
@click.option(
    "--fault-rate",
    type=FiniteFloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests answered with a retryable 500/502/503.",
)
@click.option(
    "--max-failed-logins",
    type=WholeRange(min=0),
    default=None,
    metavar="N",
    help="Matomo's brute-force block (its default is 20): after more than N requests with an "
    "unknown token within an hour, every request with a token gets HTTP 500 'Too many failed "
    "logins'.",
)
@click.option(
    "--live-traffic",
    is_flag=True,
    help="New visits arrive and visits grow while you export (a virtual clock per request).",
)
@click.option(
    "--live-disabled-site",
    "live_disabled",
    type=WholeRange(min=1),
    multiple=True,
    metavar="ID",
    help="Answer Live requests for this site with 'Visits log is deactivated' (repeatable).",
)
@click.option(
    "--viewer",
    "viewer_specs",
    multiple=True,
    metavar="TOKEN:ID[,ID...]",
    help="Another token, with view access to these sites only: Matomo's 401 for other sites "
    "and for super-user methods (repeatable).",
)
@debug_option
def sandbox(
    host: str,
    port: int,
    token: str,
    seed: int,
    days: int,
    visits_per_day: int,
    extra_sites: int,
    latency_ms: float,
    fault_rate: float,
    max_failed_logins: int | None,
    live_traffic: bool,
    live_disabled: tuple[int, ...],
    viewer_specs: tuple[str, ...],
) -> None:
    """Serve a Matomo-compatible API with synthetic data, for tests and demos.

    Sites 1 "Shop" (UTC, ecommerce), 2 "Blog" (Europe/Berlin) and 3 "Empty", and with
    --extra-sites N sites 4 to N+3. The token is a
    throwaway: it only opens this sandbox. Stop with Ctrl+C.

    \b
    Example:
      matomo sandbox --port 8765 &
      MATOMO_URL=http://127.0.0.1:8765/ MATOMO_TOKEN=sandbox-token matomo check
    """
    from matomo_client.sandbox import Faults, parse_viewers, serve

    try:
        viewers = parse_viewers(viewer_specs)
    except ValueError as e:
        raise UserError(f"--viewer: {e}") from None
    if token in viewers:
        raise UserError("--viewer: a viewer's token must differ from --token")
    for n, viewer in enumerate(viewers, start=1):
        # checked before the tokens become secrets: 'anonymous' would be masked in the message
        problem = _token_problem(viewer)
        if problem:
            raise UserError(f"--viewer: viewer #{n}: {problem}")
    # --debug logs every request (see `sandbox.app`); a token in a traceback is scrubbed too.
    for secret in (token, *viewers):
        SESSION.add_secret(secret)
    try:
        serve(
            host,
            port,
            token=token,
            seed=seed,
            days=days,
            visits_per_day=visits_per_day,
            extra_sites=extra_sites,
            latency_ms=latency_ms,
            faults=Faults(error_5xx_rate=fault_rate, max_failed_logins=max_failed_logins),
            live_traffic=live_traffic,
            live_disabled_sites=frozenset(live_disabled),
            viewers=viewers,
        )
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    except KeyboardInterrupt:
        pass
