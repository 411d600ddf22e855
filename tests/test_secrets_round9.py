"""Round 9 secrets review: tracebacks with locals, the CLI session, PostgreSQL URL passwords."""

from __future__ import annotations

import asyncio
import traceback

import pytest

from matomo_client import AsyncMatomo, Auth, RetryPolicy
from matomo_client._core.http import Response
from matomo_client.cli.failures import Session
from matomo_client.errors import ApiError
from matomo_client.export.errors import TargetError
from matomo_client.export.sinks.postgres import PostgresSink, redact_url
from matomo_client.transports import MockTransport

TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def _unauthorised(request: object) -> Response:
    body = b'{"result":"error","message":"Unable to authenticate with the provided token."}'
    return Response(401, {"content-type": "application/json"}, body)


def _refused_call() -> ApiError:
    async def go() -> None:
        async with AsyncMatomo(
            "https://stats.example.com/",
            auth=Auth.token(TOKEN),
            transport=MockTransport(_unauthorised),
            retry=RetryPolicy(attempts=1),
            skip_preflight=True,
        ) as m:
            await m.call("API.getMatomoVersion")

    with pytest.raises(ApiError) as info:
        asyncio.run(go())
    return info.value


def test_a_traceback_with_locals_does_not_show_the_token() -> None:
    """Tracebacks that print each frame's locals (rich, loguru, pytest -l, stdlib) show the
    `secrets` that every answer-reading function is passed as '***'."""
    error = _refused_call()
    text = "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    assert "secrets = ('***',)" in text  # the frames that read the answer are in it
    assert TOKEN not in text


def test_the_token_still_works_as_text() -> None:
    """The masked token is still the token wherever it is used as text."""
    auth = Auth.token(TOKEN)
    (secret,) = auth.secrets
    assert secret == TOKEN
    assert f"{secret}" == TOKEN
    assert auth.form() == [("token_auth", TOKEN)]
    assert Auth.bearer(TOKEN).headers() == {"Authorization": f"Bearer {TOKEN}"}
    assert repr(secret) == "'***'"
    assert Auth.token(TOKEN) == auth


def test_the_cli_session_repr_hides_its_secrets() -> None:
    """`repr(Session)` (a dataclass) no longer lists the secrets it scrubs."""
    session = Session()
    session.add_secret(TOKEN)
    assert TOKEN not in repr(session)
    assert session.scrub(f"x {TOKEN} y") == "x *** y"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://:s3cretpw@db.example/x", "postgresql://:***@db.example/x"),
        ("postgresql://u:s3cret@pw@db.example/x", "postgresql://u:***@db.example/x"),
        ("postgresql://u:s3cretpw@h1,h2:5433/x", "postgresql://u:***@h1,h2:5433/x"),
        ("postgresql://db.example/x?pass%77ord=s3cretpw&a=1", "postgresql://db.example/x?pass%77ord=***&a=1"),
        ("postgresql://u@db.example/x?application_name=my@app", "postgresql://u@db.example/x?application_name=my@app"),
    ],
)  # fmt: skip
def test_redact_url_masks_every_password(url: str, shown: str) -> None:
    """An empty user, an `@` in the password, a percent-encoded `password` key are masked."""
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:50%off-s3cret@127.0.0.1:1/db",  # libpq: invalid percent-encoded token
        "postgresql://u:s3cretpw@[::1/db",  # libpq quotes the whole URL
        "postgresql://u:s3cret@pw@127.0.0.1:1/db?connect_timeout=2",  # "host 'pw@127...'"
    ],
)
def test_a_postgres_url_that_libpq_refuses_does_not_show_the_password(url: str) -> None:
    """psycopg's message quotes the password; the TargetError does not, nor does its chain."""
    pytest.importorskip("psycopg")
    with pytest.raises(TargetError) as info:
        PostgresSink(url).open()
    error = info.value
    text = "".join(traceback.format_exception(error))
    assert "s3cret" not in text
    assert "50%off" not in text
    assert "pw@" not in text
    assert text.count("cannot open postgresql://u:***@") == 1
    assert error.__cause__ is None
    assert error.__suppress_context__
    if "@pw@" in url:
        assert "write an @ in the password as %40" in str(error)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _network_failure(kind: str, auth: Auth) -> BaseException:
    """The error of a call to a port nothing listens on, through one of the three clients."""
    from matomo_client import Matomo
    from matomo_client.transports.aiohttp_transport import AiohttpTransport

    url = f"http://127.0.0.1:{_closed_port()}/"
    options: dict[str, object] = {"auth": auth, "retry": RetryPolicy(attempts=1)}
    options["skip_preflight"] = True
    try:
        if kind == "sync":
            with Matomo(url, **options) as m:  # type: ignore[arg-type]
                m.call("API.getMatomoVersion")

        async def go() -> None:
            transport = AiohttpTransport(url) if kind == "aiohttp" else None
            try:
                async with AsyncMatomo(url, transport=transport, **options) as m:  # type: ignore[arg-type]
                    await m.call("API.getMatomoVersion")
            finally:
                if transport is not None:  # the caller's to close
                    await transport.aclose()

        asyncio.run(go())
    except Exception as e:
        return e
    raise AssertionError("the call did not fail")


@pytest.mark.parametrize("kind", ["httpx", "sync", "aiohttp"])
@pytest.mark.parametrize("auth", [Auth.token(TOKEN), Auth.bearer(TOKEN)], ids=["form", "bearer"])
def test_a_network_error_with_locals_does_not_show_the_token(kind: str, auth: Auth) -> None:
    """The HTTP library's own error, chained under ours, keeps no frames whose locals hold the
    request body or header; its message is still there."""
    error = _network_failure(kind, auth)
    text = "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    assert "TransportError" in text
    assert "Connect" in text
    assert error.__cause__ is not None  # the library's error is kept, for --debug
    assert TOKEN not in text


def test_a_password_in_the_out_url_is_warned_about_and_never_shown(tmp_path: object) -> None:
    """`--out postgresql://user:password@...` puts the password in `ps` and the shell history:
    the command says so, and the password appears nowhere in its output."""
    from click.testing import CliRunner

    from matomo_client.cli.app import cli

    url = "postgresql://exporter:Secr3tPw9@127.0.0.1:1/matomo"
    r = CliRunner().invoke(
        cli,
        ["export", "visits", "--sandbox", "--site", "1", "--from", "yesterday",
         "--to", "yesterday", "--out", url, "--debug"],
    )  # fmt: skip
    assert r.exit_code != 0
    assert "Warning: the --out URL holds a password" in r.stderr
    assert "PGPASSWORD" in r.stderr
    assert "Secr3tPw9" not in r.stdout + r.stderr
