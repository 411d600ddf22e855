"""Models built by attribute name type-check without the pydantic mypy plugin (as in an editor)."""

from __future__ import annotations

from matomo_client import ActionRow, ReportMetadata, Site
from matomo_client.models.visits import EcommerceItem, Visit

site = Site(id_site=1, name="Shop", created=None)
row = ActionRow(label="/", nb_visits=3, id_subtable=7)
item = EcommerceItem(item_sku="SKU-1")
visit = Visit(id_site=1, id_visit=2, referrer_ai_assistant_url=None)
meta = ReportMetadata(
    category="Actions",
    name="Page URLs",
    module="Actions",
    action="getPageUrls",
    unique_id="Actions_getPageUrls",
    is_subtable_report=False,
)
ids: list[int | None] = [site.id_site, row.id_subtable, visit.id_visit]
