"""Units people name on activities that the registry does not have (组织库中没有自己单位), pure.

Typed host names that link to no unit, grouped by their normalised form (湖北省应急管理局 and 湖北省
应急管理局 with a full-width space are one entry), ranked by how many activities and places use them,
each with a suggested category (what the name says), region (the place the name states, else the one
most of its activities are at) and parent (the local 科协 of that region, by the hierarchy's rule).
"""
from __future__ import annotations

from collections import Counter

import pandas as pd

from core.regions import RegionTable
from core.schema import ASSOCIATION_LEVEL
from hierarchy.build import display_name
from hierarchy.repair import AssociationIndex

MISSING_COLUMNS = ["name_key", "name", "activities", "places", "suggested_category", "suggested_region_code",
                   "suggested_parent_id", "examples"]


def missing_units(hosts: pd.DataFrame, orgs: pd.DataFrame, regions: RegionTable) -> pd.DataFrame:
    """``MISSING_COLUMNS``, most used first. ``hosts``: one row per activity's typed host with its link
    (``how``), the prepared ``name_key``/``name_norm``/``name_region_code`` and inferred ``category``, and
    the activity's ``region_code``."""
    none = hosts[(hosts["how"] == "none").to_numpy() & (hosts["name_key"] != "").to_numpy()]
    # plain counters in one pass: a pandas groupby with a mode per group took minutes at 14,000 names
    groups: dict[str, dict] = {}
    for key, norm, stated, at, category, text, aid in zip(*(none[c].tolist() for c in (
            "name_key", "name_norm", "name_region_code", "region_code", "category", "host_text", "activity_id"))):
        g = groups.setdefault(key, {"norm": norm, "stated": Counter(), "at": Counter(), "category": Counter(),
                                    "texts": Counter(), "activities": set()})
        if stated:
            g["stated"][stated] += 1
        if at:
            g["at"][at] += 1
        g["category"][category] += 1
        g["texts"][text] += 1
        g["activities"].add(aid)
    index = AssociationIndex(orgs) if groups else None
    rows = []
    for key, g in groups.items():
        region = (g["stated"] or g["at"] or Counter({"": 1})).most_common(1)[0][0]
        category = g["category"].most_common(1)[0][0]
        # a 科协 hangs under the 科协 of the level above; every other unit under the local one
        if region and category in ASSOCIATION_LEVEL:
            parent = index.above(regions, category, region)[0]
        else:
            parent = index.local(regions, region)[0] if region else index.root
        rows.append((key, display_name(g["norm"]), len(g["activities"]), len(g["at"]), category, region,
                     parent or "", "|".join(t for t, _ in g["texts"].most_common(3))))
    out = pd.DataFrame(rows, columns=MISSING_COLUMNS).astype({"activities": "int64", "places": "int64"})
    return out.sort_values(["activities", "places", "name_key"], ascending=[False, False, True],
                           ignore_index=True)
