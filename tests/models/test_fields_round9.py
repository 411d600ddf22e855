"""The `Visit` model keeps every data key of the recorded Live visits, declared or not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from matomo_client.models import Visit
from matomo_client.models._base import is_presentation_field, snake_case

RECORDED = Path(__file__).parent.parent / "recorded"


def _recorded_visits() -> list[dict[str, Any]]:
    out = []
    for p in sorted(RECORDED.glob("*Live.getLastVisitsDetails*.response.json")):
        value = orjson.loads(p.read_bytes())
        if isinstance(value, list):
            out += [v for v in value if isinstance(v, dict) and "idVisit" in v]
    assert len(out) > 50
    return out


def _lost(raw: dict[str, Any], record: dict[str, Any]) -> list[str]:
    return [k for k in raw if not is_presentation_field(k) and snake_case(k) not in record]


def test_every_recorded_data_key_is_in_the_record() -> None:
    """Each key of a visit, an action and an ecommerce item that is not presentation is in
    `to_record()` (declared, or kept from `model_extra`), plus a key Matomo may add."""
    lost = []
    for raw in _recorded_visits():
        raw = {**raw, "customVariables": {"1": {"customVariableName1": "a"}}}
        record = Visit.model_validate(raw).to_record()
        lost += _lost(raw, record)
        for action, kept in zip(raw["actionDetails"], record["action_details"], strict=True):
            lost += _lost(action, kept)
            for item, kept_item in zip(
                action.get("itemDetails") or [], kept.get("item_details") or [], strict=True
            ):
                lost += _lost(item, kept_item)
        assert record["custom_variables"] == {"1": {"customVariableName1": "a"}}
    assert lost == []
