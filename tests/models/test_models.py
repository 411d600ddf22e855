"""Specific values from real Matomo 5.11.2 responses, decoded through the models."""

from __future__ import annotations

import inspect
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from matomo_client.models import (
    Action,
    ActionRow,
    MatomoModel,
    ReferrerRow,
    ReportMetadata,
    ReportRow,
    Site,
    Visit,
    VisitsSummary,
    is_presentation_field,
    period_start,
    snake_case,
)

RECORDED = Path(__file__).parent.parent / "recorded"


def load(prefix: str) -> Any:
    """The body of the recorded response whose file name starts with ``prefix``."""
    (path,) = RECORDED.glob(f"{prefix}_*.response.json")
    return json.loads(path.read_text(encoding="utf-8"))


def visits(prefix: str) -> list[Visit]:
    """The recorded Live response as visits."""
    return TypeAdapter(list[Visit]).validate_python(load(prefix))


# --- visits -----------------------------------------------------------------------------


def test_visit_fields_have_python_types() -> None:
    """A real visit gives int ids, int timestamps, an aware UTC datetime and a date."""
    visit = visits("049")[0]
    assert visit.id_visit == 2220
    assert visit.id_site == 1
    assert visit.visitor_id == "056b9469e1c6c900"
    assert visit.visitor_type == "new"
    assert visit.server_timestamp == 1795927140
    assert visit.last_action_date_time == datetime(2026, 11, 29, 4, 39, tzinfo=timezone.utc)
    assert visit.last_action_date_time.timestamp() == visit.last_action_timestamp
    assert visit.server_date == date(2026, 11, 29)
    assert visit.visit_server_hour == 4  # sent as the string "4"
    assert visit.visit_converted is False
    assert visit.site_currency == "USD"


def test_visit_actions_decode_in_order() -> None:
    """``action_details`` become `Action` models with the URL and position Matomo sent."""
    visit = visits("049")[0]
    first = visit.action_details[0]
    assert isinstance(first, Action)
    assert first.url == (
        "https://shop.example.com/product/merino-socks-3-pack?mtm_source=google&mtm_medium=social"
    )
    assert first.page_id_action == 221
    assert first.idpageview == "hZ5toL"
    assert first.pageview_position == 1
    assert first.product_view_categories == ["Accessories"]


def test_ecommerce_goal_event_and_search_actions_decode() -> None:
    """Orders keep their items, events their category/value, goals their id, searches a count."""
    actions = [a for v in visits("055") + visits("050") + visits("049") for a in v.action_details]
    by_type: dict[str, list[Action]] = {}
    for action in actions:
        by_type.setdefault(str(action.type), []).append(action)
    carts = by_type["ecommerceAbandonedCart"] + by_type.get("ecommerceOrder", [])
    assert any(c.item_details and c.item_details[0].item_sku for c in carts)
    assert all(e.event_category for e in by_type["event"])
    assert all(isinstance(g.goal_id, int) for g in by_type["goal"])
    assert all(s.site_search_count is not None for s in by_type["search"])


def test_do_not_fetch_actions_gives_empty_action_list() -> None:
    """With ``doNotFetchActions=1`` every visit has an empty, not missing, action list."""
    decoded = visits("052")
    assert len(decoded) == 23
    assert all(v.action_details == [] for v in decoded)


def test_presentation_fields_are_dropped_everywhere() -> None:
    """Pretty strings, icons, flags, symbols are in neither model_dump() nor to_record()."""
    raw = load("049")[0]
    assert {"serverTimePretty", "browserIcon", "countryFlag", "siteCurrencySymbol"} <= set(raw)
    visit = Visit.model_validate(raw)
    dumped = json.dumps(visit.model_dump(mode="json", by_alias=True))
    record = json.dumps(visit.to_record(), default=str)
    for text in (dumped, record):
        assert "Pretty" not in text
        assert "pretty" not in text
        assert "plugins/Morpheus" not in text  # every icon path
        assert '"$"' not in text
    assert "icon" not in visit.to_record()["action_details"][0]


def test_report_logos_are_dropped_and_codes_kept() -> None:
    """Country rows lose ``logo``/``logoHeight`` but keep the country ``code``."""
    row = ReportRow.rows(load("124"))[0]
    record = row.to_record()
    assert record["code"] == "us"
    assert not {"logo", "logo_height"} & set(record)


def test_unknown_fields_are_kept_under_matomo_key_and_recorded_in_snake_case() -> None:
    """A field the model does not know survives, on visits and on nested actions."""
    raw = load("049")[0]
    raw = {**raw, "someNewMetric": 7, "customDimensionX": "ä"}
    raw["actionDetails"] = [{**raw["actionDetails"][0], "contentPiece": "banner"}]
    visit = Visit.model_validate(raw)
    assert visit.model_extra is not None
    assert visit.model_extra["someNewMetric"] == 7
    assert visit.model_extra["dimension1"] == "new"  # Matomo's custom dimension, undeclared
    record = visit.to_record()
    assert record["some_new_metric"] == 7
    assert record["custom_dimension_x"] == "ä"
    assert record["action_details"][0]["content_piece"] == "banner"


def test_to_record_flattens_and_excludes() -> None:
    """to_record() keys every column in snake_case and leaves out what is excluded."""
    visit = visits("049")[0]
    record = visit.to_record(exclude={"action_details"})
    assert "action_details" not in record
    assert record["id_visit"] == 2220
    assert record["referrer_ai_assistant_url"] is None
    assert list(record)[:2] == ["id_site", "id_visit"]


def test_model_dump_by_alias_round_trips() -> None:
    """Dumping with Matomo's names and validating again gives the same visit."""
    for visit in visits("055"):
        again = Visit.model_validate(visit.model_dump(by_alias=True))
        assert again == visit


def test_models_can_be_built_by_attribute_name() -> None:
    """populate_by_name: tests and the sandbox can construct models with snake_case names."""
    visit = Visit(id_site=1, id_visit=5, visit_ip="10.0.0.0")
    assert visit.visit_ip == "10.0.0.0"
    assert Site(id_site=3, created="2026-08-01 00:00:00").created == datetime(
        2026, 8, 1, tzinfo=timezone.utc
    )


def test_visit_without_ids_is_rejected() -> None:
    """``idSite`` and ``idVisit`` are the export keys: a visit without them is an error."""
    with pytest.raises(ValidationError):
        Visit.model_validate({"visitIp": "1.2.3.4"})


# --- visits summary ---------------------------------------------------------------------


def test_summary_bounce_rate_is_a_fraction() -> None:
    """``"46%"`` becomes 0.46 and the year summary has zero unique visitors (not computed)."""
    summary = VisitsSummary.model_validate(load("020"))
    assert summary.bounce_rate == 0.46
    assert summary.nb_visits == 1335
    assert summary.nb_actions_per_visit == 3.1
    assert summary.avg_time_on_site == 267
    assert summary.nb_uniq_visitors == 0


def test_summary_format_metrics_variants_agree() -> None:
    """format_metrics=0 (0.65), bc ("65%") and 1 ("2 min 17s") decode to the same summary."""
    plain, default, pretty = (VisitsSummary.model_validate(load(n)) for n in ("032", "015", "033"))
    assert plain == default == pretty
    assert pretty.avg_time_on_site == 137


def test_empty_period_is_a_zeroed_summary() -> None:
    """Matomo's ``[]`` for an empty period gives all metrics 0."""
    summary = VisitsSummary.model_validate([])
    assert summary.nb_visits == 0
    assert summary.bounce_rate == 0.0
    assert summary.to_record()["nb_uniq_visitors"] == 0
    assert VisitsSummary.model_validate({}) == summary


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (load("035"), "single value"),  # columns=nb_visits: {"value": 23}
        (load("036"), "keyed by site id"),  # idSite=all: {"1": {...}, "2": {...}, "3": []}
        (load("026"), "keyed by site id or period"),  # date=last7: {"2026-11-23": {...}, ...}
        ({"nbVisits": 3, "visits": 4}, "none of its keys"),
    ],
)
def test_what_is_not_a_summary_is_refused(body: Any, why: str) -> None:
    """An object with none of the metrics, only other keys, is an error, not a zeroed summary."""
    with pytest.raises(ValidationError, match=why):
        VisitsSummary.model_validate(body)


def test_summary_with_some_metrics_keeps_the_others_zero() -> None:
    """showColumns=nb_visits,nb_actions (two of the metrics) is still a summary."""
    summary = VisitsSummary.model_validate(load("034"))
    assert (summary.nb_visits, summary.nb_actions, summary.bounce_count) == (23, 47, 0)


def test_series_keys_are_first_days_with_empty_periods_zeroed() -> None:
    """Month keys ``YYYY-MM`` map to the 1st; the empty August (``[]``) is included, zeroed."""
    series = VisitsSummary.series(load("030"))
    assert list(series) == [
        date(2026, 8, 1),
        date(2026, 9, 1),
        date(2026, 10, 1),
        date(2026, 11, 1),
    ]
    assert series[date(2026, 8, 1)].nb_visits == 0
    assert series[date(2026, 10, 1)].nb_visits == 604


@pytest.mark.parametrize(
    ("prefix", "first", "count"),
    [
        ("026", date(2026, 11, 23), 7),  # day
        ("029", date(2026, 11, 2), 4),  # week: "2026-11-02,2026-11-08"
        ("031", date(2025, 1, 1), 2),  # year
        ("213", date(2021, 12, 1), 1825),  # lastN capped at 1825 days, all empty
    ],
)
def test_series_reads_every_period_kind(prefix: str, first: date, count: int) -> None:
    """Day, week, year Maps (and Matomo's 1825-day cap) read into date-keyed summaries."""
    series = VisitsSummary.series(load(prefix))
    assert len(series) == count
    assert next(iter(series)) == first


def test_series_of_sites_map_per_site() -> None:
    """``idSite=1,2,3&date=last3`` is a Map of site Maps; each site reads as a series."""
    body = load("037")
    per_site = {int(site): VisitsSummary.series(periods) for site, periods in body.items()}
    assert per_site[1][date(2026, 11, 28)].nb_visits == 23


def test_series_rejects_what_is_not_a_period_map() -> None:
    """A single summary or a list of rows is not a Map of periods: ValidationError."""
    with pytest.raises(ValidationError):
        VisitsSummary.series(load("015"))
    with pytest.raises(ValidationError):
        VisitsSummary.series([{"nb_visits": 1}])
    assert VisitsSummary.series([]) == {}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("2024-01-31", date(2024, 1, 31)),
        ("2024-01-01,2024-01-07", date(2024, 1, 1)),
        ("2024-02", date(2024, 2, 1)),
        ("2024", date(2024, 1, 1)),
    ],
)
def test_period_start(key: str, expected: date) -> None:
    """Every Map key shape Matomo uses gives the first day of its period."""
    assert period_start(key) == expected


@pytest.mark.parametrize("key", ["", "24-01", "2024-1-5", "today", "2024-13", "2024-02-30"])
def test_period_start_rejects_other_keys(key: str) -> None:
    """Keys that are no period raise ValueError instead of guessing."""
    with pytest.raises(ValueError, match=r"."):
        period_start(key)


# --- report rows --------------------------------------------------------------------------


def test_action_rows_coerce_strings_and_rates() -> None:
    """Page rows: ``"0.0050"`` -> 0.005, ``"5"`` -> 5, ``"50%"`` -> 0.5, ``idsubdatatable``."""
    flat = ActionRow.rows(load("067"))[0]
    assert flat.label == "/"
    assert flat.url == "https://shop.example.com/"
    assert flat.min_time_network == 0.006
    assert flat.bounce_rate == 0.5
    assert flat.model_extra is not None
    assert flat.model_extra["Actions_PageUrl"] == "/"
    day_rows = ActionRow.rows(load("075")["2026-11-27"])
    assert day_rows[0].nb_hits_with_time_network == 5  # sent as "5" in day archives
    assert day_rows[0].entry_nb_visits == 8
    folder = ActionRow.rows(load("068"))[0]
    assert folder.id_subtable == 2
    assert folder.goals is not None
    assert folder.goals["idgoal=1"]["nb_conversions"] == 51


def test_expanded_subtables_are_rows_of_the_same_model() -> None:
    """``expanded=1`` inlines subtables; they decode as `ActionRow` too."""
    rows = ActionRow.rows(load("071"))
    nested = [sub for row in rows for sub in (row.subtable or [])]
    assert nested
    assert all(type(sub) is ActionRow for sub in nested)
    assert rows[0].to_record()["subtable"][0]["label"] == nested[0].label


def test_unicode_titles_are_intact() -> None:
    """Non-ASCII page titles come through exactly (no stripping, no escaping)."""
    (row,) = ActionRow.rows(load("090"))
    raw = load("090")[0]["label"]
    assert row.label == raw
    assert any(ord(char) > 127 for char in raw)


def test_referrer_type_read_from_both_spellings() -> None:
    """``referrer_type`` (getReferrerType) and Matomo's typo ``referer_type`` (getAll) agree."""
    by_type = ReferrerRow.rows(load("092"))
    all_rows = ReferrerRow.rows(load("095"))
    assert by_type[0].referrer_type == 1
    assert all_rows[0].referrer_type == 2
    assert "referer_type" not in all_rows[0].to_record()


def test_single_row_reports_and_numeric_labels() -> None:
    """Hour labels such as ``"00"`` stay strings; an empty report is an empty list."""
    hours = ReportRow.rows(load("136"))
    assert [row.label for row in hours[:3]] == ["00", "01", "02"]
    assert ReportRow.rows([]) == []
    assert ReportRow.rows({}) == []


def test_rows_reject_a_multi_period_map() -> None:
    """A Map of periods is not a report: ValidationError, not one odd row."""
    with pytest.raises(ValidationError):
        ActionRow.rows(load("075"))


# --- sites and metadata -------------------------------------------------------------------


def test_site_fields() -> None:
    """``idsite`` -> id_site, ``ts_created`` -> an aware datetime, ``ecommerce`` 1 -> True."""
    shop, blog, _empty = TypeAdapter(list[Site]).validate_python(load("009"))
    assert shop.id_site == 1
    assert shop.ecommerce is True
    assert blog.ecommerce is False
    assert shop.created == datetime(2026, 8, 1, tzinfo=timezone.utc)
    assert blog.timezone == "Europe/Berlin"
    assert shop.to_record()["created"] == shop.created
    assert shop.model_extra == {"timezone_name": "UTC", "currency_name": "US Dollar"}


def test_report_metadata_fields() -> None:
    """Report metadata gives the method name, metric ids and subtable loaders."""
    items = TypeAdapter(list[ReportMetadata]).validate_python(load("146"))
    by_method = {item.method: item for item in items}
    page_urls = by_method["Actions.getPageUrls"]
    assert page_urls.unique_id == "Actions_getPageUrls"
    assert "nb_hits" in page_urls.metrics
    assert page_urls.metric_types is not None
    assert by_method["Referrers.getSearchEngines"].action_to_load_subtables == (
        "getKeywordsFromSearchEngineId"
    )
    assert any(item.parameters for item in items)


def test_report_metadata_empty_metrics_as_list() -> None:
    """Matomo sends an empty metric map as ``[]``; it reads as ``{}``."""
    item = ReportMetadata.model_validate({"module": "X", "action": "get", "metrics": []})
    assert item.metrics == {}


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matomo", "column"),
    [
        ("idVisit", "id_visit"),
        ("nb_visits", "nb_visits"),
        ("lastActionDateTime", "last_action_date_time"),
        ("pageIdAction", "page_id_action"),
        ("idpageview", "idpageview"),
        ("referrerAIAssistantUrl", "referrer_ai_assistant_url"),
        ("iconSVG", "icon_svg"),
        ("itemSKU", "item_sku"),
        ("Actions_PageUrl", "actions_page_url"),
        ("pageUrl__2", "page_url__2"),
        ("dimension1", "dimension1"),
        ("revenueSubTotal", "revenue_sub_total"),
    ],
)
def test_snake_case(matomo: str, column: str) -> None:
    """Matomo's key names map to the column names the exporter writes."""
    assert snake_case(matomo) == column


RENAMED = {
    ("ReportRow", "id_subtable"),
    ("Site", "created"),
    ("Site", "id_site"),
    ("ReportMetadata", "action_to_load_subtables"),  # "SubTables": one word for us
}


def _models() -> list[type[MatomoModel]]:
    found: list[type[MatomoModel]] = []
    todo = [MatomoModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if not sub.__name__.startswith("_"):
                found.append(sub)
    return found


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_attribute_names_are_snake_case_of_matomo_keys(model: type[MatomoModel]) -> None:
    """Declared and extra fields get the same column for the same key (bar documented renames)."""
    assert model.model_fields
    for name, field in model.model_fields.items():
        owner = next(c.__name__ for c in model.__mro__ if name in inspect.get_annotations(c))
        key = field.validation_alias
        alias = key if isinstance(key, str) else field.alias or name
        if (owner, name) not in RENAMED:
            assert snake_case(alias) == name, (model.__name__, alias)
        assert field.description, f"{model.__name__}.{name} is undocumented"


@pytest.mark.parametrize(
    ("name", "dropped"),
    [
        ("serverDatePrettyFirstAction", True),
        ("visitorTypeIcon", True),
        ("iconSVG", True),
        ("logoHeight", True),
        ("countryFlag", True),
        ("pageLoadTime", True),
        ("pageLoadTimeMilliseconds", False),
        ("language", False),
        ("country", False),
        ("plugins", False),
        ("title", False),
        ("subtitle", False),
    ],
)
def test_presentation_rule(name: str, dropped: bool) -> None:
    """Only display-only keys are classed as presentation; data-bearing look-alikes are kept."""
    assert is_presentation_field(name) is dropped
