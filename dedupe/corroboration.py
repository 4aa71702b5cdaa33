"""Where a unit's name alone cannot tell which unit is meant, an automatic merge needs a second witness.

A pair whose places do not confirm each other (one record has no place, or one place is coarser and the
name does not state the finer one) merges on the name alone. That is safe where such names are rare
(a 字号 in one place only), but the registry itself can show that they are not: at a million records,
three in four firm names of a company form occur in two or more provinces, and there a name seen in one
place only still belongs to several firms whose other records carry no code. Name and place then fit
two units equally, and a merge would be a guess. Such a pair merges automatically only when the two
records' 上级单位 are the same unit (a person or the source put them under one parent); otherwise it is
suggested. Where names of a suffix rarely recur (a small registry, a province's), nothing changes.

Pure: prepared records and scored pairs in, the pairs to hold back out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.lookups import member_of
from dedupe.cluster import components
from dedupe.compare import NESTED, SAME, UNKNOWN

# A suffix's names count as crowded when at least this share of its heads occur in two or more
# provinces (1M hard registry: 0.74–0.94 for the company forms; 60k and the dev set: 0.02–0.07).
CROWDED_SHARE = 0.25
MIN_HEADS = 50  # fewer heads of a suffix say too little about how often its names recur
HELD_NOTE = "同名单位在多个省份都有，而两条记录的地区不能互相印证、上级单位也不同或缺失，未自动合并，请人工确认"


def crowded_suffixes(records: pd.DataFrame) -> set[str]:
    """Generic suffixes (有限公司科学技术协会 …) whose heads recur in several provinces.

    >>> rows = [(f"字号{i}", suffix, province) for i in range(60) for suffix, province in
    ...         (("有限公司科学技术协会", "110000"), ("有限公司科学技术协会", "310000"), ("学会", "110000"))]
    >>> sorted(crowded_suffixes(pd.DataFrame(rows, columns=["name_head", "name_suffix", "province_best"])))
    ['有限公司科学技术协会']
    """
    placed = records[(records["province_best"] != "") & (records["name_head"] != "")]
    provinces = placed.groupby(["name_suffix", "name_head"], observed=True)["province_best"].nunique()
    by_suffix = (provinces > 1).groupby(level=0, observed=True).agg(["size", "mean"])
    return set(by_suffix.index[(by_suffix["size"] >= MIN_HEADS) & (by_suffix["mean"] >= CROWDED_SHARE)].tolist())


def parent_units(records: pd.DataFrame, scored: pd.DataFrame, auto_threshold: float) -> np.ndarray:
    """Each record's 上级单位 as a unit label (the component of its parent record over the automatic pairs,
    so two records of one parent agree), -1 where the parent is missing or not in the registry."""
    rid_of = pd.Index(records["org_id"].to_numpy(dtype=object))
    parent = rid_of.get_indexer(records["parent_id"].fillna("").to_numpy(dtype=object))
    label = components(len(records), [scored.loc[scored["score"].to_numpy() >= auto_threshold, ["rid_l", "rid_r"]]])
    return np.where(parent >= 0, label[np.maximum(parent, 0)] if len(label) else -1, -1)


def uncorroborated(records: pd.DataFrame, scored: pd.DataFrame, auto_threshold: float) -> np.ndarray:
    """Mask over ``scored``: automatic pairs of a crowded suffix whose places do not confirm each other
    and whose parents are not one unit. Names stating two different places (兰州市… / 甘肃省…) and a
    record with no place at all need the same parent; a coarser code needs no other parent."""
    strong = scored["score"].to_numpy() >= auto_threshold
    if not strong.any():
        return strong
    a, b = scored["rid_l"].to_numpy(np.int64), scored["rid_r"].to_numpy(np.int64)
    name_place, place = scored["name_place"].astype(str).to_numpy(), scored["place"].astype(str).to_numpy()
    confirmed = (name_place == SAME) | ((place == SAME) & (name_place == UNKNOWN))
    crowded = member_of(records["name_suffix"], crowded_suffixes(records)).to_numpy()
    open_ = strong & ~confirmed & crowded[a]
    if not open_.any():
        return open_
    parent = parent_units(records, scored, auto_threshold)
    pa, pb = parent[a], parent[b]
    same_parent = (pa >= 0) & (pa == pb)
    other_parent = (pa >= 0) & (pb >= 0) & (pa != pb)
    return open_ & (other_parent | (~same_parent & ((name_place == NESTED) | (place == UNKNOWN))))
