"""An incremental nightly run after 1% of a large registry changed, against the full run before it.

    .venv/bin/python bench/incremental.py [--records 1000000 | --data ../shared/data/hard/1m] [--share 0.01]

Runs the Prefect flow twice on one state directory: a full run, then — with ``share`` of the rows
changed (``--mix quarters``: a quarter each renamed, code emptied, replaced by new ids, removed;
``--mix thirds``: a third each renamed, code emptied, new ids, and another ``share``/10 removed) — an
incremental one. Prints both wall times, both runs per stage side by side and what was reused.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import generated, peak_rss_mb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--share", type=float, default=0.01)
    ap.add_argument("--data", type=Path, help="a folder with registry.csv and activities.csv (default: generated)")
    ap.add_argument("--mix", choices=("quarters", "thirds"), default="quarters")
    ap.add_argument("--verify", action="store_true",
                    help="then run --full on the changed input and compare the published frames")
    args = ap.parse_args()
    folder = args.data or generated(args.records)
    home = Path(tempfile.mkdtemp(prefix="orgreg-incr-"))
    from flows.environment import configure_prefect

    configure_prefect(home)
    from flows.nightly import nightly

    t = time.perf_counter()
    full = nightly(registry=str(folder / "registry.csv"), activities=str(folder / "activities.csv"), home=str(home),
                   full=True)
    full_time = time.perf_counter() - t
    full_peak = peak_rss_mb()  # the incremental run below starts from this process's full-run heap
    registry = pd.read_csv(folder / "registry.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(4)
    changed = rng.choice(len(registry), int(len(registry) * args.share), replace=False)
    if args.mix == "quarters":
        renamed, emptied, new, removed = np.array_split(changed, 4)
    else:  # the mix: a third each, plus some removed on top
        renamed, emptied, new = np.array_split(changed, 3)
        rest = np.setdiff1d(np.arange(len(registry)), changed)
        removed = rng.choice(rest, max(len(changed) // 10, 1), replace=False)
    registry.loc[renamed, "name"] = registry.loc[renamed, "name"] + "（新）"
    registry.loc[emptied, "region_code"] = ""
    registry.loc[new, "org_id"] = registry.loc[new, "org_id"] + "7"
    registry = registry.drop(index=removed)
    path = home / "registry_changed.csv"
    registry.to_csv(path, index=False)
    t = time.perf_counter()
    inc = nightly(registry=str(path), activities=str(folder / "activities.csv"), home=str(home))
    inc_time = time.perf_counter() - t
    print(f"full run:        {full_time:6.1f} s  ({len(registry):,} records)")
    print(f"full run pairs {full['dedupe']['pairs']:,} ({full['dedupe']['pairs_per_record']}/record)")
    print(f"incremental run: {inc_time:6.1f} s  (changed {inc['dedupe']['changed_records']:,}; pairs scored "
          f"{inc['dedupe']['pairs_scored']:,}, reused {inc['dedupe']['pairs_reused']:,})")
    print(f"incremental / full wall: {inc_time / full_time:.2f}")
    print(f"  {'stage':16s} {'full':>8s} {'incremental':>12s}")
    for stage in dict.fromkeys([*full["timings"], *inc["timings"]]):
        f, i = (run["timings"].get(stage, float("nan")) for run in (full, inc))
        print(f"  {stage:16s} {f:7.1f}s {i:11.1f}s")
    print(f"  {'(outside stages)':16s} {full_time - sum(full['timings'].values()):7.1f}s "
          f"{inc_time - sum(inc['timings'].values()):11.1f}s  (Prefect's server, imports, shutdown, reports)")
    print(f"peak RSS: full run {full_peak:,.0f} MB; whole benchmark (both runs in one process) {peak_rss_mb():,.0f} MB")
    print("hierarchy: " + ", ".join(f"{k} {v:,}" for k, v in inc["hierarchy"].items()))
    if args.verify:
        verify(home, path, folder, inc["snapshot_version"])


FRAMES = ("id_map", "organizations", "merge_suggestions", "activity_visibility", "rollup", "parent_changes")


def verify(home: Path, path: Path, folder: Path, version: int) -> None:
    """A full run on the changed input must publish what the incremental run published."""
    from core.config import load_settings
    from core.store import open_store
    from flows.nightly import nightly

    store = open_store(load_settings(home=str(home)))
    incremental = store.live_snapshot()
    assert incremental.version == version
    kept = {name: incremental.frame(name) for name in FRAMES}  # read now: the next publish may prune it
    t = time.perf_counter()
    nightly(registry=str(path), activities=str(folder / "activities.csv"), home=str(home), full=True)
    print(f"full run on the changed input: {time.perf_counter() - t:6.1f} s; published frames compared:")
    whole = store.live_snapshot()
    for name in FRAMES:
        key = list(kept[name].columns[:2])
        a, b = (f.sort_values(key, ignore_index=True).astype(str) for f in (kept[name], whole.frame(name)))
        print(f"  {name:20s} {len(a):>9,} rows  {'identical' if a.equals(b) else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
