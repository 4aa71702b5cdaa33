"""Host units of a labelled set: how every name typed in ``host_units`` is linked, and the top missing units.

    .venv/bin/python bench/hosts.py [--data ../shared/data/hard/60k] [--top 15]

Runs the nightly stages in-process (``flows.pipeline.run_pipeline``, nothing published) and prints the
share of host names linked ``exact`` / ``auto`` / ``review`` / ``none`` (of names, and of activities with
at least one linked host), then the most used names no unit has, with their suggested category, region
and parent.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import ROOT

HARD = ROOT.parent / "shared" / "data" / "hard" / "60k"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=HARD)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    from core.config import load_settings
    from flows.pipeline import read_inputs, run_pipeline

    settings = load_settings(home=Path(tempfile.mkdtemp(prefix="orgreg-hosts-")))
    started = time.perf_counter()
    frames = run_pipeline(read_inputs(args.data / "registry.csv", args.data / "activities.csv"), None,
                          settings).frames
    print(f"{args.data}: nightly stages in-process {time.perf_counter() - started:.1f} s")
    hosts = frames["activity_hosts"]
    print(f"host names: {len(hosts):,} in {hosts['activity_id'].nunique():,} activities")
    counts = hosts["how"].value_counts()
    for how in ("exact", "auto", "review", "none"):
        n = int(counts.get(how, 0))
        print(f"  {how:<7} {n:>8,}  {n / max(len(hosts), 1):6.1%}")
    linked = hosts[hosts["how"] != "none"]["activity_id"].nunique()
    print(f"activities with a host linked (exact/auto/review): {linked / max(hosts['activity_id'].nunique(), 1):.1%}")
    missing = frames["missing_units"]
    names = frames["organizations"].set_index("org_id")["name"]
    print(f"missing units: {len(missing):,} names; top {args.top}:")
    for r in missing.head(args.top).to_dict("records"):
        print(f"  {r['name']}  活动 {r['activities']}，地区数 {r['places']}；建议 {r['suggested_category']} · "
              f"{r['suggested_region_code']} · 上级 {names.get(r['suggested_parent_id'], r['suggested_parent_id'])}")


if __name__ == "__main__":
    main()
