"""What a decision does to the published snapshot (a small republish), and how it is taken back.

Pure functions over the snapshot frames: the nightly run redoes all of it from the stored decisions
(match / distinct facts keyed on source ids), so these only need to be right until the next run.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.schema import NATIONAL_CATEGORIES
from core.store import pair_key
from dedupe.canonical import choose_survivors


def default_survivor(frames: dict[str, pd.DataFrame], units: list[str]) -> str:
    """The unit that survives when ``units`` (canonical ids) merge: the nightly survivorship rule
    (certified, then most activities, most complete, oldest, smallest id) on their surviving records."""
    rec = frames["records"]
    rec = rec[rec["org_id"].isin(units)].reset_index(drop=True)
    acts = frames["activity_visibility"]["canonical_org_id"].value_counts()
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


def _put_back(frame: pd.DataFrame, key: str, saved: dict, columns: tuple[str, str]) -> None:
    """Set ``columns`` of the rows whose ``key`` is in ``saved`` back to the saved pair (in place)."""
    rows = frame[key].isin(saved.keys())
    was = frame.loc[rows, key].map(saved)
    for i, column in enumerate(columns):
        frame.loc[rows, column] = was.str[i].to_numpy()


def restore(frames: dict[str, pd.DataFrame], before: dict) -> dict[str, pd.DataFrame]:
    """Put back what ``before_state`` saved: the records' units, the units' rows, the activities and
    the suggestions' statuses (undo)."""
    f = _editable(frames)
    _put_back(f["id_map"], "source_org_id", before["id_map"], ("canonical_org_id", "how"))
    orgs = f["organizations"]
    saved = pd.DataFrame(before["organizations"])
    # every record of the saved units loses any row of its own (a split made one), and the units'
    # rows come back as they were (the survivor's took the others' aliases and members)
    orgs = orgs[~orgs["org_id"].isin(before["id_map"].keys())]
    if len(saved):
        saved = saved.astype({c: orgs[c].dtype for c in saved.columns if c in orgs.columns and
                              orgs[c].dtype != object}, errors="ignore")
    f["organizations"] = pd.concat([orgs, saved[orgs.columns]], ignore_index=True) if len(saved) else orgs
    _put_back(f["activity_visibility"], "activity_id", before["visibility"], ("canonical_org_id", "province_code"))
    s = f["merge_suggestions"]
    keys = [pair_key(a, b) for a, b in zip(s["left_org_id"].tolist(), s["right_org_id"].tolist())]
    drop = [k in before["suggestions"] for k in keys]
    rows = [r for r in before["suggestions"].values() if r is not None]
    s = s[[not d for d in drop]]
    f["merge_suggestions"] = pd.concat([s, pd.DataFrame(rows, columns=s.columns)], ignore_index=True) if rows else s
    f["merge_suggestions"]["score"] = f["merge_suggestions"]["score"].astype(float)
    return f


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


def apply_correction(frames: dict[str, pd.DataFrame], unit: str, changes: dict[str, str], regions) -> dict:
    """The unit's row with the corrected fields (the nightly run redoes its parent and province)."""
    f = _editable(frames)
    orgs = f["organizations"]
    row = orgs.index[orgs["org_id"] == unit]
    for field, value in changes.items():
        orgs.loc[row, field] = value
    if changes.get("region_code") and orgs.loc[row, "category"].iloc[0] not in NATIONAL_CATEGORIES:
        orgs.loc[row, "province_code"] = regions.province(changes["region_code"]) or ""
    return f


def apply_match(frames: dict[str, pd.DataFrame], left: str, right: str, survivor: str) -> dict[str, pd.DataFrame]:
    """Merge the units of ``left`` and ``right`` into the unit of ``survivor`` (a source or canonical id)."""
    f = _editable(frames)
    idm = f["id_map"]
    canon = dict(zip(idm["source_org_id"].tolist(), idm["canonical_org_id"].tolist()))
    keep = canon.get(survivor, survivor)
    gone = ({canon[left], canon[right]} - {keep})
    if not gone:
        return set_status(f, left, right, "accepted")
    moved = idm["canonical_org_id"].isin(gone)
    idm.loc[moved, "canonical_org_id"] = keep
    idm.loc[moved, "how"] = "reviewed"
    orgs = f["organizations"]
    lost = orgs[orgs["org_id"].isin(gone)]
    i = orgs.index[orgs["org_id"] == keep][0]
    names = [a for a in orgs.at[i, "aliases"].split("|") if a] + lost["name"].tolist() + \
        [a for al in lost["aliases"] for a in al.split("|") if a]
    orgs.at[i, "aliases"] = "|".join(sorted(set(names) - {orgs.at[i, "name"], ""}))
    orgs.at[i, "members"] = int(orgs.at[i, "members"]) + int(lost["members"].sum())
    orgs.at[i, "certified"] = bool(orgs.at[i, "certified"]) or bool(lost["certified"].any())
    orgs.loc[orgs["parent_id"].isin(gone), "parent_id"] = keep
    f["organizations"] = orgs[~orgs["org_id"].isin(gone)].reset_index(drop=True)
    vis = f["activity_visibility"]
    hit = vis["canonical_org_id"].isin(gone)
    vis.loc[hit, "canonical_org_id"] = keep
    province = "" if orgs.at[i, "category"] in NATIONAL_CATEGORIES else orgs.at[i, "province_code"]
    if province or orgs.at[i, "category"] in NATIONAL_CATEGORIES:
        vis.loc[hit, "province_code"] = province
    f = set_status(f, left, right, "accepted")
    # other pending pairs between the two units are settled by this merge
    s = f["merge_suggestions"]
    members = set(idm.loc[idm["canonical_org_id"] == keep, "source_org_id"])
    same = (s["status"] == "pending") & s["left_org_id"].isin(members) & s["right_org_id"].isin(members)
    f["merge_suggestions"] = s[~same].reset_index(drop=True)
    return f


def apply_distinct(frames: dict[str, pd.DataFrame], left: str, right: str) -> dict[str, pd.DataFrame]:
    """Keep the two apart: a pending pair becomes rejected; a merged pair is split (unmerge)."""
    f = _editable(frames)
    canon = dict(zip(f["id_map"]["source_org_id"].tolist(), f["id_map"]["canonical_org_id"].tolist()))
    if canon[left] == canon[right]:
        moving = right if canon[right] != right else left
        f = unmerge(f, moving)
    return set_status(f, left, right, "rejected")


def unmerge(frames: dict[str, pd.DataFrame], source: str) -> dict[str, pd.DataFrame]:
    """Take ``source`` (and the records it is the survivor of) out of its unit: it becomes a unit of its
    own again, with its own activities; parent and province stay those of the unit it left."""
    f = _editable(frames)
    idm = f["id_map"]
    canon = dict(zip(idm["source_org_id"].tolist(), idm["canonical_org_id"].tolist()))
    old = canon[source]
    orgs = f["organizations"]
    base = orgs[orgs["org_id"] == old].iloc[0].to_dict()
    if old == source:
        # the survivor itself leaves: the next record of the unit takes over its id
        rest = idm[(idm["canonical_org_id"] == old) & (idm["source_org_id"] != source)]["source_org_id"].tolist()
        if not rest:
            return f
        heir = rest[0]
        idm.loc[idm["source_org_id"].isin(rest), "canonical_org_id"] = heir
        idm.loc[idm["source_org_id"] == heir, "how"] = "same"
        new_row = dict(base, org_id=heir, name=_record_name(f, heir), members=len(rest))
        orgs.loc[orgs["org_id"] == old, "members"] = 1
        orgs.loc[orgs["parent_id"] == old, "parent_id"] = heir
        f["organizations"] = pd.concat([orgs, pd.DataFrame([new_row])], ignore_index=True)
        vis = f["activity_visibility"]
        vis.loc[(vis["canonical_org_id"] == old) & (vis["org_id"] != source), "canonical_org_id"] = heir
        return f
    idm.loc[idm["source_org_id"] == source, ["canonical_org_id", "how"]] = [source, "same"]
    orgs.loc[orgs["org_id"] == old, "members"] = max(int(base["members"]) - 1, 1)
    row = dict(base, org_id=source, name=_record_name(f, source), aliases="", members=1)
    f["organizations"] = pd.concat([orgs, pd.DataFrame([row])], ignore_index=True)
    vis = f["activity_visibility"]
    if "org_id" in vis.columns:
        vis.loc[vis["org_id"] == source, "canonical_org_id"] = source
    return f


def _editable(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A copy whose edited frames may be changed in place (the records are only read)."""
    edited = ("organizations", "id_map", "merge_suggestions", "activity_visibility")
    return {k: (v.copy() if k in edited else v) for k, v in frames.items()}


def _record_name(frames: dict, source: str) -> str:
    rec = frames["records"]
    hit = rec.loc[rec["org_id"] == source, "name"]
    return hit.iloc[0].strip() if len(hit) else source


def set_status(frames: dict, left: str, right: str, status: str) -> dict:
    """The suggestion of the pair set to ``status`` (added as a person's pair when there was none)."""
    s = frames["merge_suggestions"]
    l, r = s["left_org_id"], s["right_org_id"]
    hit = ((l == left) & (r == right)) | ((l == right) & (r == left))  # column-wise: 100,000 rows in a millisecond
    if hit.any():
        s.loc[hit, "status"] = status
    else:
        s = pd.concat([s, pd.DataFrame([{"left_org_id": left, "right_org_id": right, "score": 1.0,
                                         "explanation": "人工决定", "status": status}])], ignore_index=True)
    frames["merge_suggestions"] = s
    return frames
