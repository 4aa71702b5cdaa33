"""Which provincial admin sees each organization and each activity (contract rules)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.regions import RegionTable
from core.schema import NATIONAL_CATEGORIES


def admin_provinces(orgs: pd.DataFrame, regions: RegionTable) -> pd.Series:
    """Province code whose admin sees each organization: that of the 省级科协 above it.

    National units (中国科协, 部委, 全国学会) have none. A unit left without a parent falls back to
    the province of its own place, so its activities still reach the admin who can review it.
    All chains are followed at once by pointer doubling; only units caught in a loop of parents
    (the repaired tree has none) are walked one by one.
    """
    ids = orgs["org_id"].to_numpy(dtype=object)
    parent = orgs["parent_id"].to_numpy(dtype=object)
    category = orgs["category"].to_numpy(dtype=object)
    n = len(ids)
    own = _provinces_of(regions, orgs["region_code"].to_numpy(dtype=object))
    national = np.isin(category, list(NATIONAL_CATEGORIES))
    at = pd.Index(ids).get_indexer(parent)
    at[at < 0] = n  # a parent id that names no unit: the walk ends there, with no province
    ends = national | (category == "省级科协") | (parent == "")
    value = np.append(np.where(national, "", own), "").astype(object)
    step = _follow(np.append(np.where(ends, np.arange(n), at), n))
    out = value[step][:n]
    stuck = np.flatnonzero(step[:n] != n)
    stuck = stuck[~np.append(ends, True)[step[stuck]]]
    if len(stuck):
        out[stuck] = _walk_loops(orgs, regions, stuck)
    return pd.Series(out, index=orgs.index, dtype=str)


def _walk_loops(orgs: pd.DataFrame, regions: RegionTable, rows: np.ndarray) -> list[str]:
    """The walk for units whose parents loop: it stops where the loop closes, at that unit's province."""
    parent = dict(zip(orgs["org_id"].tolist(), orgs["parent_id"].tolist()))
    region = dict(zip(orgs["org_id"].tolist(), orgs["region_code"].tolist()))
    memo: dict[str, str] = {}
    ids = orgs["org_id"].to_numpy(dtype=object)
    out = []
    for start in ids[rows].tolist():
        oid, path = start, []
        while oid not in memo:
            path.append(oid)
            nxt = parent[oid]
            if nxt in path:
                memo[oid] = (regions.province(region[oid]) or "") if region[oid] else ""
                break
            oid = nxt
        for p in path:
            memo.setdefault(p, memo[oid])
        out.append(memo[start])
    return out


def _follow(step: np.ndarray) -> np.ndarray:
    """Where each chain of ``step`` pointers ends (ends point at themselves), by pointer doubling:
    2^k jumps cover any chain as long as the array."""
    for _ in range(max(len(step).bit_length(), 1) + 1):
        step = step[step]
    return step


def _provinces_of(regions: RegionTable, codes: np.ndarray, resolve: bool = False) -> np.ndarray:
    """``regions.province`` of each code (of its resolved code with ``resolve``), computed once per
    distinct code ("" for none)."""
    inverse, uniques = pd.factorize(codes)
    found = np.array([(regions.province(regions.resolve(c) or None if resolve else c) or "") if c else ""
                      for c in uniques.tolist()] + [""], dtype=object)
    return found[inverse]  # -1 (a missing value) takes the "" at the end


def _take(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values[at]`` with "" where ``at`` is -1 (not found)."""
    out = np.full(len(at), "", dtype=object)
    found = at >= 0
    out[found] = values[at[found]]
    return out


def assign_activities(activities: pd.DataFrame, id_map: pd.DataFrame, orgs: pd.DataFrame,
                      regions: RegionTable) -> pd.DataFrame:
    """``activity_id, canonical_org_id, province_code, basis`` for every activity.

    Column-wise: two million activities took ten seconds one by one.
    """
    sources = pd.Index(id_map["source_org_id"].to_numpy(dtype=object))
    at = sources.get_indexer(activities["org_id"].to_numpy(dtype=object))
    canonical = _take(id_map["canonical_org_id"].to_numpy(dtype=object), at)
    row = pd.Index(orgs["org_id"].to_numpy(dtype=object)).get_indexer(canonical)
    row[canonical == ""] = -1
    category = _take(orgs["category"].to_numpy(dtype=object), row)
    org_province = _take(orgs["province_code"].to_numpy(dtype=object), row)
    national = np.isin(category, list(NATIONAL_CATEGORIES))
    by_org = ~national & (canonical != "") & (org_province != "")
    own = _provinces_of(regions, activities["region_code"].to_numpy(dtype=object))
    province = np.select([national, by_org], ["", org_province], own).astype(object)
    basis = np.select([national, by_org], ["归口单位为全国性单位", "归口单位所在省级科协"], "按活动所在地区").astype(object)
    return pd.DataFrame({"activity_id": activities["activity_id"].to_numpy(), "canonical_org_id": canonical,
                         "province_code": province, "basis": basis})


def declared_provinces(registry: pd.DataFrame, regions: RegionTable) -> pd.Series:
    """Status quo before the run: each source id's province through its declared parents as they are
    (the first 省级科协 up the declared chain; none when the chain breaks or loops).

    The chains are followed for all records at once by pointer doubling: a million records walked one
    by one took ten seconds.
    """
    last = registry.drop_duplicates("org_id", keep="last")  # as a dict of the rows would keep them
    ids = last["org_id"].to_numpy(dtype=object)
    n = len(ids)
    parent = pd.Index(ids).get_indexer(last["parent_id"].to_numpy(dtype=object))
    parent[(parent < 0) | (last["parent_id"].to_numpy(dtype=object) == "")] = n  # n: a chain's end, stays put
    marked = np.append(last["category"].to_numpy(dtype=object) == "省级科协", False)
    province = np.append(_provinces_of(regions, last["region_code"].to_numpy(dtype=object), resolve=True), "")
    step = np.where(marked, np.arange(n + 1), np.append(parent, n))
    step[np.flatnonzero(ids == "")] = n  # a blank id starts no chain
    step = _follow(step)
    return pd.Series(np.where(marked[step], province[step], "")[:n], index=ids, dtype=object)


def visibility_gains(visibility: pd.DataFrame, activities: pd.DataFrame, before: pd.Series) -> pd.DataFrame:
    """Per province: activities visible now, visible before, and made visible by this run."""
    prior = activities["org_id"].map(before).fillna("").to_numpy(dtype=object)
    now = visibility["province_code"].to_numpy(dtype=object)
    shown = now != ""
    f = pd.DataFrame({"province_code": now[shown], "new": prior[shown] != now[shown]})
    g = f.groupby("province_code").agg(visible_now=("new", "size"), newly_visible=("new", "sum"))
    g["newly_visible"] = g["newly_visible"].astype(int)
    before_counts = pd.Series(prior[prior != ""]).value_counts()
    g["visible_before"] = before_counts.reindex(g.index).fillna(0).astype(int)
    return g.reset_index()[["province_code", "visible_before", "visible_now", "newly_visible"]]
