"""The baseline exporter: what the seed client and most other exporters do.

One site at a time, the whole date range in one `period=range` query, paged sequentially with
`filter_offset` (ascending), each visit written to JSONL with orjson; stops at a short page.
This is generous to the baseline (the cheapest decode and write there is, no terminator page),
so the figures compare paging strategies, not code quality.

Run: MATOMO_TOKEN=... .venv/bin/python benchmarks/baseline_offset.py --url URL --site 1,2 \
         --from 2024-01-01 --to 2024-02-29 --page-size 1000 --out visits.jsonl
Prints one JSON line: requests made, visits written.
"""

from __future__ import annotations

import argparse
import json
import os

import httpx
import orjson


def main() -> None:
    """Page every site's range with filter_offset and write the visits."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--site", required=True, help="comma-separated site ids")
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--to", dest="end", required=True)
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    token = os.environ["MATOMO_TOKEN"]
    requests = visits = 0
    with httpx.Client(base_url=a.url, timeout=120) as client, open(a.out, "wb") as out:
        for site in a.site.split(","):
            offset = 0
            while True:
                form = {
                    "module": "API",
                    "method": "Live.getLastVisitsDetails",
                    "format": "JSON",
                    "idSite": site,
                    "period": "range",
                    "date": f"{a.start},{a.end}",
                    "filter_limit": str(a.page_size),
                    "filter_offset": str(offset),
                    "filter_sort_order": "asc",
                    "token_auth": token,
                }
                r = client.post("index.php", data=form)
                r.raise_for_status()
                requests += 1
                page = orjson.loads(r.content)
                for visit in page:
                    out.write(orjson.dumps(visit))
                    out.write(b"\n")
                visits += len(page)
                offset += len(page)
                if len(page) < a.page_size:
                    break
    print(json.dumps({"requests": requests, "visits": visits}))


if __name__ == "__main__":
    main()
