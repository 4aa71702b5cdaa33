"""Which provincial admin sees each organization and each activity (contract rules)."""
from __future__ import annotations

import pandas as pd

from core.regions import RegionTable
from core.schema import NATIONAL_CATEGORIES


def admin_provinces(orgs: pd.DataFrame, regions: RegionTable) -> pd.Series:
    """Province code whose admin sees each organization: that of the 省级科协 above it.

    National units (中国科协, 部委, 全国学会) have none. A unit left without a parent falls back to
    the province of its own place, so its activities still reach the admin who can review it.
    """
    parent = dict(zip(orgs["org_id"].tolist(), orgs["parent_id"].tolist()))
    category = dict(zip(orgs["org_id"].tolist(), orgs["category"].tolist()))
    region = dict(zip(orgs["org_id"].tolist(), orgs["region_code"].tolist()))
    memo: dict[str, str] = {}

    def province_of(oid: str) -> str:
        path = []
        while oid and oid not in memo:
            path.append(oid)
            cat = category.get(oid, "")
            if cat in NATIONAL_CATEGORIES:
                memo[oid] = ""
                break
            if cat == "省级科协":
                memo[oid] = regions.province(region[oid]) or ""
                break
            nxt = parent.get(oid, "")
            if not nxt or nxt in path:
                memo[oid] = (regions.province(region.get(oid)) or "") if region.get(oid) else ""
                break
            oid = nxt
        found = memo.get(oid, "") if oid else ""
        for p in path:
            memo.setdefault(p, found)
        return found

    return pd.Series([province_of(o) for o in orgs["org_id"]], index=orgs.index, dtype=str)


def assign_activities(activities: pd.DataFrame, id_map: pd.DataFrame, orgs: pd.DataFrame,
                      regions: RegionTable) -> pd.DataFrame:
    """``activity_id, canonical_org_id, province_code, basis`` for every activity."""
    canon = dict(zip(id_map["source_org_id"].tolist(), id_map["canonical_org_id"].tolist()))
    prov = dict(zip(orgs["org_id"].tolist(), orgs["province_code"].tolist()))
    cat = dict(zip(orgs["org_id"].tolist(), orgs["category"].tolist()))
    out_org, out_prov, basis = [], [], []
    for org_id, code in zip(activities["org_id"].tolist(), activities["region_code"].tolist()):
        c = canon.get(org_id, "")
        own = (regions.province(code) or "") if code else ""
        if c and cat.get(c) in NATIONAL_CATEGORIES:
            out_org.append(c), out_prov.append(""), basis.append("归口单位为全国性单位")
        elif c and prov.get(c):
            out_org.append(c), out_prov.append(prov[c]), basis.append("归口单位所在省级科协")
        else:
            out_org.append(c), out_prov.append(own), basis.append("按活动所在地区")
    return pd.DataFrame({"activity_id": activities["activity_id"].to_numpy(), "canonical_org_id": out_org,
                         "province_code": out_prov, "basis": basis})


def declared_provinces(registry: pd.DataFrame, regions: RegionTable) -> dict[str, str]:
    """Status quo before the run: each source id's province through its declared parents as they are."""
    parent = dict(zip(registry["org_id"].tolist(), registry["parent_id"].tolist()))
    category = dict(zip(registry["org_id"].tolist(), registry["category"].tolist()))
    region = dict(zip(registry["org_id"].tolist(), registry["region_code"].tolist()))
    out = {}
    for start in registry["org_id"]:
        oid, seen, found = start, set(), ""
        while oid and oid not in seen:
            seen.add(oid)
            if category.get(oid) == "省级科协":
                found = regions.province(regions.resolve(region.get(oid)) or None) or ""
                break
            oid = parent.get(oid, "")
        out[start] = found
    return out


def visibility_gains(visibility: pd.DataFrame, activities: pd.DataFrame, before: dict[str, str]) -> pd.DataFrame:
    """Per province: activities visible now, visible before, and made visible by this run."""
    prior = activities["org_id"].map(before).fillna("").to_numpy()
    now = visibility["province_code"].to_numpy()
    f = pd.DataFrame({"province_code": now, "before": prior})
    f = f[f["province_code"] != ""]
    g = f.groupby("province_code").agg(visible_now=("before", "size"),
                                       newly_visible=("before", lambda s: int((s != f.loc[s.index, "province_code"]).sum())))
    before_counts = pd.Series(prior[prior != ""]).value_counts()
    g["visible_before"] = before_counts.reindex(g.index).fillna(0).astype(int)
    return g.reset_index()[["province_code", "visible_before", "visible_now", "newly_visible"]]
