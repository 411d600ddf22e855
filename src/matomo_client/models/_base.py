"""The base of every Matomo model: aliases, kept extras, dropped presentation, flat records.

A `MatomoModel` is validated from Matomo's JSON as it arrives:

* attributes are snake_case and aliased to Matomo's own key (``id_visit`` <- ``idVisit``);
  constructing by attribute name works too (``populate_by_name``);
* keys the model does not declare are kept, under Matomo's original key, in
  ``model_extra`` (a new Matomo version's data must not vanish in a migration);
* presentation-only keys (``*Pretty``, ``*Icon``, flags, logos, currency symbols, localised
  display duplicates) are dropped before validation, so they reach neither the model nor
  `MatomoModel.to_record`;
* ``[]`` where an object is expected (an empty PHP array) is read as ``{}``.

`MatomoModel.to_record` flattens a model into ``{snake_case_column: value}`` for the exporter.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["MatomoModel", "is_presentation_field", "snake_case"]

# Keys that only serve Matomo's own UI. Each was checked against the 5.11.2 recordings: the
# data it shows is also in a kept field (``referrerTypeName`` "Campaigns" <- ``referrerType``
# "campaign"; ``pageLoadTime`` "1.65s" <- ``pageLoadTimeMilliseconds``; ``siteCurrencySymbol``
# "$" <- ``siteCurrency`` "USD"; ``pluginsIcons`` <- ``plugins``).
_PRESENTATION_NAMES = frozenset(
    {
        "icon",
        "iconSVG",
        "countryFlag",
        "currencySymbol",
        "siteCurrencySymbol",
        "pluginsIcons",
        "referrerTypeName",
        "browserFamilyDescription",
        "pageLoadTime",
    }
)
_PRESENTATION_SUFFIXES = ("Icon", "IconSVG", "Pretty")
_PRESENTATION_PREFIXES = ("logo", "pretty")

# Keys already classified, and the presentation ones among them: checking a dict against
# them is a C-level set operation, which keeps 100k-visit exports fast.
_classified: set[Any] = set()
_presentation: set[Any] = set()
_CLASSIFIED_MAX = 8192  # flat=1 adds pageUrl__N keys; do not let them grow the sets forever


def is_presentation_field(name: str) -> bool:
    """Whether a Matomo key is presentation only (``serverTimePretty``, ``browserIcon``)."""
    return (
        name in _PRESENTATION_NAMES
        or name.endswith(_PRESENTATION_SUFFIXES)
        or name.startswith(_PRESENTATION_PREFIXES)
        or "Pretty" in name  # serverDatePrettyFirstAction
    )


def _drop_presentation(data: dict[Any, Any]) -> dict[Any, Any]:
    if not _classified.issuperset(data):
        if len(_classified) >= _CLASSIFIED_MAX:
            return {k: v for k, v in data.items() if not _is_presentation_key(k)}
        for key in data:
            if key not in _classified:
                if _is_presentation_key(key):
                    _presentation.add(key)
                _classified.add(key)
    if _presentation.isdisjoint(data):
        return data
    kept = dict(data)
    for key in _presentation.intersection(data):
        del kept[key]
    return kept


def _is_presentation_key(key: Any) -> bool:
    return type(key) is str and is_presentation_field(key)


@lru_cache(maxsize=8192)
def snake_case(name: str) -> str:
    """Matomo's key as our column name: ``idVisit`` -> ``id_visit``, ``nb_visits`` unchanged.

    Acronyms stay one word (``referrerAIAssistantUrl`` -> ``referrer_ai_assistant_url``,
    ``iconSVG`` -> ``icon_svg``); existing underscores are kept (``Actions_PageUrl`` ->
    ``actions_page_url``, ``pageUrl__2`` -> ``page_url__2``).
    """
    out: list[str] = []
    last = len(name) - 1
    for i, char in enumerate(name):
        if char.isupper() and char.lower() != char:  # "𝔄" is upper but has no lower case
            if i > 0:
                before = name[i - 1]
                after = name[i + 1] if i < last else ""
                if before.islower() or before.isdigit() or (before.isupper() and after.islower()):
                    out.append("_")
            out.append(char.lower())
        else:
            out.append(char)
    return "".join(out)


def _plain(value: Any) -> Any:
    if isinstance(value, MatomoModel):
        return value.to_record()
    if type(value) is list and value and isinstance(value[0], MatomoModel):
        return [item.to_record() if isinstance(item, MatomoModel) else item for item in value]
    return value


class MatomoModel(BaseModel):
    """Base of all Matomo models: snake_case attributes aliased to Matomo's keys, extras kept."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        use_attribute_docstrings=True,
        protected_namespaces=(),
        defer_build=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _matomo_shape(cls, data: Any) -> Any:
        """Drop presentation keys; read ``[]`` (an empty PHP array) as ``{}``."""
        if type(data) is dict:
            return _drop_presentation(data)
        if type(data) is list and not data:
            return {}
        return data

    def to_record(self, exclude: Collection[str] = ()) -> dict[str, Any]:
        """Every kept field, declared and extra, keyed by snake_case name; nested models too.

        Declared fields come first in declaration order, then extras in Matomo's order.
        ``exclude`` names columns to leave out (``visit.to_record(exclude={"action_details"})``).
        """
        record: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if name not in exclude:
                record[name] = _plain(value)
        extra = self.__pydantic_extra__
        if extra:
            for key, value in extra.items():
                column = snake_case(key)
                if column not in record and column not in exclude:
                    record[column] = _plain(value)
        return record
