"""Ids that keep resolving: every source id ever published, where it went, and ids reused for another unit.

Pure functions (frames in, frames out) called once per nightly run from the flow: the run's
``retired_ids`` frame carries every id that has left the registry with the unit it last belonged to
(and where that unit is now); ``reused_ids`` flags an id that comes back, or stays, as a different
unit, so that it is kept out of automatic merges until a person has decided on it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from rapidfuzz.process import cpdist

from core.lookups import within

RETIRED_COLUMNS = ["source_org_id", "last_canonical_org_id", "retired_in_run", "now_canonical_org_id",
                   "last_name", "last_category", "last_region_code", "last_province_code", "last_record_name"]
REUSED_COLUMNS = ["org_id", "last_name", "name", "flagged_in_run"]
# below this rapidfuzz ratio (0–100) of the normalised names, the same id names another unit
# (霞浦县林业局 → 云南省昆明市第九十九中学 scores 0; a 科协 spelt out, 广州科协 → 广州市科学技术协会, is equal)
REUSED_BELOW = 50


def empty_retired() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "retired_in_run" else "str") for c in RETIRED_COLUMNS})


def _lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    return keys.map(table).where(keys != "", np.nan)


def retire_ids(previous_id_map: pd.DataFrame, previous_orgs: pd.DataFrame, previous_names: pd.DataFrame,
               previous_retired: pd.DataFrame | None, id_map: pd.DataFrame, run_id: int) -> pd.DataFrame:
    """Every published id missing from ``id_map``: the ones leaving tonight (``retired_in_run`` = ``run_id``)
    and those retired before (ids back in the registry drop out); each with its last unit and where that
    unit is now (``now_canonical_org_id``: the last canonical id's unit, else a former fellow record's
    unit, else empty: the unit is gone).

    >>> prev = pd.DataFrame({"source_org_id": ["a", "b", "c"], "canonical_org_id": ["a", "a", "c"]})
    >>> orgs = pd.DataFrame({"org_id": ["a", "c"], "name": ["甲", "丙"], "category": ["其他"] * 2,
    ...                      "region_code": ["", ""], "province_code": ["", ""]})
    >>> names = pd.DataFrame({"org_id": ["a", "b", "c"], "name": ["甲", "甲乙", "丙"]})
    >>> now = pd.DataFrame({"source_org_id": ["b"], "canonical_org_id": ["b"], "how": ["same"]})
    >>> gone = retire_ids(prev, orgs, names, None, now, 7)
    >>> gone[["source_org_id", "last_canonical_org_id", "now_canonical_org_id", "last_name"]].values.tolist()
    [['a', 'a', 'b', '甲'], ['c', 'c', '', '丙']]
    """
    present = id_map["source_org_id"]
    leaving = previous_id_map[~within(previous_id_map["source_org_id"], present)]
    units = previous_orgs.set_index("org_id")
    last = leaving["canonical_org_id"]
    fresh = pd.DataFrame({
        "source_org_id": leaving["source_org_id"].to_numpy(), "last_canonical_org_id": last.to_numpy(),
        "retired_in_run": run_id, "now_canonical_org_id": last.to_numpy(),
        **{f"last_{c}": last.map(units[c]).fillna("").to_numpy() for c in ("name", "category", "region_code",
                                                                             "province_code")},
        "last_record_name": leaving["source_org_id"].map(previous_names.set_index("org_id")["name"]).fillna("")
        .to_numpy()})
    carried = empty_retired() if previous_retired is None else previous_retired[RETIRED_COLUMNS]
    carried = carried[~within(carried["source_org_id"], present)]
    rows = pd.concat([carried, fresh], ignore_index=True).astype({"retired_in_run": "int64"})
    # where the unit is now: follow its last canonical id (or, for an id retired earlier, the unit it
    # pointed at last run) to this run's id map, directly or through a record that shared its unit
    now_of = pd.Series(id_map["canonical_org_id"].to_numpy(), index=present.to_numpy())
    stayed = previous_id_map[within(previous_id_map["source_org_id"], present)]
    via_member = pd.Series(stayed["source_org_id"].map(now_of).to_numpy(),
                           index=stayed["canonical_org_id"].to_numpy())
    via_member = via_member[~via_member.index.duplicated()]
    keys = [rows["last_canonical_org_id"], rows["now_canonical_org_id"].fillna("")]
    now = pd.Series(np.nan, index=rows.index, dtype=object)
    for key in keys:
        for table in (now_of, via_member):
            now = now.fillna(_lookup(key, table))
    rows["now_canonical_org_id"] = now.fillna("").astype("str")
    return rows.reset_index(drop=True)


def reused_ids(records: pd.DataFrame, previous_names: pd.DataFrame | None, retired: pd.DataFrame | None,
               previous_flags: pd.DataFrame | None, decided_ids, run_id: int) -> pd.DataFrame:
    """Ids whose record now names another unit than the one last published under that id (kept, or
    come back after leaving), plus earlier flags not yet decided by a person (``decided_ids``).

    >>> recs = pd.DataFrame({"org_id": ["1", "2"], "name": ["云南省昆明市第九十九中学", "广州市科学技术协会"],
    ...                      "name_norm": ["云南省昆明市第九十九中学", "广州市科学技术协会"]})
    >>> before = pd.DataFrame({"org_id": ["1", "2"], "name": ["霞浦县林业局", "广州科协"],
    ...                        "name_norm": ["霞浦县林业局", "广州市科学技术协会"]})
    >>> reused_ids(recs, before, None, None, [], 3)[["org_id", "last_name", "name"]].values.tolist()
    [['1', '霞浦县林业局', '云南省昆明市第九十九中学']]
    """
    known = []
    if previous_names is not None:
        known.append(previous_names[["org_id", "name", "name_norm"]])
    if retired is not None and len(retired):
        back = retired[["source_org_id", "last_record_name"]].rename(
            columns={"source_org_id": "org_id", "last_record_name": "name"})
        known.append(back.assign(name_norm=back["name"]))
    flags = [] if previous_flags is None else [previous_flags[REUSED_COLUMNS]]
    if known:
        before = pd.concat(known, ignore_index=True).drop_duplicates("org_id")
        pos = pd.Index(before["org_id"].to_numpy(dtype=object)).get_indexer(records["org_id"].to_numpy(dtype=object))
        here = np.flatnonzero(pos >= 0)
        if len(here):
            then = before.iloc[pos[here]]
            now = records.iloc[here]
            ratio = cpdist(now["name_norm"].tolist(), then["name_norm"].tolist(), scorer=fuzz.ratio, workers=1)
            other = ratio < REUSED_BELOW
            flags.append(pd.DataFrame({"org_id": now["org_id"].to_numpy()[other],
                                       "last_name": then["name"].to_numpy()[other],
                                       "name": now["name"].to_numpy()[other], "flagged_in_run": run_id}))
    if not flags:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "flagged_in_run" else "str") for c in REUSED_COLUMNS})
    out = pd.concat(flags, ignore_index=True).drop_duplicates("org_id", keep="first")
    keep = within(out["org_id"], records["org_id"]) & ~within(out["org_id"], pd.Series(list(decided_ids), dtype="str"))
    return out[keep].astype({"flagged_in_run": "int64"}).reset_index(drop=True)


RETIRED_BASIS = "归口单位已从组织库移除"


def units_through_retired(id_map: pd.DataFrame, retired: pd.DataFrame) -> pd.DataFrame:
    """``id_map`` plus each retired id whose unit still exists, mapped to that unit (for activities only:
    the published id map lists this run's records alone)."""
    alive = retired[retired["now_canonical_org_id"] != ""]
    extra = pd.DataFrame({"source_org_id": alive["source_org_id"].to_numpy(),
                          "canonical_org_id": alive["now_canonical_org_id"].to_numpy(), "how": "retired"})
    return pd.concat([id_map[["source_org_id", "canonical_org_id", "how"]], extra], ignore_index=True)


def keep_last_units(visibility: pd.DataFrame, activities: pd.DataFrame, retired: pd.DataFrame) -> pd.DataFrame:
    """Activities whose 归口单位 left the registry keep a unit and province instead of moving silently:
    the unit its record went into when that still exists, else the last published unit and province;
    either way ``basis`` says so (rows in ``visibility`` follow ``activities``).

    >>> vis = pd.DataFrame({"activity_id": ["x"], "canonical_org_id": [""], "province_code": ["110000"],
    ...                     "basis": ["按活动所在地区"]})
    >>> gone = pd.DataFrame({"source_org_id": ["7"], "last_canonical_org_id": ["7"], "now_canonical_org_id": [""],
    ...                      "last_province_code": ["440000"]})
    >>> keep_last_units(vis, pd.DataFrame({"org_id": ["7"]}), gone)[["canonical_org_id", "province_code"]].values.tolist()
    [['7', '440000']]
    """
    if retired is None or not len(retired):
        return visibility
    at = pd.Index(retired["source_org_id"].to_numpy(dtype=object)).get_indexer(activities["org_id"].to_numpy(dtype=object))
    hit = np.flatnonzero(at >= 0)
    if not len(hit):
        return visibility
    out = visibility.copy()
    rows = retired.iloc[at[hit]]
    gone = (rows["now_canonical_org_id"] == "").to_numpy()
    col = {c: out.columns.get_loc(c) for c in ("canonical_org_id", "province_code", "basis")}
    out.iloc[hit[gone], col["canonical_org_id"]] = rows["last_canonical_org_id"].to_numpy()[gone]
    out.iloc[hit[gone], col["province_code"]] = rows["last_province_code"].to_numpy()[gone]
    out.iloc[hit[gone], col["basis"]] = f"{RETIRED_BASIS}：沿用上次发布的单位和省份"
    out.iloc[hit[~gone], col["basis"]] = f"{RETIRED_BASIS}：按其记录并入的单位"
    return out
