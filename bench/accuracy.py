"""Accuracy on the dev set and on generated registries with other seeds, sizes and noise.

    .venv/bin/python bench/accuracy.py [--seeds 1 2 3] [--units 20000]
    .venv/bin/python bench/accuracy.py --data bench/out/gen-1000000-7     # one generated folder only

Prints the scorer's figures per data set (the scorer is ../shared/data/dev/score.py).
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "data" / "dev"

from core.config import load_settings  # noqa: E402
from core.snapshot import write_export  # noqa: E402
from flows.pipeline import read_inputs, run_pipeline  # noqa: E402
from bench.synthetic import ALL_NOISE, generate, write  # noqa: E402


def scorer():
    spec = importlib.util.spec_from_file_location("score", DEV / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def blocking_recall(data_dir: Path, pairs, records) -> float:
    """Share of the true duplicate pairs that blocking put among the candidates."""
    import itertools

    import pandas as pd

    truth = pd.read_csv(data_dir / "truth_orgs.csv", dtype=str)
    true = {tuple(sorted(p)) for ids in truth.groupby("entity_id")["org_id"] for p in itertools.combinations(ids[1], 2)}
    ids = records["org_id"].to_numpy(dtype=object)
    found = {tuple(sorted(p)) for p in zip(ids[pairs["rid_l"]].tolist(), ids[pairs["rid_r"]].tolist())}
    return len(true & found) / max(len(true), 1)


def evaluate(name: str, data_dir: Path, out: Path) -> dict:
    run = run_pipeline(read_inputs(data_dir / "registry.csv", data_dir / "activities.csv"), None, load_settings())
    write_export(run.frames, out)
    res = scorer().score(str(data_dir), str(out), out=lambda *_: None)
    print(f"{name:28s} blocking: {run.resolution.stats['pairs_per_record']} pairs/record, "
          f"recall {blocking_recall(data_dir, run.resolution.scored, run.normalised.records):.4f}")
    keys = ["dup_precision", "dup_recall", "dup_f1", "review_recall", "suggestions", "hierarchy_accuracy",
            "visibility_accuracy"]
    print(f"{name:28s} " + "  ".join(f"{k}={res[k]:.4f}" if isinstance(res[k], float) else f"{k}={res[k]}"
                                     for k in keys), flush=True)
    true_left = res["true_pairs"] - res["true_positive_pairs"]
    print(f"{'':28s} suggestions/unmerged-true-pairs={res['suggestions'] / max(true_left, 1):.2f}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="*", default=[101, 202, 303])
    ap.add_argument("--units", type=int, default=20000)
    ap.add_argument("--data", type=Path, help="score only this folder (registry, activities and truth files)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.data:
            evaluate(args.data.name, args.data, tmp / "out")
            return
        if DEV.exists():
            evaluate("dev set", DEV, tmp / "dev")
        variants = [("all noise", ALL_NOISE), ("no typos/trad", ALL_NOISE - {"typo", "trad"}),
                    ("heavy place noise", ALL_NOISE)]
        for seed in args.seeds:
            for label, noise in variants[:2]:
                data = tmp / f"gen-{seed}-{label}"
                write(generate(args.units, seed=seed, noise=noise), data)
                evaluate(f"seed {seed} {label}", data, tmp / f"out-{seed}-{label}")


if __name__ == "__main__":
    main()
