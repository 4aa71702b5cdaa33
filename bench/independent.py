"""An "independent-like" labelled registry: the kinds of variation of ``bench.variations``, scored per kind.

    .venv/bin/python bench/independent.py [--units 39000] [--seed 5] [--data /tmp/m13a-indep]
    .venv/bin/python bench/independent.py --data DIR --export EXPORT_DIR   # score an `orgreg export`

Writes the set (registry, activities, truth files and ``truth_variations.csv``: each duplicate record's
kinds of variation and code kind) to ``--data`` (kept outside the repository) unless it is there, runs
the real pipeline on it (or reads ``--export``), prints ``score.py``'s figures and then, per kind,
the recall of pairs (the unit's first record, a variant) that differ by that kind alone with the code
unchanged, merged automatically and brought together for review (merges and suggestions applied, as
``score.py``'s review recall); then recall by the number of variations and by code kind.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import ALL_NOISE, INDUSTRIES, BRANDS, Generator, generate, write  # noqa: E402
from bench.variations import CODE_KINDS, NAME_KINDS, OLD_DEPARTMENTS, SOES, Ctx, vary_code, vary_name  # noqa: E402


SECTORS = ["建筑", "铁路", "电力", "石油", "航天", "船舶", "化工", "机械", "冶金", "建材", "医药", "农业", "有色",
           "煤炭", "水利", "交通", "核工", "电子", "兵器", "航空"]


class IndependentGenerator(Generator):
    """The project's units plus departments, groups and state firms; variants from ``bench.variations``."""

    def build_units(self, n_units: int) -> None:
        super().build_units(int(n_units * 0.8))
        rng, r = self.rng, self.regions
        places = sorted({u.region_code for u in self.units if u.category in ("市级科协", "县级科协")})
        used = {u.name for u in self.units}
        for name in SOES:
            self.add("企业科协", name + "科学技术协会", "110000")
        # state firms and their bureaus, the units people know by a short form (中建八局)
        for _ in range(max(n_units // 150, 10)):
            name = "中国" + rng.choice(SECTORS) + rng.choice(["", "第" + rng.choice("一二三四五六七八九") + "工程局",
                                                            "建设", "科技"]) + rng.choice(["集团有限公司", "有限公司"])
            if name not in used:
                used.add(name)
                self._local("企业科协", name + "科学技术协会", rng.choice(places))
        while len(self.units) < n_units:
            code = rng.choice(places)
            if rng.random() < 0.5:
                dept = rng.choice(sorted(OLD_DEPARTMENTS))
                name, cat = r.by_code[code].name + dept, "其他"
            else:
                brand = "".join(rng.choice(BRANDS) for _ in range(rng.choice([2, 3])))
                form = rng.choice(["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"])
                name, cat = f"{brand}{rng.choice(INDUSTRIES)}{form}科学技术协会", "企业科协"
            if name not in used:
                used.add(name)
                self._local(cat, name, code)

    def variant(self, u) -> tuple[str, str, str]:
        ctx = Ctx(self.rng, self.regions, u.region_code, self.s2t)
        n_kinds = self.rng.choices([1, 2, 3], weights=[5, 3, 2])[0]
        name, kinds = vary_name(ctx, u.name, n_kinds)
        code, code_kind = vary_code(ctx, u.region_code)
        self.variation = "+".join(kinds) + "|" + code_kind
        category = u.category if self.rng.random() > 0.05 else ""
        return name, category, code


def generate_independent(n_units: int, seed: int) -> dict[str, pd.DataFrame]:
    """Frames of ``bench.synthetic.generate`` made by ``IndependentGenerator``."""
    return generate(n_units, seed=seed, noise=ALL_NOISE, dup_share=0.3, generator=IndependentGenerator)


def per_kind(data: Path, export: Path) -> None:
    """Print recall (automatic, review) per kind of variation, by number of variations and by code kind."""
    truth = pd.read_csv(data / "truth_orgs.csv", dtype=str, keep_default_na=False)
    var = pd.read_csv(data / "truth_variations.csv", dtype=str, keep_default_na=False)
    im = pd.read_csv(export / "id_map.csv", dtype=str, keep_default_na=False)
    auto = dict(zip(im["source_org_id"], im["canonical_org_id"].where(im["how"] != "reviewed", im["source_org_id"])))
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in zip(im["source_org_id"], im["canonical_org_id"]):
        parent[find(a)] = find(b)
    sugg = export / "merge_suggestions.csv"
    if sugg.exists():
        s = pd.read_csv(sugg, dtype=str, keep_default_na=False)
        for a, b in zip(s["left_org_id"], s["right_org_id"]):
            parent[find(a)] = find(b)
    base = var[var["variation"] == ""].drop_duplicates("entity_id").set_index("entity_id")["org_id"]
    rows = var[var["variation"] != ""].copy()
    rows["base"] = rows["entity_id"].map(base)
    rows = rows[rows["base"].isin(auto.keys()) & rows["org_id"].isin(auto.keys())]
    rows["names"] = rows["variation"].str.split("|").str[0]
    rows["code"] = rows["variation"].str.split("|").str[1]
    rows["auto"] = [auto[a] == auto[b] for a, b in zip(rows["org_id"], rows["base"])]
    rows["review"] = [find(a) == find(b) for a, b in zip(rows["org_id"], rows["base"])]
    rows["n"] = rows["names"].str.count(r"\+") + (rows["names"] != "")

    def line(label: str, part: pd.DataFrame) -> None:
        print(f"{label:22s} {len(part):6,}  recall {part['auto'].mean():.3f}  review recall {part['review'].mean():.3f}")

    print(f"\npairs (first record, variant) of {len(truth['entity_id'].unique()):,} units: {len(rows):,}")
    print("one kind of variation only, code unchanged:")
    single = rows[(rows["n"] == 1) & (rows["code"] == "code_same")]
    for kind in NAME_KINDS:
        part = single[single["names"] == kind]
        if len(part):
            line(kind, part)
    print("by number of variations (any code):")
    for n, part in rows.groupby("n"):
        line(f"{n} variation(s)", part)
    print("by code kind (one name variation):")
    for kind in CODE_KINDS:
        part = rows[(rows["code"] == kind) & (rows["n"] == 1)]
        if len(part):
            line(kind, part)
    line("all", rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--units", type=int, default=39000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "m13a-indep")
    ap.add_argument("--export", type=Path, help="an `orgreg export` of a nightly run on --data")
    args = ap.parse_args()
    if not (args.data / "truth_variations.csv").exists():
        frames = generate_independent(args.units, args.seed)
        write(frames, args.data)
        print(f"{len(frames['registry']):,} records, {len(frames['truth_entities']):,} units -> {args.data}")
    if args.export is None:
        from bench.accuracy import evaluate

        args.export = args.data.parent / (args.data.name + "-export")
        evaluate(args.data.name, args.data, args.export)
    else:
        from bench.accuracy import scorer

        res = scorer().score(str(args.data), str(args.export), out=lambda *_: None)
        print("  ".join(f"{k}={res[k]:.4f}" for k in ("dup_precision", "dup_recall", "dup_f1", "review_recall",
                                                     "hierarchy_accuracy", "visibility_accuracy")))
    per_kind(args.data, args.export)


if __name__ == "__main__":
    main()
