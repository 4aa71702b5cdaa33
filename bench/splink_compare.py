"""orgreg's duplicate detection against Splink (DuckDB backend), same data, same scorer.

    .venv/bin/pip install -r requirements-bench.txt      # Splink is only a benchmark extra
    .venv/bin/python bench/splink_compare.py [--records 100000] [--dev]

Splink is configured as its tutorials show: a dedupe_only model with Jaro-Winkler levels on the name,
exact matches on place and category, blocking rules on name prefix and place, λ from a deterministic
rule, u by random sampling, m by EM, then clustering at a match probability. To be fair it gets
orgreg's normalised names and places (its tutorials ask for standardised inputs). Prints precision,
recall, F1 and wall time of both, and the ratios.
"""
from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import pandas as pd

from common import ROOT, generated, peak_rss_mb

DEV = ROOT.parent / "shared" / "data" / "dev"


def score(truth_dir: Path, id_map: pd.DataFrame) -> dict:
    spec = importlib.util.spec_from_file_location("score", DEV / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tempfile.TemporaryDirectory() as out:
        id_map.to_csv(Path(out) / "id_map.csv", index=False)
        return module.score(str(truth_dir), out, out=lambda *_: None)


def prepared(folder: Path) -> pd.DataFrame:
    from core.checks import check_registry
    from core.records import prepare_registry
    from core.regions import default_regions
    from core.sources import read_table

    regions = default_regions()
    return prepare_registry(check_registry(read_table(folder / "registry.csv", "registry"), regions).clean, regions)


def run_orgreg(records: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    from core.config import load_settings
    from dedupe.resolve import resolve_duplicates

    s = load_settings()
    start = time.perf_counter()
    res = resolve_duplicates(records, auto_threshold=s.auto_merge_threshold, review_threshold=s.review_threshold,
                             max_block_size=s.max_block_size)
    return res.id_map, time.perf_counter() - start


def run_splink(records: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    frame = pd.DataFrame({"unique_id": records["org_id"].astype(str), "name": records["name_key"].astype(str),
                          "head": records["name_head"].astype(str),
                          "region_code": records["region_best"].replace("", None),
                          "province": records["province_best"].replace("", None),
                          "category": records["category"].replace("", None)})
    start = time.perf_counter()
    db_api = DuckDBAPI()
    df = db_api.register(frame)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.8]),
                     cl.JaroWinklerAtThresholds("head", [0.95, 0.88]),
                     cl.ExactMatch("region_code"), cl.ExactMatch("province"), cl.ExactMatch("category")],
        blocking_rules_to_generate_predictions=[block_on("head", "province"), block_on("name"),
                                                block_on("substr(name, 1, 4)", "region_code")],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(df, settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match([block_on("name", "region_code")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("head", "province"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("region_code"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.95).as_pandas_dataframe()
    elapsed = time.perf_counter() - start
    clusters = clusters.astype({"unique_id": str, "cluster_id": str})
    # the cluster's smallest id stands for it; how = same/auto as the scorer expects
    canonical = clusters.groupby("cluster_id")["unique_id"].transform("min")
    id_map = pd.DataFrame({"source_org_id": clusters["unique_id"], "canonical_org_id": canonical})
    id_map["how"] = (id_map["source_org_id"] == id_map["canonical_org_id"]).map({True: "same", False: "auto"})
    return id_map, elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--dev", action="store_true", help="use the labelled dev set instead of a generated one")
    args = ap.parse_args()
    folder = DEV if args.dev else generated(args.records)
    records = prepared(folder)
    print(f"data: {folder} ({len(records):,} records)")
    results = {}
    for name, run in (("orgreg", run_orgreg), ("splink", run_splink)):
        id_map, seconds = run(records)
        s = score(folder, id_map)
        p, r, f = (s[k] or 0.0 for k in ("dup_precision", "dup_recall", "dup_f1"))  # None: nothing merged
        results[name] = (p, r, f, seconds)
        print(f"{name:7s} precision {p:.4f}  recall {r:.4f}  F1 {f:.4f}  merged pairs {s['predicted_pairs']:,}  "
              f"wall {seconds:6.1f} s", flush=True)
    (p1, r1, f1, t1), (p2, r2, f2, t2) = results["orgreg"], results["splink"]

    def ratio(a, b):
        return f"{a / b:.3f}" if b else "∞ (Splink merged nothing)"

    print(f"ratio orgreg/splink: precision {ratio(p1, p2)}  recall {ratio(r1, r2)}  F1 {ratio(f1, f2)}  "
          f"speed {t2 / t1:.2f}x faster (peak RSS {peak_rss_mb():,.0f} MB)")


if __name__ == "__main__":
    main()
