"""The nightly pipeline on a large generated registry, in-process (``flows.pipeline.run_pipeline``,
the function the flow runs, without the engine), and the whole flow with Prefect (``--flow``).

    .venv/bin/python bench/nightly.py [--records 1000000] [--flow]

Prints wall time per stage, the total and the peak memory.
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
    ap.add_argument("--flow", action="store_true", help="run the Prefect flow (ingest → publish) instead")
    args = ap.parse_args()
    folder = generated(args.records)
    start = time.perf_counter()
    if args.flow:
        from flows.environment import configure_prefect

        home = Path(tempfile.mkdtemp(prefix="orgreg-bench-"))
        configure_prefect(home)
        from flows.nightly import nightly

        result = nightly(registry=str(folder / "registry.csv"), activities=str(folder / "activities.csv"),
                         home=str(home))
        timings, stats = result["timings"], result["dedupe"]
    else:
        from core.config import load_settings
        from flows.pipeline import Runner, read_inputs, run_pipeline

        runner = Runner()
        with runner.stage("ingest"):
            inputs = read_inputs(folder / "registry.csv", folder / "activities.csv")
        result = run_pipeline(inputs, None, load_settings(), runner=runner)
        del inputs
        timings, stats = result.timings, result.resolution.stats
    total = time.perf_counter() - start
    for k, v in timings.items():
        print(f"  {k:18s} {v:7.1f} s")
    print(f"pairs {stats['pairs']:,} ({stats['pairs_per_record']}/record), canonical {stats['canonical']:,}, "
          f"suggestions {stats['suggestions']:,}")
    print(f"TOTAL {'flow' if args.flow else 'in-process'} {args.records:,} records: {total:.1f} s wall, "
          f"peak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
