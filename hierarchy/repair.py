"""Parents by the contract's rules, keeping declared parents where they agree with the evidence.

A science association's parent follows from its level and place (县→市→省→中国科协); a local unit
hangs under the 科协 of its place. A declared parent is kept when it is of an allowed category and
its place agrees; it wins over the rule when it is *more precise* (the unit's own place is coarse).
Because every parent is a 科协 one level up, the result is a branching by construction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.lookups import member_of
from core.regions import RegionTable
from core.schema import ASSOCIATION_BY_LEVEL, ASSOCIATION_LEVEL, LOCAL_UNIT_CATEGORIES

ROOT, MINISTRY, NATIONAL_SOCIETY = "中国科协", "部委", "全国学会"
ALLOWED_PARENTS = {
    NATIONAL_SOCIETY: {ROOT}, "省级科协": {ROOT}, "市级科协": {"省级科协"}, "县级科协": {"市级科协", "省级科协"},
    **{c: {"省级科协", "市级科协", "县级科协"} for c in LOCAL_UNIT_CATEGORIES},
}


@dataclass(frozen=True)
class Placement:
    parent_id: str
    reason: str
    confidence: float
    needs_review: bool = False


class AssociationIndex:
    """The 科协 of each place (the strongest one where unmerged duplicates remain)."""

    def __init__(self, orgs: pd.DataFrame):
        # only 科协 rows matter: sorting the other nine in ten units of a million cost seconds
        tree = orgs[member_of(orgs["category"], set(ASSOCIATION_LEVEL) | {ROOT})]
        ranked = tree.sort_values(["certified", "members", "org_id"], ascending=[False, False, True])
        self.at: dict[tuple[str, str], str] = {}
        for oid, cat, code in zip(ranked["org_id"].tolist(), ranked["category"].tolist(), ranked["region_code"].tolist()):
            if cat in ASSOCIATION_LEVEL and code:
                self.at.setdefault((cat, code), oid)
        roots = ranked[ranked["category"] == ROOT]["org_id"].tolist()
        self.root = roots[0] if roots else ""

    def local(self, regions: RegionTable, code: str) -> tuple[str, int]:
        """The 科协 nearest to ``code`` going up (county, prefecture, province) and its level."""
        for c in reversed(regions.path(code)):
            level = regions.level(c)
            oid = self.at.get((_association_of_level(level), c))
            if oid:
                return oid, level
        return "", 0

    def above(self, regions: RegionTable, category: str, code: str) -> tuple[str, bool]:
        """Rule parent of a 科协 of ``category`` at ``code``; second value: it is the exact level."""
        if category == "省级科协":
            return self.root, True
        path = regions.path(code)
        if category == "市级科协":
            return self.at.get(("省级科协", path[0]), ""), True
        # 县级科协: its prefecture's 科协; municipalities and 省直辖 counties have none
        pref = regions.prefecture(code)
        if pref:
            oid = self.at.get(("市级科协", pref), "")
            if oid:
                return oid, True
            return self.at.get(("省级科协", path[0]), ""), False
        return self.at.get(("省级科协", path[0]), ""), True


def _association_of_level(level: int) -> str:
    return ASSOCIATION_BY_LEVEL[level]


def _consistent(regions: RegionTable, org: dict, parent: dict | None) -> bool:
    if parent is None or parent["category"] not in ALLOWED_PARENTS.get(org["category"], set()):
        return False
    if parent["category"] == ROOT:
        return True
    a, b = org["region_code"], parent["region_code"]
    if not b:
        return False
    if not a:
        return True
    if regions.province(a) != regions.province(b):
        return False
    return regions.compatible(a, b)


def place_one(regions: RegionTable, index: AssociationIndex, org: dict, by_id: dict) -> Placement:
    """The parent of one canonical organization, with the reason in Chinese."""
    cat, code = org["category"], org["region_code"]
    declared = [by_id.get(p) for p in org["declared_parents"]]
    good = [p for p in declared if _consistent(regions, org, p)]
    if cat == MINISTRY:
        return Placement("", "部委不在科协组织树中", 1.0)
    if cat == ROOT:
        if org["org_id"] == index.root:
            return Placement("", "中国科协是组织树的根", 1.0)
        return Placement(index.root, "疑似中国科协的重复记录，暂挂在中国科协下", 0.5, True)
    if cat in (NATIONAL_SOCIETY, "省级科协"):
        return Placement(index.root, "全国学会和省级科协挂在中国科协下", 1.0) if index.root else \
            Placement("", "组织库中没有中国科协", 0.0, True)
    if cat in ASSOCIATION_LEVEL:
        rule, exact = index.above(regions, cat, code) if code else ("", False)
        if rule and exact:
            return Placement(rule, "按科协级别和所在地区确定上级", 1.0)
        if good:
            return Placement(good[0]["org_id"], "保留与地区一致的声明上级", 0.8)
        if rule:
            return Placement(rule, "所属市没有科协记录，暂挂在省级科协下", 0.6, True)
        return Placement("", "无法确定上级（缺少地区且声明的上级不符），待人工复核", 0.0, True)
    # local units: the 科协 of their place, or a declared 科协 that places them more precisely
    rule, rule_level = index.local(regions, code) if code else ("", 0)
    finer = [p for p in good if p["region_code"] and (not code or regions.contains(code, p["region_code"]))
             and regions.level(p["region_code"]) > rule_level]
    if finer:
        return Placement(finer[0]["org_id"], "声明的上级与地区一致且更精确，保留", 0.9)
    if rule:
        exact = rule_level == org["region_level"]
        return Placement(rule, "按所在地区挂到当地科协" if exact else "当地没有科协记录，挂到上一级科协",
                         1.0 if exact else 0.7, not exact)
    if good:
        return Placement(good[0]["org_id"], "缺少地区，保留声明的上级", 0.7)
    return Placement("", "无法确定上级（缺少地区且没有可用的声明上级），待人工复核", 0.0, True)


def place_parents(orgs: pd.DataFrame, regions: RegionTable, rows: np.ndarray | None = None,
                  index: AssociationIndex | None = None) -> pd.DataFrame:
    """``parent_id, reason, confidence, needs_review`` of the units at positions ``rows`` (all by default).

    Only those units and the parents they declare are turned into dicts: an incremental run places
    the few units whose evidence changed against the whole registry.
    """
    index = index or AssociationIndex(orgs)
    cols = ["org_id", "category", "region_code", "region_level", "declared_parents"]
    rows = np.arange(len(orgs)) if rows is None else np.asarray(rows, dtype=np.int64)
    # plain lists: DataFrame.to_dict is slow on a million rows with list cells
    values = [orgs[c].to_numpy(dtype=object) for c in cols]
    mine = [dict(zip(cols, v)) for v in zip(*(col[rows] for col in values))]
    wanted = {p for r in mine for p in r["declared_parents"]}
    at = pd.Index(values[0]).get_indexer(list(wanted))
    found = at[at >= 0]
    by_id = {r["org_id"]: r for r in (dict(zip(cols, v)) for v in zip(*(col[found] for col in values)))}
    placed = [place_one(regions, index, r, by_id) for r in mine]
    return pd.DataFrame({"parent_id": pd.Series([p.parent_id for p in placed], dtype="str"),
                         "reason": pd.Series([p.reason for p in placed], dtype="str"),
                         "confidence": np.array([p.confidence for p in placed], dtype=float),
                         "needs_review": np.array([p.needs_review for p in placed], dtype=bool)})


def repair_parents(orgs: pd.DataFrame, regions: RegionTable) -> pd.DataFrame:
    """``orgs`` with ``parent_id, reason, confidence, needs_review`` filled in by the rules."""
    placed = place_parents(orgs, regions)
    return orgs.assign(**{c: placed[c].to_numpy() for c in placed.columns})
