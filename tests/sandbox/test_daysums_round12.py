"""Round 12: `sum_day` sums a day in one pass; the facts it gives are unchanged.

The digests below were computed with the code before the one-pass rewrite (round 11's
`day_sums.py`): every slot of every row, goals and float sums included, must stay the same.
Round 14 added two facts (each day's converted visits and its set of search keywords); with
those two left out, the digests are still the ones of round 11.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from matomo_client.sandbox.day_sums import sum_day
from matomo_client.sandbox.world import World


def _digest(seed: int, visits_per_day: int, site: int, day: date, every: int) -> str:
    world = World(seed=seed, days=30, visits_per_day=visits_per_day, today=date(2026, 11, 29))
    visits = world.day_visits(site, day)[::every]
    facts = sum_day(world.site(site), visits)
    if site == 1:
        assert any(v.conversions for v in visits)  # goals and orders are covered
    fields = dict(vars(facts))
    fields["visitor_ids"] = list(facts.visitor_ids)
    fields["user_ids"] = sorted(facts.user_ids)  # a frozenset's order follows string hashes
    fields["search_keywords"] = sorted(facts.search_keywords)
    return hashlib.sha256(repr(fields).encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    ("seed", "visits_per_day", "site", "day", "every", "expected"),
    [
        (1, 400, 1, date(2026, 11, 28), 1, "66aed27eaf05655d"),
        (7, 400, 2, date(2026, 11, 20), 1, "95a8226788b54806"),
        (1, 400, 1, date(2026, 11, 28), 3, "77bfff458ae08bc5"),  # a subset, as for a segment
        (42, 30, 3, date(2026, 11, 25), 1, "ac37deb398ab8350"),
    ],
)
def test_a_seed_sums_to_the_same_facts(
    seed: int, visits_per_day: int, site: int, day: date, every: int, expected: str
) -> None:
    assert _digest(seed, visits_per_day, site, day, every) == expected


def test_no_visits_sum_to_zeros() -> None:
    world = World(seed=1, days=2, visits_per_day=10, today=date(2026, 11, 29))
    facts = sum_day(world.site(1), ())
    assert (facts.nb_visits, facts.nb_actions, facts.max_actions, facts.goal_visits) == (
        0,
        0,
        0,
        [0, 0, 0],
    )
    assert all(not rows for rows in facts.rows.values())
