"""Row helpers every report builder shares: visit-metric rows, goals, grouping, subtables.

A builder turns merged `Facts` into rows; hierarchical reports keep a row's children under
the private key `_sub` and give it an `idsubdatatable` (`numbered`), and `flat=1` joins
parent and child labels (`flatten`); `flat_keyed` adds the Flattener's dimension key to the
flat rows of a one-level report. Keys and value kinds follow the recorded 5.11.2 rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from . import catalog as c
from .aggregates import Acc, Facts, merge_acc
from .formats import money

__all__ = [
    "Builder",
    "Row",
    "flat_keyed",
    "flatten",
    "goals_block",
    "group",
    "numbered",
    "segment_value",
    "uniq_keys",
    "visit_row",
]

Row = dict[str, Any]
Builder = Callable[[Facts, c.SiteInfo, bool, bool], list[Row]]


def segment_value(value: str) -> str:
    """A URL as Matomo writes it into a row's `segment` (percent-encoded twice)."""
    return quote(quote(value, safe=""), safe="")


def uniq_keys(row: Row, acc: Acc, is_day: bool, keys: tuple[str, ...]) -> None:
    """Copy unique counts: as is for a day, as `sum_daily_*` for longer periods."""
    for key in keys:
        if key in acc:
            row[key if is_day else f"sum_daily_{key}"] = acc[key]


def goals_block(acc: Acc) -> dict[str, Any]:
    """A row's `goals` object: ecommerce goals first, revenues as PHP-like numbers."""
    return {
        name: {k: _number(k, v) if isinstance(v, float) else v for k, v in metrics.items()}
        for name, metrics in sorted(acc.get("goals", {}).items(), key=_goal_order)
    }


# page goal metrics Matomo rounds to more decimals than cents when it archives a day
_DIGITS = {"nb_conversions_attrib": 4, "nb_conversions_entry_rate": 3, "revenue_per_entry": 3}


def _number(key: str, value: float) -> int | float:
    digits = _DIGITS.get(key)
    if digits is None:
        return money(value)
    value = round(value, digits)
    return int(value) if value == int(value) else value


def _goal_order(item: tuple[str, Any]) -> tuple[int, str]:
    name = item[0]
    return (0 if "ecommerce" in name else 1, name)


def visit_row(label: str, acc: Acc, is_day: bool, meta: dict[str, Any]) -> Row:
    """A row of a visit-based report (referrers, countries, browsers)."""
    row: Row = {"label": label}
    if is_day and "nb_uniq_visitors" in acc:
        row["nb_uniq_visitors"] = acc["nb_uniq_visitors"]
    row["nb_visits"] = acc.get("nb_visits", 0)
    row["nb_actions"] = acc.get("nb_actions", 0)
    if is_day and "nb_users" in acc:
        row["nb_users"] = acc["nb_users"]
    row["max_actions"] = acc.get("max_actions", 0)
    row["sum_visit_length"] = acc.get("sum_visit_length", 0)
    row["bounce_count"] = acc.get("bounce_count", 0)
    row["nb_visits_converted"] = acc.get("nb_visits_converted", 0)
    if acc.get("goals"):
        row["goals"] = goals_block(acc)
        row["nb_conversions"] = acc.get("nb_conversions", 0)
        row["revenue"] = money(acc.get("revenue", 0))
    if not is_day:
        uniq_keys(row, acc, False, ("nb_uniq_visitors", "nb_users"))
    row.update(meta)
    return row


def group(items: dict[Any, Acc], key: Callable[[Any], Any]) -> dict[Any, Acc]:
    """Merge accumulators whose keys map to the same `key(k)`."""
    out: dict[Any, Acc] = {}
    for k, acc in items.items():
        merge_acc(out.setdefault(key(k), {}), acc)
    return out


def numbered(rows: list[Row]) -> list[Row]:
    """Give rows with children an idsubdatatable, deterministic by label."""
    for i, row in enumerate(sorted((r for r in rows if r.get("_sub")), key=lambda r: r["label"])):
        row["idsubdatatable"] = i + 1
    return rows


def flatten(rows: list[Row], sep: str) -> list[Row]:
    """`flat=1`: children replace their parent, labelled `parent{sep}child`."""
    out = []
    for row in rows:
        children = row.get("_sub")
        if not children:
            out.append({k: v for k, v in row.items() if k != "idsubdatatable"})
            continue
        for child in children:
            flat = dict(child)
            flat["label"] = f"{row['label']}{sep}{child['label']}"
            out.append(flat)
    return out


def flat_keyed(
    build: Builder,
    key: str,
    before: str | None = None,
    value: Callable[[str], str] = str.strip,
) -> Builder:
    """`build` whose `flat=1` rows carry the Flattener's dimension key (`<Plugin>_<Dimension>`)."""

    def keyed(f: Facts, site: c.SiteInfo, is_day: bool, flat: bool) -> list[Row]:
        rows = build(f, site, is_day, flat)
        if not flat:
            return rows
        return [_with_key(row, key, value(row["label"]), before) for row in rows]

    return keyed


def _with_key(row: Row, key: str, value: str, before: str | None) -> Row:
    """The row with `key` just before its `before` metadata (one a queued filter or the
    segmentValue adds after flattening), else last."""
    if before is None or before not in row:
        return {**row, key: value}
    out: Row = {}
    for k, v in row.items():
        if k == before:
            out[key] = value
        out[k] = v
    return out
