"""The review queue: pending suggestions with both sides described, filtered and paged on the server.

Pure functions over the snapshot frames; the desk keeps the built queue between requests, so a page
of a queue of 100,000 costs a few vectorised filters, not a rebuild.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core.regions import RegionTable
from core.store import pair_key

CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")
BANDS = {"high": (0.85, 1.01), "mid": (0.78, 0.85), "low": (0.0, 0.78)}
BAND_LABELS = {"high": "高（≥0.85）", "mid": "中（0.78–0.85）", "low": "低（<0.78）"}
FEW_UNITS = 5000  # up to this many units, counts are taken among their rows (isin costs per value asked)
SIDE = ["org_id", "canonical", "name", "category", "region_code", "region_path", "province", "city", "parent",
        "children", "activities", "certified"]


def suggestion_id(left: str, right: str) -> str:
    """The id of a suggestion in URLs: its two source ids, smaller first.

    >>> suggestion_id("b2", "a1")
    'a1-b2'
    """
    return pair_key(left, right).replace("|", "-")


def unit_view(frames: dict[str, pd.DataFrame], regions: RegionTable, only=None) -> pd.DataFrame:
    """The canonical units (those in ``only``, or all) with what a reviewer weighs: place names,
    parent, children, activities."""
    all_orgs, vis = frames["organizations"], frames["activity_visibility"]["canonical_org_id"]
    parents = all_orgs["parent_id"]
    if only is not None:
        wanted = list(only)
        all_orgs = all_orgs[all_orgs["org_id"].isin(wanted)]
        if len(wanted) <= FEW_UNITS:  # a cluster's units: counted among their own rows, not over 100,000
            vis, parents = vis[vis.isin(wanted)], parents[parents.isin(wanted)]
    orgs = all_orgs.set_index("org_id", drop=False)
    acts = vis.value_counts()
    children = parents.value_counts()
    names = frames["organizations"]
    names = names[names["org_id"].isin(orgs["parent_id"].unique())].set_index("org_id")["name"]
    codes = pd.Series(orgs["region_code"].unique())
    path = codes.map(regions.path_label)
    city = codes.map(lambda c: regions.prefecture(c) or "")
    province = codes.map(lambda c: regions.province(c) or "")
    by_code = pd.DataFrame({"region_path": path.values, "city": city.values, "place_province": province.values},
                           index=codes.values)
    out = pd.DataFrame({"name": orgs["name"], "category": orgs["category"], "region_code": orgs["region_code"],
                        "certified": orgs["certified"].fillna(False).astype(bool),
                        "parent": orgs["parent_id"].map(names).astype(object).fillna(""),
                        "children": orgs.index.map(children).fillna(0).astype(int),
                        "activities": orgs.index.map(acts).fillna(0).astype(int),
                        "members": orgs["members"]}, index=orgs.index)
    out = out.join(by_code, on="region_code")
    out["region_path"] = out["region_path"].fillna("")
    out["city"] = out["city"].fillna("")
    # the admin province of the unit when it has one, else the province of its place
    out["province"] = orgs["province_code"].fillna("").where(orgs["province_code"].fillna("") != "",
                                                             out["place_province"].fillna(""))
    return out.drop(columns=["place_province"])


def review_queue(frames: dict[str, pd.DataFrame], decided: set[str], regions: RegionTable) -> pd.DataFrame:
    """Pending suggestions, most impact first (certified units, then activities affected), both sides described."""
    s = frames["merge_suggestions"]
    s = s[s["status"] == "pending"].copy()
    s["id"] = pd.Series([suggestion_id(a, b) for a, b in zip(s["left_org_id"].tolist(), s["right_org_id"].tolist())],
                        index=s.index, dtype=object)
    s["key"] = s["id"].str.replace("-", "|", regex=False)  # the decisions' pair key, kept for the desk's filter
    s = s[~s["key"].isin(decided)]
    named = set(s["left_org_id"]) | set(s["right_org_id"])
    # looked up among the records the suggestions name only: a decision rebuilds a few rows, not 100,000
    idm = frames["id_map"]
    canon = idm[idm["source_org_id"].isin(named)].set_index("source_org_id")["canonical_org_id"]
    records = frames["records"]
    records = records[records["org_id"].isin(named)].set_index("org_id")
    units = unit_view(frames, regions, only=set(s["left_org_id"].map(canon)) | set(s["right_org_id"].map(canon)))
    for side in ("left", "right"):
        ids = s[f"{side}_org_id"]
        c = ids.map(canon)
        s[f"{side}_canonical"] = c
        s[f"{side}_name"] = ids.map(records["name"]).fillna("").astype(str).str.strip()
        s[f"{side}_category"] = ids.map(records["category"])
        for col in ("region_code", "region_path", "province", "city", "parent", "children", "activities",
                    "certified"):
            s[f"{side}_{col}"] = c.map(units[col])
        for col in ("children", "activities"):
            s[f"{side}_{col}"] = s[f"{side}_{col}"].fillna(0).astype(int)
        s[f"{side}_certified"] = s[f"{side}_certified"].fillna(False).astype(bool)
        for col in ("region_code", "region_path", "province", "city", "parent", "category"):
            s[f"{side}_{col}"] = s[f"{side}_{col}"].fillna("").astype(str)  # (no rows: float otherwise)
    s["explanation"] = with_place_names(s["explanation"], regions)
    s["activities"] = s["left_activities"] + s["right_activities"]
    s["certified"] = s["left_certified"] | s["right_certified"]
    # what the search box looks in: both ids, names and places
    s["haystack"] = (s["left_org_id"] + " " + s["right_org_id"] + " " + s["left_name"] + " " + s["right_name"] + " "
                     + s["left_region_path"] + " " + s["right_region_path"]).astype(object).str.lower()
    return ordered(s)


def with_place_names(explanations: pd.Series, regions: RegionTable) -> pd.Series:
    """The region codes the matcher's explanations cite, as the places' names (once per distinct text).

    >>> from core.regions import default_regions
    >>> with_place_names(pd.Series(["一条没有地区信息（另一条在 210303）"]), default_regions()).tolist()
    ['一条没有地区信息（另一条在 辽宁省鞍山市铁西区）']
    """
    def named(text: str) -> str:
        return CODE.sub(lambda m: regions.path_names(m.group(0)) or m.group(0), text)

    distinct = explanations.dropna().unique()
    return explanations.map(dict(zip(distinct, (named(t) for t in distinct))))


ORDER = ("certified", "activities", "score")  # most impact first, each descending
FEW_FRESH = 64  # up to this many rebuilt rows are slotted into the kept order, not sorted with it


def _order_keys(queue: pd.DataFrame, rows: np.ndarray) -> list[np.ndarray]:
    return [-queue[c].to_numpy()[rows].astype(float) for c in ORDER]


def ordered(queue: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
    """Most impact first: certified units, then activities affected, then score (stable); ``rows``:
    the positions to keep, taken in the same single copy.

    >>> q = pd.DataFrame({"certified": [False, True, False], "activities": [1, 0, 5], "score": [0.9, 0.8, 0.7]})
    >>> ordered(q)["activities"].tolist()
    [0, 5, 1]
    >>> ordered(q, np.array([0, 2]))["activities"].tolist()
    [5, 1]
    """
    rows = np.arange(len(queue)) if rows is None else rows
    return queue.take(rows[np.lexsort(_order_keys(queue, rows)[::-1])]).reset_index(drop=True)


def _slotted(queue: pd.DataFrame, keep: np.ndarray, fresh: pd.DataFrame) -> pd.DataFrame:
    """The ``keep`` rows of the ordered ``queue`` with the ordered ``fresh`` rows slotted in where the
    order puts them (after kept rows of equal rank, as a stable sort of both would): runs of the
    queue are sliced, not taken, so a decision costs one concatenation of 100,000 rows, not a sort."""
    kept = _order_keys(queue, keep)
    slots = []
    for f in zip(*_order_keys(fresh, np.arange(len(fresh)))):
        before = kept[0] < f[0]
        tied = kept[0] == f[0]
        for k, v in zip(kept[1:], f[1:]):
            before |= tied & (k < v)
            tied &= k == v
        slots.append(int((before | tied).sum()))
    pieces, start = [], 0
    for i, slot in enumerate(slots + [len(keep)]):
        segment = keep[start:slot]
        if len(segment):
            breaks = np.flatnonzero(np.diff(segment) != 1) + 1
            for run in np.split(segment, breaks):
                pieces.append(queue.iloc[run[0]:run[-1] + 1])
        if i < len(slots):
            pieces.append(fresh.iloc[i:i + 1])
        start = slot
    return pd.concat(pieces, ignore_index=True) if pieces else queue.iloc[0:0]


def refreshed(queue: pd.DataFrame, frames: dict[str, pd.DataFrame], sources: set[str], decided: set[str],
              regions: RegionTable) -> pd.DataFrame:
    """``queue`` after a decision that changed the units of ``sources``: their rows built again from
    ``frames``, the rest kept (a decision changes only suggestions between records of the units it
    touched, and must not rebuild a queue of 100,000)."""
    s = frames["merge_suggestions"]
    touched = s["left_org_id"].isin(sources) | s["right_org_id"].isin(sources)
    fresh = review_queue(dict(frames, merge_suggestions=s[touched]), decided, regions)
    stale = (queue["left_org_id"].isin(sources) | queue["right_org_id"].isin(sources)).to_numpy()
    if len(fresh) <= FEW_FRESH:
        return _slotted(queue, np.flatnonzero(~stale), fresh)
    both = pd.concat([queue, fresh], ignore_index=True) if len(fresh) else queue
    return ordered(both, np.flatnonzero(np.concatenate([~stale, np.ones(len(fresh), dtype=bool)])))


def filter_queue(queue: pd.DataFrame, province: str | None = None, category: str | None = None,
                 band: str | None = None, city: str | None = None, q: str | None = None,
                 certified: bool | None = None, min_activities: int = 0) -> pd.DataFrame:
    """The suggestions where either side matches every given filter (``q``: id, name or place text)."""
    if not (province or category or band in BANDS or city or (q and q.strip()) or certified is not None
            or min_activities):
        return queue  # no filter: the queue itself, not a copy of 100,000 rows
    keep = pd.Series(True, index=queue.index)
    for value, col in ((province, "province"), (city, "city"), (category, "category")):
        if value:
            keep &= (queue[f"left_{col}"] == value) | (queue[f"right_{col}"] == value)
    if band in BANDS:
        lo, hi = BANDS[band]
        keep &= (queue["score"] >= lo) & (queue["score"] < hi)
    if certified is not None:
        keep &= queue["certified"] == certified
    if min_activities:
        keep &= queue["activities"] >= min_activities
    if q and q.strip():
        keep &= queue["haystack"].str.contains(q.strip().lower(), regex=False)
    return queue[keep]


def places(queue: pd.DataFrame, regions: RegionTable) -> list[dict]:
    """Provinces of the queue, each with its cities, Chinese names and how many suggestions name it
    (a suggestion naming one place on both sides counts once; a city counts where its side's province
    holds it). Counted column-wise: every page load after a decision asks again, over 100,000 rows.

    >>> from core.regions import default_regions
    >>> q = pd.DataFrame({"left_province": ["440000", "440000", ""], "right_province": ["440000", "110000", "440000"],
    ...                   "left_city": ["440100", "440100", ""], "right_city": ["440100", "", "440300"]})
    >>> [(p["name"], p["count"], [(c["name"], c["count"]) for c in p["cities"]]) for p in places(q, default_regions())]
    [('北京市', 1, []), ('广东省', 3, [('广州市', 2), ('深圳市', 1)])]
    """
    lp, rp = queue["left_province"].astype(str), queue["right_province"].astype(str)
    lc, rc = queue["left_city"].astype(str), queue["right_city"].astype(str)

    def counted(left: pd.Series, right: pd.Series, lkeep: pd.Series, rkeep: pd.Series) -> pd.Series:
        both = left[lkeep & rkeep & (left == right)]  # named on both sides: one suggestion, counted once
        n = left[lkeep].value_counts().add(right[rkeep].value_counts(), fill_value=0)
        n = n.sub(both.value_counts(), fill_value=0)
        return n[n > 0].astype(int).sort_index()

    provinces = counted(lp, rp, lp != "", rp != "")
    cities = counted(lc, rc, (lp != "") & (lc.str[:2] == lp.str[:2]), (rp != "") & (rc.str[:2] == rp.str[:2]))
    by_province: dict[str, list] = {}
    for c, k in cities.items():
        by_province.setdefault(c[:2] + "0000", []).append((c, int(k)))

    def name(code: str) -> str:
        return regions.by_code[code].name if code in regions.by_code else code

    return [{"code": p, "name": name(p), "count": int(n),
             "cities": [{"code": c, "name": name(c), "count": k} for c, k in by_province.get(p, [])]}
            for p, n in provinces.items()]


def cluster_around(queue: pd.DataFrame, sid: str, most: int) -> tuple[set[str], pd.DataFrame, bool]:
    """The units the pending suggestions connect to suggestion ``sid`` (at most ``most``), the
    suggestions between them, and whether the component was cut."""
    hit = queue[queue["id"] == sid]
    if hit.empty:
        raise LookupError(f"没有待审核的合并建议 {sid}")
    first = {hit.iloc[0]["left_canonical"], hit.iloc[0]["right_canonical"]}
    units, edges = set(first), hit
    while len(units) < most:  # a frontier at a time: two vectorised lookups per step, not a graph of 100,000
        edges = queue[queue["left_canonical"].isin(units) | queue["right_canonical"].isin(units)]
        grown = units | set(edges["left_canonical"]) | set(edges["right_canonical"])
        if grown == units:
            break
        units = grown
    cut = len(units) >= most
    if cut:
        units = set(sorted(units - first)[:most - 2]) | first
    edges = queue[queue["left_canonical"].isin(units) & queue["right_canonical"].isin(units)]
    return units, edges, cut


def describe_units(frames: dict[str, pd.DataFrame], regions: RegionTable, units: set[str], survivor: str) -> list[dict]:
    """The units as the cluster view shows them (the survivor first), each with its records."""
    view = unit_view(frames, regions, only=units)
    idm = frames["id_map"]
    members = idm[idm["canonical_org_id"].isin(units)]
    rec = frames["records"]
    rec = rec[rec["org_id"].isin(members["source_org_id"].tolist())].set_index("org_id")
    out = []
    for u in sorted(units, key=lambda x: (x != survivor, x)):
        mine = members.loc[members["canonical_org_id"] == u, "source_org_id"].tolist()
        out.append({"org_id": u, **{k: plain(view.at[u, k]) for k in view.columns},
                    "records": [{"org_id": m, "name": str(rec.at[m, "name"]).strip(), "category": rec.at[m, "category"],
                                 "region_code": rec.at[m, "region_code"], "certified": bool(rec.at[m, "certified"])}
                                for m in mine]})
    return out


def describe_unit(frames: dict[str, pd.DataFrame], regions: RegionTable, org_id: str) -> dict:
    """The unit record ``org_id`` belongs to, with every record merged into it and how."""
    idm = frames["id_map"]
    hit = idm[idm["source_org_id"] == org_id]
    if hit.empty:
        raise LookupError(f"组织库中没有 ID 为 {org_id} 的记录")
    canonical = hit["canonical_org_id"].iloc[0]
    unit = describe_units(frames, regions, {canonical}, canonical)[0]
    how = dict(zip(idm["source_org_id"], idm["how"]))
    records = [dict(r, how=how[r["org_id"]]) for r in unit.pop("records")]
    return {"org_id": org_id, "canonical": canonical, "unit": unit, "records": records}


def row_json(r: dict) -> dict:
    """A queue row as the API returns it."""
    out = {"id": r["id"], "left_org_id": r["left_org_id"], "right_org_id": r["right_org_id"],
           "score": float(r["score"]), "explanation": r["explanation"], "status": "pending",
           "activities": int(r["activities"]), "certified": bool(r["certified"])}
    for side in ("left", "right"):
        out[side] = {k: plain(r.get(f"{side}_{k}")) for k in SIDE}
    return out


def plain(v):
    """A numpy scalar as the Python value JSON takes."""
    return v.item() if hasattr(v, "item") else v
