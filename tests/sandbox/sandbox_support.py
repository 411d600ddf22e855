"""Helpers for the sandbox tests: a raw httpx client on the app, recorded cases, shapes."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from matomo_client.sandbox import Sandbox, SandboxConfig

RECORDED = Path(__file__).parent.parent / "recorded"
TOKEN = "sandbox-token"
#: the recorded user `viewer`, with view access to site 2 only
VIEWER_TOKEN = "viewer-token-site2"
#: the recorded server's clock and data span (2026-09-30 .. 2026-11-29)
RECORDED_TODAY = date(2026, 11, 29)
RECORDED_DAYS = 61


def recorded_config(**overrides: Any) -> SandboxConfig:
    """A sandbox lined up with the recordings' dates."""
    options: dict[str, Any] = {"today": RECORDED_TODAY, "days": RECORDED_DAYS, "visits_per_day": 25}
    options.update(overrides)
    return SandboxConfig(**options)


@asynccontextmanager
async def client_for(sb: Sandbox, timeout: float | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client talking to the sandbox in-process."""
    transport = httpx.ASGITransport(app=sb.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox/", timeout=timeout
    ) as client:
        yield client


async def api(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    """POST an API call with the super user's token in the body, as the library does."""
    data = {"module": "API", "format": "JSON", "token_auth": TOKEN}
    data.update({k: str(v) for k, v in params.items()})
    return await client.post("index.php", data=data)


async def api_json(client: httpx.AsyncClient, **params: Any) -> Any:
    """Decoded JSON of a successful call."""
    response = await api(client, **params)
    assert response.status_code == 200, response.text[:300]
    return response.json()


_RECORDED: list[Sandbox] = []


def recorded_sandbox() -> Sandbox:
    """One sandbox of the recorded configuration, built on first use and shared (it is
    read-only: answers never change it)."""
    if not _RECORDED:
        _RECORDED.append(Sandbox(recorded_config()))
    return _RECORDED[0]


async def recorded_json(**params: Any) -> Any:
    """Decoded JSON of an API call to `recorded_sandbox()` that must not be an error."""
    async with client_for(recorded_sandbox()) as client:
        value = await api_json(client, **params)
    assert not (isinstance(value, dict) and value.get("result") == "error"), value
    return value


async def get_all(sb: Sandbox, **params: Any) -> Any:
    """One API call to `sb` over a fresh client, every row (`filter_limit=-1`), decoded."""
    async with client_for(sb) as client:
        return await api_json(client, filter_limit=-1, **params)


def load_case(number: int) -> tuple[dict[str, Any], bytes]:
    """The request description and raw body of recorded case `number`."""
    (req_path,) = RECORDED.glob(f"{number:03d}_*.request.json")
    request = json.loads(req_path.read_text("utf-8"))
    body = (RECORDED / request["response_file"]).read_bytes()
    return request, body


# -- shape signatures ---------------------------------------------------------------------

_DYNAMIC_KEY = re.compile(r"^(\d{4}(-\d\d(-\d\d)?)?(,\d{4}-\d\d-\d\d)?|\d+|idgoal=.*)$")


def kind(value: Any) -> str:
    """The JSON kind of a value; ints and floats are both 'number', as Matomo mixes them."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def _is_map(obj: dict[str, Any]) -> bool:
    return bool(obj) and all(_DYNAMIC_KEY.match(k) for k in obj)


def shape_mismatches(recorded: Any, actual: Any, path: str = "$") -> list[str]:
    """Differences in shape between a recorded body and the sandbox's (empty = same shape).

    Same kind at each path; `[]` vs `{}` distinguished; in rows, no key the recording never
    shows, every key present in all recorded rows present in some sandbox row, and the kinds
    of shared keys as recorded (a key recorded as null in some row may be null or not).
    Objects keyed by dates/site ids/goals are Maps: keys compared exactly for dates/sites.
    """
    rk, ak = kind(recorded), kind(actual)
    if rk != ak:
        if "null" in (rk, ak):
            return []
        return [f"{path}: recorded {rk}, sandbox {ak}"]
    if rk == "list":
        rows_r = [r for r in recorded if isinstance(r, dict)]
        rows_a = [r for r in actual if isinstance(r, dict)]
        if rows_r and rows_a:
            return _rows(rows_r, rows_a, path + "[]")
        if recorded and actual:
            return shape_mismatches(recorded[0], actual[0], path + "[0]")
        return []
    if rk == "object":
        if _is_map(recorded) or _is_map(actual):
            problems = []
            if any(not k.startswith("idgoal=") for k in recorded) and set(recorded) != set(actual):
                problems.append(f"{path}: map keys {sorted(recorded)} != {sorted(actual)}")
            pooled = [r for v in recorded.values() if isinstance(v, list) for r in v]
            for key in set(recorded) & set(actual):
                reference = recorded[key]
                if pooled and isinstance(reference, list) and reference and actual[key]:
                    reference = pooled  # rows of every period show which keys a row can have
                problems += shape_mismatches(reference, actual[key], f"{path}.{key}")
            return problems
        return _rows([recorded], [actual], path)
    return []


def _rows(rec: list[dict[str, Any]], act: list[dict[str, Any]], path: str) -> list[str]:
    problems: list[str] = []
    kinds: dict[str, set[str]] = {}
    for row in rec:
        for key, value in row.items():
            kinds.setdefault(key, set()).add(kind(value))
    always = set.intersection(*(set(r) for r in rec))
    seen: set[str] = set()
    for row in act:
        seen.update(row)
        for key, value in row.items():
            if key not in kinds:
                problems.append(f"{path}: sandbox key {key!r} never recorded")
                continue
            k = kind(value)
            if k not in kinds[key] and "null" not in kinds[key] and k != "null":
                problems.append(f"{path}.{key}: recorded {sorted(kinds[key])}, sandbox {k}")
    missing = always - seen
    if missing:
        problems.append(f"{path}: recorded keys missing in the sandbox: {sorted(missing)}")
    for key in kinds:
        lists_r = [x for r in rec if isinstance(r.get(key), list) for x in r[key]]
        lists_a = [x for r in act if isinstance(r.get(key), list) for x in r[key]]
        dicts_r = [x for x in lists_r if isinstance(x, dict)]
        dicts_a = [x for x in lists_a if isinstance(x, dict)]
        if dicts_r and dicts_a:
            problems += _rows(dicts_r, dicts_a, f"{path}.{key}[]")
        objs_r = [r[key] for r in rec if isinstance(r.get(key), dict) and r[key]]
        objs_a = [r[key] for r in act if isinstance(r.get(key), dict) and r[key]]
        if objs_r and objs_a and not _is_map(objs_r[0]):
            problems += _rows(objs_r, objs_a, f"{path}.{key}")
    return sorted(set(problems))
