"""Rows of Matomo's DataTable reports: `ReportRow`, `ActionRow`, `ReferrerRow`.

Every report (``Actions.getPageUrls``, ``Referrers.getAll``, ``UserCountry.getCountry``...)
is a list of rows: a ``label``, metrics, maybe ``idsubdatatable`` (the row has a subtable,
fetched with ``idSubtable=`` or inlined under ``subtable`` with ``expanded=1``), a
``segment`` that selects the row's visits, and ``goals`` (per-goal metrics keyed
``idgoal=N``, ``idgoal=ecommerceOrder``...). `ReportRow` declares what most reports share
and keeps the rest as extras; `ActionRow` and `ReferrerRow` add their modules' metrics.
Metrics a report does not have are ``None`` (absent), not 0.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, TypeAdapter
from typing_extensions import Self

from matomo_client.models._base import MatomoModel
from matomo_client.models._coerce import (
    FractionOrNone,
    LooseDict,
    LooseFloatOrNone,
    LooseIntOrNone,
    LooseStrOrNone,
    SecondsOrNone,
    to_list,
)

__all__ = ["ActionRow", "ReferrerRow", "ReportRow"]


class ReportRow(MatomoModel):
    """One row of any Matomo report; module-specific metrics are kept as extras."""

    label: LooseStrOrNone = None
    """The row's dimension value (a URL part, a country, a browser, an hour ``"0"``...)."""
    nb_visits: LooseIntOrNone = None
    """Visits."""
    nb_uniq_visitors: LooseIntOrNone = None
    """Unique visitors (day periods, or where unique counts are enabled)."""
    nb_users: LooseIntOrNone = None
    """Visitors with a User ID."""
    nb_actions: LooseIntOrNone = None
    """Actions."""
    max_actions: LooseIntOrNone = None
    """Most actions in one visit."""
    sum_visit_length: LooseIntOrNone = None
    """Total visit time in seconds."""
    bounce_count: LooseIntOrNone = None
    """Visits with a single action."""
    nb_visits_converted: LooseIntOrNone = None
    """Visits that converted a goal."""
    nb_conversions: LooseIntOrNone = None
    """Goal conversions."""
    revenue: LooseFloatOrNone = None
    """Goal and ecommerce revenue."""
    sum_daily_nb_uniq_visitors: LooseIntOrNone = None
    """Sum of each day's unique visitors (for week/month/year/range periods)."""
    sum_daily_nb_users: LooseIntOrNone = None
    """Sum of each day's users (for week/month/year/range periods)."""
    goals: LooseDict | None = None
    """Per-goal metrics keyed ``idgoal=N`` (values as Matomo sent them)."""
    segment: LooseStrOrNone = None
    """The segment selecting this row's visits (URL-encoded as Matomo sends it)."""
    id_subtable: LooseIntOrNone = Field(
        default=None, validation_alias="idsubdatatable", serialization_alias="idsubdatatable"
    )
    """Id of this row's subtable, for ``idSubtable=``; ``None`` when it has none."""
    subtable: Annotated[list[Self] | None, BeforeValidator(to_list)] = None
    """The subtable's rows, inlined by ``expanded=1``."""

    @classmethod
    def rows(cls, data: Any) -> list[Self]:
        """Validate a report (a list of rows; ``{}`` or ``[]`` when empty) into rows.

        Raises ``pydantic.ValidationError`` for anything else, such as a multi-period Map.
        """
        adapter = _adapters.get(cls)
        if adapter is None:
            adapter = TypeAdapter(Annotated[list[cls], BeforeValidator(to_list)])  # type: ignore[arg-type,valid-type]
            _adapters[cls] = adapter
        rows: list[Self] = adapter.validate_python(data)
        return rows


_adapters: dict[type[ReportRow], TypeAdapter[Any]] = {}


class ActionRow(ReportRow):
    """A row of ``Actions.getPageUrls``, ``getPageTitles``, ``getDownloads``, ``getOutlinks``...

    With ``flat=1`` the label is the full path and ``url`` is set; hierarchical reports give
    folders with an ``id_subtable`` instead.
    """

    url: LooseStrOrNone = None
    """The full URL (leaf rows of URL reports)."""
    nb_hits: LooseIntOrNone = None
    """Pageviews, downloads or clicks."""
    sum_time_spent: LooseIntOrNone = None
    """Total time on the page in seconds."""
    avg_time_on_page: SecondsOrNone = None
    """Average time on the page in seconds."""
    bounce_rate: FractionOrNone = None
    """Bounces over entries, as a fraction."""
    exit_rate: FractionOrNone = None
    """Exits over visits, as a fraction."""
    entry_nb_visits: LooseIntOrNone = None
    """Visits that started on this page."""
    entry_nb_uniq_visitors: LooseIntOrNone = None
    """Unique visitors who started on this page."""
    entry_nb_actions: LooseIntOrNone = None
    """Actions in visits that started on this page."""
    entry_sum_visit_length: LooseIntOrNone = None
    """Total length of visits that started on this page."""
    entry_bounce_count: LooseIntOrNone = None
    """Visits that started and ended on this page."""
    exit_nb_visits: LooseIntOrNone = None
    """Visits that ended on this page."""
    exit_nb_uniq_visitors: LooseIntOrNone = None
    """Unique visitors who ended on this page."""
    sum_daily_entry_nb_uniq_visitors: LooseIntOrNone = None
    """Sum of each day's unique entry visitors."""
    sum_daily_exit_nb_uniq_visitors: LooseIntOrNone = None
    """Sum of each day's unique exit visitors."""
    nb_hits_following_search: LooseIntOrNone = None
    """Pageviews right after an internal search."""
    nb_pages_per_search: LooseFloatOrNone = None
    """Result pages viewed per search (site search reports)."""
    nb_hits_with_time_network: LooseIntOrNone = None
    """Pageviews with a network time measured."""
    min_time_network: LooseFloatOrNone = None
    """Fastest network time, seconds."""
    max_time_network: LooseFloatOrNone = None
    """Slowest network time, seconds."""
    avg_time_network: LooseFloatOrNone = None
    """Average network time, seconds."""
    nb_hits_with_time_server: LooseIntOrNone = None
    """Pageviews with a server time measured."""
    min_time_server: LooseFloatOrNone = None
    """Fastest server time, seconds."""
    max_time_server: LooseFloatOrNone = None
    """Slowest server time, seconds."""
    avg_time_server: LooseFloatOrNone = None
    """Average server time, seconds."""
    nb_hits_with_time_transfer: LooseIntOrNone = None
    """Pageviews with a transfer time measured."""
    min_time_transfer: LooseFloatOrNone = None
    """Fastest transfer time, seconds."""
    max_time_transfer: LooseFloatOrNone = None
    """Slowest transfer time, seconds."""
    avg_time_transfer: LooseFloatOrNone = None
    """Average transfer time, seconds."""
    nb_hits_with_time_dom_processing: LooseIntOrNone = None
    """Pageviews with a DOM processing time measured."""
    min_time_dom_processing: LooseFloatOrNone = None
    """Fastest DOM processing time, seconds."""
    max_time_dom_processing: LooseFloatOrNone = None
    """Slowest DOM processing time, seconds."""
    avg_time_dom_processing: LooseFloatOrNone = None
    """Average DOM processing time, seconds."""
    nb_hits_with_time_dom_completion: LooseIntOrNone = None
    """Pageviews with a DOM completion time measured."""
    min_time_dom_completion: LooseFloatOrNone = None
    """Fastest DOM completion time, seconds."""
    max_time_dom_completion: LooseFloatOrNone = None
    """Slowest DOM completion time, seconds."""
    avg_time_dom_completion: LooseFloatOrNone = None
    """Average DOM completion time, seconds."""
    nb_hits_with_time_on_load: LooseIntOrNone = None
    """Pageviews with an on-load time measured."""
    min_time_on_load: LooseFloatOrNone = None
    """Fastest on-load time, seconds."""
    max_time_on_load: LooseFloatOrNone = None
    """Slowest on-load time, seconds."""
    avg_time_on_load: LooseFloatOrNone = None
    """Average on-load time, seconds."""
    avg_page_load_time: LooseFloatOrNone = None
    """Average total page load time, seconds."""


class ReferrerRow(ReportRow):
    """A row of ``Referrers.getReferrerType``, ``getAll``, ``getWebsites``, ``getKeywords``..."""

    referrer_type: LooseIntOrNone = Field(
        default=None, validation_alias=AliasChoices("referrer_type", "referer_type")
    )
    """Matomo's referrer type number (1 direct, 2 search, 3 website, 6 campaign, 7 social...);
    ``Referrers.getAll`` spells the key ``referer_type``."""
    nb_actions_per_visit: LooseFloatOrNone = None
    """Average actions per visit (when Matomo adds processed metrics)."""
    avg_time_on_site: SecondsOrNone = None
    """Average visit length in seconds (when Matomo adds processed metrics)."""
    bounce_rate: FractionOrNone = None
    """Bounces over visits, as a fraction (when Matomo adds processed metrics)."""
    conversion_rate: FractionOrNone = None
    """Converted visits over visits, as a fraction (when Matomo adds processed metrics)."""
