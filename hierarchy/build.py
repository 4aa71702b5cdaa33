"""Canonical organizations from source records and the id map, and the graph over them.

Each canonical organization takes the evidence of all its merged records: the category the name
and the records agree on, the most specific place they agree on, and every declared parent.
"""
from __future__ import annotations

import re
from collections import Counter

import networkx as nx
import numpy as np
import pandas as pd

from core.regions import RegionTable
from core.normalise import REMARK
from core.schema import ASSOCIATION_BY_LEVEL, ASSOCIATION_LEVEL

SOCIETY_SUFFIXES = ("学会", "协会", "研究会", "联合会", "促进会")


def display_name(norm: str) -> str:
    """The name shown to people: normalised, without remarks, keeping meaningful brackets.

    >>> display_name("中国地质大学（北京）科学技术协会（重复）")
    '中国地质大学（北京）科学技术协会'
    """
    prev = None
    while prev != norm:
        prev, norm = norm, REMARK.sub("", norm)
    return norm


def name_category(key: str, head: str, suffix: str, name_level: int) -> str | None:
    """The category a name states by itself, if any.

    >>> name_category("广州市科学技术协会", "", "科学技术协会", 2)
    '市级科协'
    """
    if key == "中国科学技术协会":
        return "中国科协"
    if not head and suffix == "科学技术协会" and name_level in ASSOCIATION_BY_LEVEL:
        return ASSOCIATION_BY_LEVEL[name_level]
    if key.startswith(("中国", "中华")) and suffix in SOCIETY_SUFFIXES and not name_level:
        return "全国学会"
    return None


def _fallback_category(key: str, suffix: str, has_region: bool) -> str:
    if "公司" in suffix or "公司" in key:
        return "企业科协"
    if re.search(r"(大学|学院)(科学技术协会)?$", key):
        return "高校科协"
    if suffix in ("学会", "协会", "研究会"):
        return "全国学会" if key.startswith("中国") and not has_region else "地方学会"
    return "其他"


def choose_category(name_says: str | None, declared: list[str], key: str, suffix: str, has_region: bool,
                    name_has_place: bool = False) -> str:
    """Category of a canonical organization from what its name says and what its records declare.

    >>> choose_category(None, ["全国学会"], "湖南省造船工程学会", "学会", True, name_has_place=True)
    '地方学会'
    """
    if name_says:
        return name_says
    votes = Counter(c for c in declared if c)
    for category, _ in votes.most_common():
        # 省/市/县级科协 and 中国科协 are only what a bare 科协 name says they are
        if category in ASSOCIATION_LEVEL or category == "中国科协":
            continue
        if category == "全国学会" and name_has_place:
            return "地方学会"  # a society named after a province or city is a local one
        return category
    return _fallback_category(key, suffix, has_region)


def typed_category(key: str, head: str, suffix: str, name_level: int, given: str, has_region: bool,
                   name_has_place: bool) -> str:
    """The category of a unit someone typed (a new unit, a host of an activity): what its name says,
    else the one given, else what its words suggest.

    >>> typed_category("广州市科学技术协会", "", "科学技术协会", 2, "", True, True)
    '市级科协'
    """
    return choose_category(name_category(key, head, suffix, name_level), [given], key, suffix, has_region,
                           name_has_place)


def merge_regions(regions: RegionTable, codes: list[str]) -> str:
    """The most specific place consistent with the first (the survivor's) of ``codes``."""
    best = ""
    for code in codes:
        if not code:
            continue
        if not best or regions.contains(best, code):
            best = code
    return best


def level_place(regions: RegionTable, category: str, code: str) -> str:
    """A 省级/市级/县级科协's place is its province, prefecture or county, whatever finer code a
    member record carries (四川省科学技术协会 with 510107 is still 510000): a finer code is a wrong code.

    >>> from core.regions import default_regions
    >>> level_place(default_regions(), "省级科协", "510107"), level_place(default_regions(), "企业科协", "510107")
    ('510000', '510107')
    """
    level = ASSOCIATION_LEVEL.get(category)
    if not level or not code or code not in regions.by_code or regions.level(code) <= level:
        return code
    return next((c for c in regions.path(code) if regions.level(c) == level), code)


def _organization(regions: RegionTable, canon: dict, cid: str, g: dict[str, list]) -> dict:
    """One merged unit from its records' columns (lists, survivor first)."""
    region = merge_regions(regions, g["region_best"])
    says = next((c for c in (name_category(k, h, x, int(lv)) for k, h, x, lv in
                             zip(g["name_key"], g["name_head"], g["name_suffix"], g["name_region_level"])) if c), None)
    category = choose_category(says, g["category"], g["name_key"][0], g["name_suffix"][0], bool(region),
                               bool(g["name_region_level"][0]))
    region = level_place(regions, category, region)
    name = display_name(g["name_norm"][0]) or g["name"][0]
    aliases = sorted({n.strip().replace("|", "/") for n in g["name"]} - {name, ""})
    raw_parents = [p for p in g["parent_id"] if p]
    declared = [canon.get(p, p) for p in raw_parents]
    return {
        "org_id": cid, "name": name, "category": category, "region_code": region,
        "declared_parents": [p for p, _ in Counter(d for d in declared if d != cid).most_common()],
        "raw_parents": raw_parents, "aliases": "|".join(aliases),
        "certified": bool(any(g["certified"])), "members": len(g["name"]),
    }


def build_organizations(records: pd.DataFrame, id_map: pd.DataFrame, regions: RegionTable) -> pd.DataFrame:
    """One row per canonical organization with its merged evidence.

    Columns: org_id, name, category, region_code, region_level, province_code (of the region),
    declared_parents (canonical ids, most frequent first), raw_parents (source ids), aliases,
    certified, members. Singletons (most of a registry) take the vectorised path.
    """
    canon = dict(zip(id_map["source_org_id"].tolist(), id_map["canonical_org_id"].tolist()))
    f = records.assign(canonical=records["org_id"].map(canon))
    size = f.groupby("canonical")["org_id"].transform("size")
    single = f[size == 1]
    names = [display_name(n) or raw for n, raw in zip(single["name_norm"].tolist(), single["name"].tolist())]
    cols = [single[c].tolist() for c in ("name_key", "name_head", "name_suffix", "name_region_level", "category",
                                         "region_best")]
    cats = [choose_category(name_category(k, h, x, int(lv)), [c], k, x, bool(r), bool(lv))
            for k, h, x, lv, c, r in zip(*cols)]
    singles = pd.DataFrame({
        "org_id": single["org_id"].to_numpy(), "name": names, "category": cats,
        "region_code": [level_place(regions, c, r) for c, r in zip(cats, single["region_best"].tolist())],
        "declared_parents": [[canon.get(p, p)] if p and canon.get(p, p) != o else []
                             for p, o in zip(single["parent_id"].tolist(), single["org_id"].tolist())],
        "raw_parents": [[p] if p else [] for p in single["parent_id"]],
        "aliases": ["" if n == raw.strip() else raw.strip().replace("|", "/")
                    for n, raw in zip(names, single["name"].tolist())],
        "certified": single["certified"].to_numpy().astype(bool), "members": 1,
    })
    multi = f[size > 1].assign(is_survivor=lambda d: d["org_id"] == d["canonical"])
    multi = multi.sort_values(["canonical", "is_survivor"], ascending=[True, False], ignore_index=True)
    cols = ["name", "name_norm", "name_key", "name_head", "name_suffix", "name_region_level", "category",
            "region_best", "parent_id", "certified"]
    lists = {c: multi[c].tolist() for c in cols}
    groups = multi.groupby("canonical", sort=False).indices
    merged = pd.DataFrame([_organization(regions, canon, cid, {c: [lists[c][i] for i in idx] for c in cols})
                           for cid, idx in groups.items()], columns=singles.columns)
    orgs = pd.concat([singles, merged], ignore_index=True).sort_values("org_id", ignore_index=True)
    # the same dtypes whichever part is empty (an incremental run builds a few units)
    orgs = orgs.astype({"certified": bool, "members": np.int64})
    orgs["region_level"] = [regions.level(r) if r else 0 for r in orgs["region_code"]]
    orgs["province_code"] = [regions.province(r) or "" if r else "" for r in orgs["region_code"]]
    return orgs


def to_graph(orgs: pd.DataFrame, parent_col: str = "parent_id") -> nx.DiGraph:
    """Directed graph parent → child over canonical organizations (node attributes: the org columns)."""
    g = nx.DiGraph()
    g.add_nodes_from((o, {"category": c, "region_code": r}) for o, c, r in
                     zip(orgs["org_id"].tolist(), orgs["category"].tolist(), orgs["region_code"].tolist()))
    g.add_edges_from((p, o) for o, p in zip(orgs["org_id"].tolist(), orgs[parent_col]) if p and p in g)
    return g
