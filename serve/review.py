"""What the desk works out before a decision: the default survivor, the state an undo puts back, whether
a correction may be made. Pure functions over the live frames; what a decision then does to them is
``core.overlay`` (applied on load by everyone who reads the live state).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.store import pair_key
from dedupe.canonical import choose_survivors


def default_survivor(frames: dict[str, pd.DataFrame], units: list[str]) -> str:
    """The unit that survives when ``units`` (canonical ids) merge: the nightly survivorship rule
    (certified, then most activities, most complete, oldest, smallest id) on their surviving records."""
    rec = frames["records"]
    rec = rec[rec["org_id"].isin(units)].reset_index(drop=True)
    acts = frames["activity_visibility"]["canonical_org_id"]
    acts = acts[acts.isin(list(units))].value_counts()  # the units' own activities, not a count of all
    roots = np.zeros(len(rec), dtype=np.int64)
    return str(rec["org_id"].iloc[int(choose_survivors(rec, roots, acts).iloc[0])])


def before_state(frames: dict[str, pd.DataFrame], units: set[str], pairs: list[tuple[str, str]] = ()) -> dict:
    """What a decision on ``units`` (and on ``pairs``, which may not be suggestions yet) may change, to
    put back on undo, as JSON: the members' units, the units' rows, their activities, the suggestions
    between their records."""
    idm = frames["id_map"]
    orgs = frames["organizations"]
    vis = frames["activity_visibility"]
    s = frames["merge_suggestions"]
    members = idm[idm["canonical_org_id"].isin(units)]
    inside = s["left_org_id"].isin(members["source_org_id"]) & s["right_org_id"].isin(members["source_org_id"])
    rows = json.loads(s[inside].to_json(orient="records", force_ascii=False))
    suggestions = {pair_key(a, b): None for a, b in pairs}
    suggestions.update({pair_key(r["left_org_id"], r["right_org_id"]): r for r in rows})
    hit = vis[vis["canonical_org_id"].isin(units)]
    return {"id_map": {a: [c, h] for a, c, h in members[["source_org_id", "canonical_org_id", "how"]].itertuples(
                index=False)},
            "organizations": json.loads(orgs[orgs["org_id"].isin(units)].to_json(orient="records", force_ascii=False)),
            "visibility": {a: [c, p] for a, c, p in zip(hit["activity_id"].tolist(), hit["canonical_org_id"].tolist(),
                                                       hit["province_code"].tolist())},
            "suggestions": suggestions}


def correction_problems(changes: dict[str, str], regions) -> list[str]:
    """What is wrong with a correction, in Chinese (empty when it may be made)."""
    from core.records import CORRECTABLE
    from core.schema import CATEGORIES

    problems = [f"不能更正字段 {k}（可更正：名称 name、类别 category、地区代码 region_code）"
                for k in changes if k not in CORRECTABLE]
    if not changes:
        problems.append("没有要更正的内容")
    if "name" in changes and not 2 <= len(changes["name"]) <= 100:
        problems.append("名称应为 2 到 100 个字")
    if "category" in changes and changes["category"] not in CATEGORIES:
        problems.append(f"未知的组织类别：{changes['category']}")
    if "region_code" in changes and changes["region_code"] and changes["region_code"] not in regions.by_code:
        problems.append(f"地区代码 {changes['region_code']} 不在 GB/T 2260 区划表中")
    return problems
