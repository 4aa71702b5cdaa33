"""Statistics for the admin pages and ``/api/stats/…``: activities and units per 归口单位, per city or
county, per province and per 全国学会/部委, each with its count in the last run and the change."""
from __future__ import annotations

import numpy as np
import pandas as pd

from serve.admin_views import NATIONAL_CATEGORIES, AdminData, LastRun
from serve.scopes import Scope, subtree
from serve.state import Loaded

STAT_COLUMNS = ["key", "name", "activities", "activities_last_run", "activities_change", "units", "units_last_run",
                "units_change"]
STAT_HEADERS = {"key": "代码/ID", "name": "名称", "activities": "活动数", "activities_last_run": "上次运行活动数",
                "activities_change": "活动变化", "units": "单位数", "units_last_run": "上次运行单位数",
                "units_change": "单位变化"}


def _with_change(frame: pd.DataFrame, has_last: bool) -> pd.DataFrame:
    """Counts as integers and the change since the last run (empty when there was no last run)."""
    for what in ("activities", "units"):
        frame[what] = frame[what].fillna(0).astype(int)
        if has_last:
            frame[f"{what}_last_run"] = frame[f"{what}_last_run"].fillna(0).astype(int)
            frame[f"{what}_change"] = frame[what] - frame[f"{what}_last_run"]
        else:
            frame[f"{what}_last_run"] = pd.NA
            frame[f"{what}_change"] = pd.NA
    return frame[STAT_COLUMNS].sort_values(["activities", "key"], ascending=[False, True], ignore_index=True)


def _counts(values) -> pd.Series:
    return pd.Series(values).value_counts()


def by_unit(current: Loaded, data: AdminData, area: Scope) -> pd.DataFrame:
    """Per 归口单位 of the area's activities: its activities (directly) and the units of its subtree."""
    acts = data.activities(current, area)
    now = _counts(acts["canonical_org_id"][acts["canonical_org_id"] != ""])
    last = data.last_run(current)
    frame = pd.DataFrame({"key": now.index.to_numpy(), "activities": now.to_numpy()})
    frame["name"] = current.orgs["name"].reindex(frame["key"]).fillna("").to_numpy()
    frame["units"] = [_subtree_units(current, k) for k in frame["key"]]
    if last is not None:
        before = last.visibility[last.visibility["activity_id"].isin(data.area_ids_last_run(current, last, area))]
        frame["activities_last_run"] = _counts(before["canonical_org_id"]).reindex(frame["key"]).to_numpy()
        frame["units_last_run"] = frame["units"]  # the subtree as it is now: a unit's own tree of last run is not kept
    return _with_change(frame, last is not None)


def _subtree_units(current: Loaded, org_id: str) -> int:
    if org_id in current.rollup.index:
        return int(current.rollup.at[org_id, "organizations"])
    return len(subtree(current, org_id))


def by_place(current: Loaded, data: AdminData, area: Scope, level: str = "city") -> pd.DataFrame:
    """Per city (``level="city"``) or county of the area: activities taking place there and units located there."""
    acts = data.activities(current, area)
    column = "city" if level == "city" else "place"
    now = _counts(acts[column][acts[column] != ""])
    units = area.units(current)
    orgs = current.orgs if units is None else current.orgs.loc[units]
    unit_places = _place_of(orgs["region_code"], level)
    last = data.last_run(current)
    keys = sorted(set(now.index) | set(unit_places[unit_places != ""]))
    keys = [k for k in keys if not k.endswith("0000")]
    frame = pd.DataFrame({"key": keys})
    frame["name"] = [data.place_label(k) for k in keys]
    frame["activities"] = now.reindex(keys).to_numpy()
    frame["units"] = _counts(unit_places).reindex(keys).to_numpy()
    if last is not None:
        ids = data.area_ids_last_run(current, last, area)
        before = last.visibility[last.visibility["activity_id"].isin(ids)]
        frame["activities_last_run"] = _counts(_place_of(before["region_code"].fillna(""), level)).reindex(keys).to_numpy()
        last_orgs = _area_orgs_last_run(current, last, area)
        frame["units_last_run"] = _counts(_place_of(last_orgs["region_code"].fillna(""), level)).reindex(keys).to_numpy()
    return _with_change(frame, last is not None)


def _place_of(codes: pd.Series, level: str) -> pd.Series:
    codes = codes.fillna("").astype(str)
    return codes.str[:4] + "00" if level == "city" else codes


def _area_orgs_last_run(current: Loaded, last: LastRun, area: Scope) -> pd.DataFrame:
    if area.national:
        return last.orgs
    if area.province:
        return last.orgs[last.orgs["province_code"].to_numpy() == area.province]
    return last.orgs[last.orgs["org_id"].isin(subtree(current, area.unit))]


def by_province(current: Loaded, data: AdminData) -> pd.DataFrame:
    """Per province: the activities its admin reviews and its units."""
    vis, orgs, last = current.visibility, current.orgs, data.last_run(current)
    now = _counts(vis["province_code"][vis["province_code"] != ""])
    units = _counts(orgs["province_code"][orgs["province_code"] != ""])
    keys = sorted(set(now.index) | set(units.index))
    frame = pd.DataFrame({"key": keys, "name": [data.place_label(k) for k in keys],
                          "activities": now.reindex(keys).to_numpy(), "units": units.reindex(keys).to_numpy()})
    if last is not None:
        frame["activities_last_run"] = _counts(last.visibility["province_code"]).reindex(keys).to_numpy()
        frame["units_last_run"] = _counts(last.orgs["province_code"]).reindex(keys).to_numpy()
    return _with_change(frame, last is not None)


def by_national_unit(current: Loaded, data: AdminData) -> pd.DataFrame:
    """Per 全国学会 and 部委: the activities whose 归口单位 is in its subtree, and the units of that subtree."""
    orgs, last = current.orgs, data.last_run(current)
    keys = orgs.index[np.isin(orgs["category"].to_numpy(), NATIONAL_CATEGORIES)].tolist()
    trees = {k: subtree(current, k) for k in keys}
    direct = _counts(current.visibility["canonical_org_id"])
    frame = pd.DataFrame({"key": keys, "name": orgs["name"].reindex(keys).to_numpy(),
                          "activities": [int(direct.reindex(list(trees[k])).fillna(0).sum()) for k in keys],
                          "units": [len(trees[k]) for k in keys]})
    if last is not None:
        before = _counts(last.visibility["canonical_org_id"])
        frame["activities_last_run"] = [int(before.reindex(list(trees[k])).fillna(0).sum()) for k in keys]
        frame["units_last_run"] = [int(last.orgs["org_id"].isin(trees[k]).sum()) for k in keys]
    out = _with_change(frame, last is not None)
    out.insert(2, "category", orgs["category"].reindex(out["key"]).to_numpy())
    return out


def stats_records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows (no change figures when there was no last run)."""
    return [{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in frame.to_dict("records")]
