"""Where the matcher goes wrong: false merges and missed true pairs broken down by kind, with examples.

    .venv/bin/python bench/errors.py DATA_DIR EXPORT_DIR [--examples 3]

DATA_DIR holds registry.csv and truth_orgs.csv (a labelled set); EXPORT_DIR is what `orgreg export`
wrote. A pair's *kind* says how its two names differ (the first that applies: same after
normalisation, remark, place prefix, one character typed alike / dropped / doubled / swapped, generic
suffix, 集团, company form …) and how their codes relate (same, one empty, nested, conflict).

A true pair is *undecidable* when the input holds a record of another unit with the same name (head
and generic suffix, place prefix aside) whose place is compatible with both records' places (same,
nested or unknown): then name and code fit two units equally, and no rule on that evidence alone can
merge the pair without also risking the other. The share of such pairs bounds what precision-first
matching can merge automatically; they belong in review.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.normalise import name_key, normalise_name  # noqa: E402
from core.records import prepare_registry  # noqa: E402
from core.regions import default_regions  # noqa: E402
from core.typos import homophones  # noqa: E402

COMPANY_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "公司")


def _one_edit(a: str, b: str) -> str | None:
    """How two different strings differ by one edit: substitution, dropped, doubled or swapped."""
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if len(diff) == 1:
            i = diff[0]
            return "一字同音/形近" if homophones(a[i], b[i]) else "一字不同"
        if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return "两字互换"
        return None
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if len(long_) - len(short) != 1:
        return None
    for i in range(len(long_)):
        if long_[:i] + long_[i + 1:] == short:
            doubled = (i > 0 and long_[i - 1] == long_[i]) or (i + 1 < len(long_) and long_[i + 1] == long_[i])
            return "一字重复" if doubled else "少/多一字"
    return None


def name_kind(l: dict, r: dict) -> str:
    """How two prepared records' names differ (first that applies)."""
    if l["name"] == r["name"]:
        return "名称完全相同"
    if l["name_norm"] == r["name_norm"]:
        return "规范化后相同(繁简/全半角/空格/缩写)"
    if l["name_key"] == r["name_key"]:
        return "备注不同"
    hl, hr, sl, sr = l["name_head"], r["name_head"], l["name_suffix"], r["name_suffix"]
    if hl == hr and sl == sr:
        return "地区前缀增减"
    if hl == hr or hl.replace("集团", "") == hr.replace("集团", ""):
        if (hl + sl).replace("集团", "") == (hr + sr).replace("集团", ""):
            return "集团增减"
        strip = [s.replace("科学技术协会", "") for s in (sl, sr)]
        if strip[0] == strip[1] and "科学技术协会" in sl + sr:
            return "缺少科协后缀"
        if all(any(s.startswith(c) for c in COMPANY_FORMS) for s in strip):
            return "公司形式不同"
        return "通用后缀不同"
    for x, y in ((hl + sl, hr + sr), (l["name_key"], r["name_key"])):
        kind = _one_edit(x, y)
        if kind:
            return kind
    if "（" in l["name_norm"] + r["name_norm"]:
        return "括号内容"
    if not hl or not hr:
        return "名称主体缺失"
    return "其他(多处不同)"


def code_kind(regions, a: str, b: str) -> str:
    """How two records' best places relate."""
    if not a or not b:
        return "一方无地区" if a or b else "双方无地区"
    if a == b:
        return "地区相同"
    if regions.contains(a, b) or regions.contains(b, a):
        return "地区一粗一细"
    return "地区冲突"


def _pairs_of(groups: pd.Series) -> set[tuple[int, int]]:
    out = set()
    for rows in groups:
        rows = sorted(rows)
        out.update((rows[i], rows[j]) for i in range(len(rows)) for j in range(i + 1, len(rows)))
    return out


def undecidable(records: pd.DataFrame, entity: np.ndarray, pairs: list[tuple[int, int]], regions) -> set:
    """True pairs whose name and places fit another unit of the input as well (see the module doc)."""
    key = (records["name_head"] + "\x1f" + records["name_suffix"]).to_numpy(dtype=object)
    best = records["region_best"].to_numpy(dtype=object)
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(key):
        by_key[k].append(i)

    def fits(c: str, p: str) -> bool:
        return not c or not p or regions.contains(c, p) or regions.contains(p, c)

    out = set()
    for a, b in pairs:
        for k in {key[a], key[b]}:
            rows = by_key[k]
            if len(rows) < 2 or len(rows) > 2000:
                continue
            if any(entity[c] != entity[a] and fits(best[c], best[a]) and fits(best[c], best[b]) for c in rows):
                out.add((a, b))
                break
    return out


def _unsuggested(export_dir: Path, records: pd.DataFrame, rid: pd.Series, misses: list) -> list:
    """The missed pairs that no suggestion brings together either (every merge and suggestion applied)."""
    path = export_dir / "merge_suggestions.csv"
    if not path.exists():
        return misses
    sugg = pd.read_csv(path, dtype=str, keep_default_na=False)
    parent = list(range(len(records)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    cluster = records["cluster"].map(rid).fillna(-1).astype(int).tolist()
    edges = [(i, c) for i, c in enumerate(cluster) if c >= 0]
    edges += [(int(rid[a]), int(rid[b])) for a, b in zip(sugg["left_org_id"], sugg["right_org_id"])
              if a in rid.index and b in rid.index]
    for a, b in edges:
        parent[find(a)] = find(b)
    return [(a, b) for a, b in misses if find(a) != find(b)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("export_dir", type=Path)
    ap.add_argument("--examples", type=int, default=2)
    args = ap.parse_args()
    regions = default_regions()
    raw = pd.read_csv(args.data_dir / "registry.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(args.data_dir / "truth_orgs.csv", dtype=str, keep_default_na=False)
    im = pd.read_csv(args.export_dir / "id_map.csv", dtype=str, keep_default_na=False)
    raw = raw[raw["org_id"].isin(set(im["source_org_id"]))].drop_duplicates("org_id").reset_index(drop=True)
    records = prepare_registry(raw, regions)
    rid = pd.Series(np.arange(len(records)), index=records["org_id"])
    entity = records["org_id"].map(dict(zip(truth["org_id"], truth["entity_id"]))).to_numpy(dtype=object)
    cluster = im.set_index("source_org_id")
    auto = cluster["canonical_org_id"].where(cluster["how"] != "reviewed", cluster.index.to_series())
    records["cluster"] = records["org_id"].map(auto)
    records["entity"] = entity
    true_pairs = _pairs_of(records.groupby("entity").groups.values())
    pred_pairs = _pairs_of(records.groupby("cluster").groups.values())
    false_merges = sorted(pred_pairs - true_pairs)
    misses = sorted(true_pairs - pred_pairs)
    cols = ["name", "name_norm", "name_key", "name_head", "name_suffix", "region_best", "region_code"]
    rows = records[cols].to_dict("records")
    hard = undecidable(records, entity, sorted(true_pairs), regions)
    print(f"records {len(records):,}  true pairs {len(true_pairs):,}  merged pairs {len(pred_pairs):,}  "
          f"false merges {len(false_merges):,}  misses {len(misses):,}")
    print(f"undecidable true pairs (same name fits another unit's place): {len(hard):,} "
          f"= {len(hard) / max(len(true_pairs), 1):.4f} of true pairs; of the misses {len(set(misses) & hard):,}")
    unsuggested = _unsuggested(args.export_dir, records, rid, misses)
    for title, pairs in (("FALSE MERGES", false_merges), ("MISSES", misses),
                         ("MISSES NOT EVEN SUGGESTED (what review recall loses)", unsuggested)):
        kinds: Counter = Counter()
        examples: dict[tuple, list] = defaultdict(list)
        for a, b in pairs:
            k = (name_kind(rows[a], rows[b]), code_kind(regions, rows[a]["region_best"], rows[b]["region_best"]))
            kinds[k] += 1
            if len(examples[k]) < args.examples:
                examples[k].append(f"{rows[a]['name']} [{rows[a]['region_code'] or '-'}] / "
                                   f"{rows[b]['name']} [{rows[b]['region_code'] or '-'}]"
                                   + (" (undecidable)" if (a, b) in hard else ""))
        print(f"\n{title}: {len(pairs):,}")
        print(f"{'count':>7} {'share':>6}  kind")
        by_name: Counter = Counter()
        for (nk, ck), n in kinds.items():
            by_name[nk] += n
        for nk, n in by_name.most_common():
            print(f"{n:7,} {n / max(len(pairs), 1):6.1%}  {nk}")
            for (k2, ck), m in kinds.most_common():
                if k2 == nk:
                    print(f"{m:15,}  · {ck}: " + " | ".join(examples[(k2, ck)]))
    sugg_path = args.export_dir / "merge_suggestions.csv"
    if sugg_path.exists():
        sugg = pd.read_csv(sugg_path, dtype=str, keep_default_na=False)
        sugg = sugg[sugg["left_org_id"].isin(rid.index) & sugg["right_org_id"].isin(rid.index)]
        kinds: Counter = Counter()
        same: Counter = Counter()
        for l_id, r_id in zip(sugg["left_org_id"], sugg["right_org_id"]):
            a, b = int(rid[l_id]), int(rid[r_id])
            k = (name_kind(rows[a], rows[b]), code_kind(regions, rows[a]["region_best"], rows[b]["region_best"]))
            kinds[k] += 1
            same[k] += entity[a] == entity[b]
        print(f"\nSUGGESTIONS: {len(sugg):,}, same unit {sum(same.values()) / max(len(sugg), 1):.1%}")
        for k, n in kinds.most_common(15):
            print(f"{n:7,}  same {same[k] / n:6.1%}  {k[0]} · {k[1]}")


if __name__ == "__main__":
    main()
