"""Hierarchy rebuild and activity visibility at scale: 1,000,000 organizations, 2,000,000 activities.

    .venv/bin/python bench/hierarchy.py [--units 1000000] [--activities 2000000]

The duplicates are taken from the generator's truth so that only the hierarchy stages are timed
(they run on the id map the duplicate stage hands them). Target: under 2 minutes.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from common import peak_rss_mb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=1_000_000)
    ap.add_argument("--activities", type=int, default=2_000_000)
    args = ap.parse_args()
    from suggest import large_frames

    f = large_frames(args.units)
    records, id_map = f["records"], f["id_map"]
    rng = np.random.default_rng(3)
    picks = rng.integers(0, len(records), args.activities)
    activities = pd.DataFrame({"activity_id": np.arange(args.activities).astype(str),
                               "org_id": records["org_id"].to_numpy()[picks],
                               "region_code": records["region_code"].to_numpy()[picks]})
    activities.loc[rng.random(args.activities) < 0.05, "org_id"] = ""  # no usable 归口单位
    raw = records[["org_id", "parent_id", "category", "region_code"]]
    from core.regions import default_regions
    from hierarchy.build import build_organizations
    from hierarchy.changes import parent_changes
    from hierarchy.repair import repair_parents
    from hierarchy.rollup import rollup
    from hierarchy.visibility import admin_provinces, assign_activities, declared_provinces, visibility_gains

    regions = default_regions()
    timings = {}
    start = t = time.perf_counter()

    def lap(name):
        nonlocal t
        timings[name] = time.perf_counter() - t
        t = time.perf_counter()

    orgs = build_organizations(records, id_map, regions)
    lap("canonical organizations")
    orgs = repair_parents(orgs, regions)
    lap("parents (repair)")
    orgs["province_code"] = admin_provinces(orgs, regions)
    lap("admin provinces")
    changes = parent_changes(orgs, set(records["org_id"]))
    lap("parent changes")
    visibility = assign_activities(activities, id_map, orgs, regions)
    lap("activity visibility")
    gains = visibility_gains(visibility, activities, declared_provinces(raw, regions))
    lap("before/after per province")
    stats = rollup(orgs, visibility["canonical_org_id"])
    lap("roll-up per subtree")
    total = time.perf_counter() - start
    for k, v in timings.items():
        print(f"  {k:28s} {v:6.1f} s")
    print(f"organizations {len(orgs):,}, parent changes {len(changes):,}, activities {len(visibility):,}, "
          f"subtrees {len(stats):,}, provinces {len(gains)}")
    print(f"TOTAL hierarchy + visibility: {total:.1f} s wall, peak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
