"""What the admin pages show, as frames: an area's activities (filtered, with why each is the area's),
its units as a tree with counts, and statistics with the change since the last run.

"The last run" is the newest snapshot of an earlier nightly run than the live one (a review decision
republishes the same run's snapshot: it is not a run). Frames per snapshot and area are cached, so
paging and filtering a province of a million activities does not rebuild them.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from core.regions import RegionTable
from core.store import Store, snapshots
from serve.scopes import Scope, subtree
from serve.state import Loaded

NATIONAL_CATEGORIES = ("全国学会", "部委")
RULES = {"归口单位所在省级科协": "归口单位在本省科协之下", "按活动所在地区": "没有可用的归口单位，按活动所在地区",
         "归口单位为全国性单位": "归口单位是全国学会或部委"}


@dataclass(frozen=True)
class ActivityFilter:
    place: str = ""  # a city (4401 00) or county code
    unit: str = ""  # a 归口单位: its id or exact name
    q: str = ""  # text in the title or the 归口单位's name
    date_from: str = ""
    date_to: str = ""
    new: bool = False  # newly visible to this area since the last run
    basis: str = ""


@dataclass
class LastRun:
    version: int
    visibility: pd.DataFrame  # activity_id, canonical_org_id, province_code, region_code
    orgs: pd.DataFrame  # org_id, province_code, region_code


def last_run_snapshot(store: Store, live_version: int) -> tuple[int, Path] | None:
    """Version and folder of the newest snapshot of a run before the live snapshot's run."""
    with store.engine.connect() as c:
        rows = c.execute(select(snapshots.c.version, snapshots.c.run_id, snapshots.c.path)
                         .where(snapshots.c.version <= live_version).order_by(snapshots.c.version.desc())).all()
    live_run = next((r.run_id for r in rows if r.run_id is not None), None)
    for r in rows:
        if r.run_id is not None and r.run_id != live_run and Path(r.path).exists():
            return r.version, Path(r.path)
    return None


class AdminData:
    """Cached frames of the live snapshot for the admin pages and the statistics API."""

    def __init__(self, store: Store, regions: RegionTable):
        self.store, self.regions = store, regions
        self._lock = threading.Lock()
        self._version: int | None = None
        self._cache: dict = {}

    def _cached(self, current: Loaded, key, build):
        with self._lock:
            if self._version != current.generation:  # a decision changes units: the lists are built again
                self._version, self._cache = current.generation, {}
            if key in self._cache:
                return self._cache[key]
        value = build()
        with self._lock:
            if self._version == current.generation:
                self._cache[key] = value
        return value

    def last_run(self, current: Loaded) -> LastRun | None:
        def build():
            found = last_run_snapshot(self.store, current.version)
            if found is None:
                return None
            version, path = found
            vis = pd.read_parquet(path / "activity_visibility.parquet",
                                  columns=["activity_id", "canonical_org_id", "province_code", "region_code"])
            orgs = pd.read_parquet(path / "organizations.parquet", columns=["org_id", "province_code", "region_code"])
            return LastRun(version, vis, orgs)
        return self._cached(current, "last", build)

    def activities(self, current: Loaded, area: Scope) -> pd.DataFrame:
        """The area's activities with 归口单位 name, place, date, basis and whether they are new since the last run."""
        def build():
            v = area.activities(current)
            names = current.orgs["name"].reindex(v["canonical_org_id"].to_numpy()).fillna("").to_numpy()
            place = v["region_code"].fillna("").to_numpy(dtype=object)
            unit_place = current.orgs["region_code"].reindex(v["canonical_org_id"].to_numpy()).fillna("").to_numpy()
            place = np.where(place == "", unit_place, place)
            frame = pd.DataFrame({
                "activity_id": v["activity_id"].to_numpy(), "title": v["title"].fillna("").to_numpy(),
                "canonical_org_id": v["canonical_org_id"].to_numpy(), "org_name": names,
                "declared_org_id": v["org_id"].fillna("").to_numpy(), "place": place,
                "city": np.array([p[:4] + "00" if len(p) == 6 else "" for p in place], dtype=object),
                "start_date": v["start_date"].to_numpy(), "basis": v["basis"].to_numpy()})
            last = self.last_run(current)
            if last is None:
                frame["new"] = False
            else:
                before = self.area_ids_last_run(current, last, area)
                frame["new"] = ~frame["activity_id"].isin(before).to_numpy()
            return frame
        return self._cached(current, ("activities", area), build)

    def area_ids_last_run(self, current: Loaded, last: LastRun, area: Scope) -> pd.Index:
        lv = last.visibility
        if area.national:
            return pd.Index(lv["activity_id"])
        if area.province:
            return pd.Index(lv["activity_id"][lv["province_code"].to_numpy() == area.province])
        return pd.Index(lv["activity_id"][lv["canonical_org_id"].isin(subtree(current, area.unit))])

    def place_label(self, code: str) -> str:
        """``广州市 · 天河区`` for a county, ``广州市`` for a city (the province left out)."""
        if code not in self.regions.by_code:
            return code or "（未知地区）"
        names = [self.regions.by_code[c].name for c in self.regions.path(code)]
        return " · ".join(names[1:]) or names[0]

    def place_choices(self, current: Loaded, area: Scope) -> list[tuple[str, str]]:
        """Cities and their counties among the area's activities, in code order."""
        def build():
            frame = self.activities(current, area)
            codes = set(frame["city"]) | set(frame["place"])
            return [(c, self.place_label(c)) for c in sorted(codes)
                    if len(c) == 6 and not c.endswith("0000") and c in self.regions.by_code]
        return self._cached(current, ("places", area), build)

    def root(self, current: Loaded, area: Scope) -> str | None:
        """``area_root``, once per snapshot and area (it scans every unit: milliseconds at a million)."""
        return self._cached(current, ("root", area), lambda: area_root(current, area))

    def unit_names(self, current: Loaded, area: Scope, limit: int = 2000) -> list[str]:
        """The first ``limit`` names of the area's 归口单位, sorted (the page's list to pick one from)."""
        def build():
            names = self.activities(current, area)["org_name"]
            return sorted(set(names[names != ""]))[:limit]
        return self._cached(current, ("unit names", area, limit), build)


def filter_activities(frame: pd.DataFrame, f: ActivityFilter) -> pd.DataFrame:
    """The rows of ``frame`` (``AdminData.activities``) that pass every filter set in ``f``."""
    keep = np.ones(len(frame), dtype=bool)
    if f.place:
        keep &= (frame["city"].to_numpy() == f.place) if f.place.endswith("00") else (frame["place"].to_numpy() == f.place)
    if f.unit:
        keep &= (frame["canonical_org_id"].to_numpy() == f.unit) | (frame["org_name"].to_numpy() == f.unit)
    if f.basis:
        keep &= frame["basis"].to_numpy() == f.basis
    if f.new:
        keep &= frame["new"].to_numpy()
    dates = frame["start_date"]
    if f.date_from:
        keep &= (dates >= pd.Timestamp(f.date_from)).to_numpy()
    if f.date_to:
        keep &= (dates < pd.Timestamp(f.date_to) + pd.Timedelta(days=1)).to_numpy()
    rows = frame[keep] if not keep.all() else frame
    if f.q:
        text = rows["title"].str.contains(f.q, regex=False) | rows["org_name"].str.contains(f.q, regex=False)
        rows = rows[text.to_numpy()]
    return rows


def chain(current: Loaded, org_id: str, stop: str = "", limit: int = 8) -> list[str]:
    """Names from ``org_id`` up its parents to ``stop`` (or the top), at most ``limit``."""
    names, oid = [], org_id
    while oid and oid in current.orgs.index and len(names) < limit:
        names.append(current.orgs.at[oid, "name"])
        if oid == stop:
            break
        oid = current.orgs.at[oid, "parent_id"]
    return names


def why_mine(current: Loaded, data: AdminData, row: dict, area: Scope) -> str:
    """One Chinese sentence: which unit and which rule make this activity the area's."""
    org, name = row["canonical_org_id"], row["org_name"]
    if area.unit:
        up = chain(current, org, current.canonical.get(area.unit, area.unit))
        return f"归口单位「{name}」" + ("是本单位" if len(up) == 1 else f"在本单位之下：{' → '.join(up)}")
    if row["basis"] == "按活动所在地区":
        declared = row["declared_org_id"]
        given = f"填写的 {declared} 不在组织库中" if declared else "归口单位填写为“其他”"
        return f"没有可用的归口单位（{given}），按活动所在地区 {data.place_label(row['place'])} 归入本省（规则：按活动所在地区）"
    if row["basis"] == "归口单位为全国性单位":
        return f"归口单位「{name}」是全国学会或部委（规则：归口单位为全国性单位）"
    up = chain(current, org, data.root(current, area) or "")
    return f"归口单位「{name}」在{up[-1] if up else '本省科协'}之下：{' → '.join(up)}（规则：归口单位所在省级科协）"


def area_root(current: Loaded, area: Scope) -> str | None:
    """The unit at the top of an area: the province's 省级科协, the society or ministry, or 中国科协."""
    if area.unit:
        return current.canonical.get(area.unit, area.unit)
    orgs = current.orgs
    category = "省级科协" if area.province else "中国科协"
    hit = orgs.index[(orgs["category"].to_numpy() == category)
                     & ((orgs["province_code"].to_numpy() == area.province) if area.province else True)]
    return str(hit[0]) if len(hit) else None
