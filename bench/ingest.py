"""Ingest + validation (row checks and great-expectations) + normalisation of a large registry.

    .venv/bin/python bench/ingest.py [--records 1000000]

Prints wall time per step and the peak memory of the process. Target: 1,000,000 rows under 2 minutes
and 4 GB on a 2-core machine.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import generated, peak_rss_mb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    args = ap.parse_args()
    folder = generated(args.records)
    from core.checks import check_registry
    from core.quality import validate_raw_registry
    from core.records import prepare_registry
    from core.regions import default_regions
    from core.sources import read_table

    timings = {}
    start = t = time.perf_counter()
    regions = default_regions()
    raw = read_table(folder / "registry.csv", "registry")
    timings["read"], t = time.perf_counter() - t, time.perf_counter()
    checked = check_registry(raw, regions)
    timings["row checks"], t = time.perf_counter() - t, time.perf_counter()
    with tempfile.TemporaryDirectory() as docs:
        outcome = validate_raw_registry(raw.frame, checked.masks, Path(docs))
    timings["great-expectations + Data Docs"], t = time.perf_counter() - t, time.perf_counter()
    records = prepare_registry(checked.clean, regions)
    timings["normalisation"], t = time.perf_counter() - t, time.perf_counter()
    total = time.perf_counter() - start
    print(f"rows {len(raw.frame):,}  kept {len(records):,}  quarantined {len(checked.quarantine):,}  "
          f"GX success {outcome.success}")
    for k, v in timings.items():
        print(f"  {k:32s} {v:7.1f} s")
    print(f"TOTAL ingest+validation+normalisation: {total:.1f} s wall, peak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
