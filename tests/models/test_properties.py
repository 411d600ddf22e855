"""Whatever loose JSON Matomo (or a proxy) sends, the models return a model or a ValidationError.

The client turns ``pydantic.ValidationError`` into its ``DecodeError``; any other exception
escaping a model would bypass that and crash an export, so these properties feed the models
real shapes with the quirks mixed in: numbers as strings, ``[]``/``{}`` flips, missing and
extra fields, nulls, huge numbers, percentages, Unicode.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from matomo_client.models import (
    ActionRow,
    Fraction,
    LooseInt,
    MatomoModel,
    ReferrerRow,
    ReportMetadata,
    ReportRow,
    Site,
    Visit,
    VisitsSummary,
    snake_case,
)

RECORDED = Path(__file__).parent.parent / "recorded"


def _load(prefix: str) -> Any:
    (path,) = RECORDED.glob(f"{prefix}_*.response.json")
    return json.loads(path.read_text(encoding="utf-8"))


REAL_VISIT = _load("055")[0]
REAL_SUMMARY = _load("015")
REAL_ACTION_ROW = _load("068")[0]
REAL_REFERRER_ROW = _load("095")[0]
REAL_SITE = _load("011")
REAL_METADATA = _load("146")[5]

numeric_text = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**40), max_value=10**40).map(lambda n: f"{n:,}"),
    st.decimals(allow_nan=False, places=3).map(lambda d: f"{d}%"),
)
quirky_scalar = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**400),
    st.floats(),
    numeric_text,
    st.text(max_size=20),
    st.sampled_from(["2026-11-29 04:39:00", "1795927140", "2 min 17s", "46%", "0:02:17", "∞"]),
)
quirky_json = st.recursive(
    st.one_of(quirky_scalar, st.just([]), st.just({})),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
    ),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, real: dict[str, Any]) -> dict[str, Any]:
    """A real object with some fields dropped, some replaced by quirky values, some added."""
    out: dict[str, Any] = {}
    for key, value in real.items():
        choice = draw(st.sampled_from(["keep", "keep", "drop", "stringify", "replace"]))
        if choice == "keep":
            out[key] = value
        elif choice == "stringify":
            out[key] = str(value) if not isinstance(value, (list, dict)) else value
        elif choice == "replace":
            out[key] = draw(quirky_json)
    extra = draw(st.dictionaries(st.text(min_size=1, max_size=12), quirky_json, max_size=3))
    out.update(extra)
    return out


def assert_model_or_validation_error(model: type[MatomoModel], data: Any) -> None:
    """Validation either gives a model whose record can be built, or a ValidationError."""
    try:
        value = model.model_validate(data)
    except ValidationError:
        return
    record = value.to_record()
    assert all(isinstance(key, str) for key in record)


PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(mutated(REAL_VISIT))
def test_visit_is_model_or_validation_error(data: dict[str, Any]) -> None:
    """A mutated real visit (actions included) never raises anything but ValidationError."""
    assert_model_or_validation_error(Visit, data)


@PROPERTY
@given(st.data())
def test_visit_actions_are_model_or_validation_error(data: st.DataObject) -> None:
    """Mutated actions inside an otherwise valid visit: model or ValidationError."""
    actions = [data.draw(mutated(action)) for action in REAL_VISIT["actionDetails"][:4]]
    shape = data.draw(st.sampled_from(["list", "dict", "empty_dict"]))
    details: Any = actions
    if shape == "dict":
        details = {str(i): action for i, action in enumerate(actions)}
    elif shape == "empty_dict":
        details = {}
    assert_model_or_validation_error(Visit, {**REAL_VISIT, "actionDetails": details})


@PROPERTY
@given(st.one_of(mutated(REAL_SUMMARY), quirky_json))
def test_summary_is_model_or_validation_error(data: Any) -> None:
    """A mutated summary, or any JSON at all, gives a summary or a ValidationError."""
    assert_model_or_validation_error(VisitsSummary, data)


@PROPERTY
@given(st.dictionaries(st.text(max_size=25), st.one_of(mutated(REAL_SUMMARY), quirky_json)))
def test_series_is_dict_or_validation_error(data: dict[str, Any]) -> None:
    """Any Map gives ``{date: summary}`` in date order, or a ValidationError."""
    try:
        series = VisitsSummary.series(data)
    except ValidationError:
        return
    assert list(series) == sorted(series)


@PROPERTY
@given(
    st.sampled_from([(ActionRow, REAL_ACTION_ROW), (ReferrerRow, REAL_REFERRER_ROW)]).flatmap(
        lambda pair: st.tuples(st.just(pair[0]), mutated(pair[1]))
    )
)
def test_rows_are_model_or_validation_error(case: tuple[type[ReportRow], dict[str, Any]]) -> None:
    """Mutated report rows (goals, subtables, rates) give a row or a ValidationError."""
    model, row = case
    assert_model_or_validation_error(model, row)
    with contextlib.suppress(ValidationError):
        model.rows([row, {"label": "x", "subtable": [row]}])


@PROPERTY
@given(st.one_of(mutated(REAL_SITE), mutated(REAL_METADATA)))
def test_site_and_metadata_are_model_or_validation_error(data: dict[str, Any]) -> None:
    """Mutated sites and report metadata give a model or a ValidationError."""
    assert_model_or_validation_error(Site, data)
    assert_model_or_validation_error(ReportMetadata, data)


@given(st.integers())
def test_loose_int_reads_its_own_text(number: int) -> None:
    """Any integer, sent as text or with thousands separators, reads back as itself."""
    adapter = TypeAdapter(LooseInt)
    assert adapter.validate_python(str(number)) == number
    assert adapter.validate_python(f"{number:,}") == number


@given(st.decimals(min_value=-(10**6), max_value=10**6, places=2))
def test_percent_text_reads_as_fraction(percent: Any) -> None:
    """``"P%"`` is P/100, to the digits Matomo sent."""
    assert TypeAdapter(Fraction).validate_python(f"{percent}%") == float(percent / 100)


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]) | st.just("_")))
def test_snake_case_is_lower_and_stable(name: str) -> None:
    """A column name has no upper-case letters and converting it again changes nothing."""
    column = snake_case(name)
    assert column == column.lower() or not column.isascii()
    assert snake_case(column) == column
