"""Print what a DuckDB export holds: row counts of visits and actions, and the top 10 pages.

Usage: python examples/show_export.py demo.duckdb
(`make demo` runs it after `matomo export visits --sandbox ... --out demo.duckdb`.)
"""

from __future__ import annotations

import sys

import duckdb

TOP_PAGES = """
    SELECT url, count(*) AS pageviews, count(DISTINCT id_site || ':' || id_visit) AS visits
    FROM actions
    WHERE type = 'action' AND url IS NOT NULL
    GROUP BY url
    ORDER BY pageviews DESC, url
    LIMIT 10
"""


def main(argv: list[str]) -> int:
    """Print the summary of the DuckDB file named in `argv[1]`."""
    if len(argv) != 2:
        print("usage: python examples/show_export.py EXPORT.duckdb", file=sys.stderr)
        return 2
    try:
        db = duckdb.connect(argv[1], read_only=True)
    except duckdb.Error as e:
        print(f"cannot open {argv[1]}: {e}", file=sys.stderr)
        return 1
    with db:
        visits = db.execute("SELECT count(*) FROM visits").fetchone()
        actions = db.execute("SELECT count(*) FROM actions").fetchone()
        sites = db.execute("SELECT id_site, count(*) FROM visits GROUP BY 1 ORDER BY 1").fetchall()
        print(f"visits: {visits[0] if visits else 0}")
        print(f"actions: {actions[0] if actions else 0}")
        for id_site, n in sites:
            print(f"  site {id_site}: {n} visits")
        print("top 10 pages (pageviews, visits, url):")
        for url, pageviews, n_visits in db.execute(TOP_PAGES).fetchall():
            print(f"  {pageviews:>6} {n_visits:>6}  {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
