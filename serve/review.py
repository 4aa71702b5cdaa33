"""The review queue and what a decision does to the published snapshot (a small republish).

Pure functions over the snapshot frames: the nightly run redoes all of it from the stored decisions
(match / distinct facts keyed on source ids), so these only need to be right until the next run.
"""
from __future__ import annotations

import pandas as pd

from core.regions import RegionTable
from core.schema import NATIONAL_CATEGORIES
from core.store import pair_key

BANDS = {"high": (0.85, 1.01), "mid": (0.78, 0.85), "low": (0.0, 0.78)}


def suggestion_id(left: str, right: str) -> str:
    return pair_key(left, right).replace("|", "-")


def split_id(sid: str) -> tuple[str, str]:
    left, _, right = sid.partition("-")
    return left, right


def review_queue(frames: dict[str, pd.DataFrame], decided: set[str], regions: RegionTable) -> pd.DataFrame:
    """Pending suggestions, most impact first (certified units, then activities affected), both sides described."""
    s = frames["merge_suggestions"]
    s = s[s["status"] == "pending"].copy()
    s["id"] = [suggestion_id(a, b) for a, b in zip(s["left_org_id"].tolist(), s["right_org_id"].tolist())]
    s = s[~s["id"].str.replace("-", "|", regex=False).isin(decided)]
    canon = dict(zip(frames["id_map"]["source_org_id"].tolist(), frames["id_map"]["canonical_org_id"].tolist()))
    orgs = frames["organizations"].set_index("org_id")
    records = frames["records"].set_index("org_id")
    acts = frames["activity_visibility"]["canonical_org_id"].value_counts()
    children = frames["organizations"]["parent_id"].value_counts()
    names = orgs["name"]
    for side in ("left", "right"):
        ids = s[f"{side}_org_id"]
        c = ids.map(canon)
        s[f"{side}_canonical"] = c
        s[f"{side}_name"] = ids.map(records["name"]).str.strip()
        s[f"{side}_category"] = ids.map(records["category"])
        s[f"{side}_region_code"] = c.map(orgs["region_code"])
        s[f"{side}_region_path"] = s[f"{side}_region_code"].map(
            lambda code: "/".join(regions.by_code[x].name for x in regions.path(code)) if code in regions.by_code else "")
        s[f"{side}_province"] = c.map(orgs["province_code"]).fillna("")
        s[f"{side}_parent"] = c.map(orgs["parent_id"]).map(names).fillna("")
        s[f"{side}_children"] = c.map(children).fillna(0).astype(int)
        s[f"{side}_activities"] = c.map(acts).fillna(0).astype(int)
        s[f"{side}_certified"] = c.map(orgs["certified"]).fillna(False).astype(bool)
    s["activities"] = s["left_activities"] + s["right_activities"]
    s["certified"] = s["left_certified"] | s["right_certified"]
    return s.sort_values(["certified", "activities", "score"], ascending=[False, False, False], ignore_index=True)


def filter_queue(queue: pd.DataFrame, province: str | None = None, category: str | None = None,
                 band: str | None = None) -> pd.DataFrame:
    q = queue
    if province:
        q = q[(q["left_province"] == province) | (q["right_province"] == province)]
    if category:
        q = q[(q["left_category"] == category) | (q["right_category"] == category)]
    if band in BANDS:
        lo, hi = BANDS[band]
        q = q[(q["score"] >= lo) & (q["score"] < hi)]
    return q


def default_survivor(frames: dict[str, pd.DataFrame], left: str, right: str) -> str:
    """The survivorship rules on the two units: certified, then more activities, then more records."""
    orgs = frames["organizations"].set_index("org_id")
    canon = dict(zip(frames["id_map"]["source_org_id"].tolist(), frames["id_map"]["canonical_org_id"].tolist()))
    acts = frames["activity_visibility"]["canonical_org_id"].value_counts()
    a, b = canon[left], canon[right]

    def rank(c):
        return bool(orgs.at[c, "certified"]), int(acts.get(c, 0)), int(orgs.at[c, "members"])

    # equal on every rule: the smaller id, so the default never depends on which side is which
    return max((a, b), key=lambda c: (rank(c), c == min(a, b)))


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
    c = dict(zip(idm["source_org_id"].tolist(), idm["canonical_org_id"].tolist()))
    same = (s["status"] == "pending") & (s["left_org_id"].map(c) == s["right_org_id"].map(c))
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
    """The snapshot frames with the suggestion of this pair (either order) given ``status``."""
    s = frames["merge_suggestions"]
    key = pair_key(left, right)
    keys = [pair_key(a, b) for a, b in zip(s["left_org_id"].tolist(), s["right_org_id"].tolist())]
    hit = pd.Series([k == key for k in keys], index=s.index)
    if hit.any():
        s.loc[hit, "status"] = status
    else:
        s = pd.concat([s, pd.DataFrame([{"left_org_id": left, "right_org_id": right, "score": 1.0,
                                         "explanation": "人工决定", "status": status}])], ignore_index=True)
    frames["merge_suggestions"] = s
    return frames
