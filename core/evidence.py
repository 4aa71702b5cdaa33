"""Where a record's other facts place it when its own place is missing or coarse: the place of its
declared parent, else the one place (prefecture) of the activities it is the 归口单位 of.

A name found in several places (康润物流有限公司 in 鸡西 and in 哈尔滨) leaves a record without a county
compatible with all of them; its parent (鸡西市科协) or its activities say which one it is. This is
evidence for matching only: a unit's own place is still what its records say.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.regions import RegionTable

LOCAL_ASSOCIATIONS = ("省级科协", "市级科协", "县级科协")
EVIDENCE_COLUMNS = ["evidence_best", "evidence_level", "evidence_prefecture", "evidence_province"]


def _inside(outer: np.ndarray, outer_level: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Is ``code`` within ``outer`` (by the GB/T 2260 digits: province 2, prefecture 4)? Empty ``outer``: yes."""
    digits = np.where(outer_level == 1, 2, np.where(outer_level == 2, 4, 6))
    out = np.ones(len(code), dtype=bool)
    for d in (2, 4, 6):
        at = (outer != "") & (digits == d)
        out[at] = pd.Series(code[at]).str[:d].to_numpy() == pd.Series(outer[at]).str[:d].to_numpy()
    return out


def activity_places(activities: pd.DataFrame, regions: RegionTable) -> pd.Series:
    """Per 归口单位 id, the place its activities share: their one code, or their one prefecture (empty
    when they lie in two prefectures).

    >>> from core.regions import default_regions
    >>> a = pd.DataFrame({"org_id": ["x", "x", "y", "y"], "region_code": ["230302", "230302", "230302", "230102"]})
    >>> activity_places(a, default_regions()).to_dict()
    {'x': '230302', 'y': ''}
    """
    a = activities.loc[(activities["org_id"] != "") & (activities["region_code"] != ""), ["org_id", "region_code"]]
    a = a.drop_duplicates()
    codes = pd.Series(a["region_code"].unique())
    prefecture = dict(zip(codes, (regions.prefecture(c) or c for c in codes)))
    a = a.assign(prefecture=a["region_code"].map(prefecture))
    by = a.groupby("org_id", sort=False)
    n_codes, n_pref, first = by["region_code"].nunique(), by["prefecture"].nunique(), by["prefecture"].first()
    code = by["region_code"].first()
    return pd.Series(np.where(n_codes == 1, code, np.where(n_pref == 1, first, "")), index=code.index, dtype=object)


def place_evidence(records: pd.DataFrame, activities: pd.DataFrame, regions: RegionTable) -> pd.DataFrame:
    """``EVIDENCE_COLUMNS`` of every record (same index): for a local record without a county, the declared parent's
    place (a local 科协 of the registry with a place), else its activities' place, kept only where it lies
    within the record's own coarse place and is finer than it; empty otherwise."""
    own = records["region_best"].to_numpy(dtype=object)
    own_level = records["region_level"].to_numpy()
    ids = pd.Index(records["org_id"].to_numpy(dtype=object))
    at = ids.get_indexer(records["parent_id"].to_numpy(dtype=object)) if ids.is_unique else np.full(len(ids), -1)
    # only a local 科协 places its children (a 中国科协 or a wrong, unrelated parent says little)
    local = records["category"].isin(LOCAL_ASSOCIATIONS).to_numpy()
    parent = np.where((at >= 0) & local[np.maximum(at, 0)], own[np.maximum(at, 0)], "")
    parent = np.where(at == np.arange(len(at)), "", parent)
    acts = activity_places(activities, regions).reindex(ids).fillna("").to_numpy(dtype=object)
    code = np.where(parent != "", parent, acts).astype(object)
    levels = {c: regions.level(c) for c in set(code.tolist()) - {""} if c in regions.by_code}
    level = np.array([levels.get(c, 0) for c in code.tolist()], dtype=np.int64)
    keep = (code != "") & (level > 0) & ((own == "") | ((own_level < 3) & (level > own_level)))
    keep &= ~records["national"].to_numpy(bool)  # a national unit belongs to no place
    keep &= _inside(own, own_level, code)
    code = np.where(keep, code, "")
    out = pd.DataFrame({"evidence_best": code, "evidence_level": np.where(keep, level, 0)}, index=records.index)
    uniques = set(code.tolist()) - {""}
    prefecture, province = ({c: f(c) or "" for c in uniques} for f in (regions.prefecture, regions.province))
    out["evidence_prefecture"] = [prefecture.get(c, "") for c in code.tolist()]
    out["evidence_province"] = [province.get(c, "") for c in code.tolist()]
    return out
