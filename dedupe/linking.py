"""Typed unit names (an activity's 主办/承办单位) linked to canonical units, column-wise (pure).

The typed names are prepared like registry records (``core.records``) and paired with the registry's
records by the nightly blocking keys (``dedupe.blocking.record_keys``), then scored by the nightly
scorer (``dedupe.scoring.score_pairs``): one copy of those rules. ``how`` says how sure a link is:
``exact`` (the name of a record of the unit, scored at or above the automatic threshold), ``auto``
(at or above it), ``review`` (at or above the review threshold: a person should look), ``none``.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core.schema import ASSOCIATION_LEVEL
from dedupe.blocking import common_heads, record_keys
from dedupe.compare import HeadPlaces
from dedupe.scoring import score_pairs

# a 科协 of a place is named by its place and level: only a 科协 of the same level can be it
# (a university's 科协 in 广州 is never 广州市科协)
ASSOCIATIONS = set(ASSOCIATION_LEVEL) | {"中国科协"}
SEPARATORS = re.compile(r"[、，,；;／/\n]+")
MAX_BLOCK = 200  # registry records per key a typed name is paired with (a larger block is a common word)
# what blocking and scoring read of a record
SCORED_COLUMNS = ["org_id", "name_key", "name_head", "name_suffix", "name_region_code", "name_region_level",
                  "name_prefecture", "name_province", "region_text", "region_best", "region_level", "prefecture_best",
                  "province_best", "category", "place_token", "national", "place_candidates"]
HOST_COLUMNS = ["activity_id", "host_text", "canonical_org_id", "score", "how"]  # activity_hosts.csv


def compatible(a: str, b: str) -> bool:
    """Whether units of categories ``a`` and ``b`` can be one unit (a 科协 only with its own level).

    >>> compatible("市级科协", "高校科协"), compatible("企业科协", "其他"), compatible("县级科协", "县级科协")
    (False, True, True)
    """
    if a in ASSOCIATIONS or b in ASSOCIATIONS:
        return a == b
    return True


def split_hosts(activities: pd.DataFrame) -> pd.DataFrame:
    """One row per typed host of each activity (``activity_id, host_text, region_code``), in the order
    typed, each name once per activity; separators are 、，,；;/ and line breaks.

    >>> a = pd.DataFrame({"activity_id": ["1", "2"], "region_code": ["420100", ""],
    ...                   "host_units": ["湖北省应急管理局、湖北省科协，湖北省科协", ""]})
    >>> split_hosts(a)["host_text"].tolist()
    ['湖北省应急管理局', '湖北省科协']
    """
    ids, texts, codes = [], [], []
    for aid, text, code in zip(activities["activity_id"].tolist(), activities["host_units"].tolist(),
                               activities["region_code"].tolist()):
        if not isinstance(text, str) or not text.strip():
            continue
        for name in dict.fromkeys(n.strip() for n in SEPARATORS.split(text)):
            if name:
                ids.append(aid)
                texts.append(name)
                codes.append(code or "")
    return pd.DataFrame({"activity_id": pd.Series(ids, dtype="str"), "host_text": pd.Series(texts, dtype="str"),
                         "region_code": pd.Series(codes, dtype="str")})


def link_typed(typed: pd.DataFrame, records: pd.DataFrame, id_map: pd.DataFrame, auto: float,
               review: float) -> pd.DataFrame:
    """For each prepared typed name (rows of ``typed``, its ``category`` inferred): the best unit
    ``canonical_org_id, score, how, note`` (index as ``typed``'s)."""
    n = len(records)
    both = pd.concat([records[SCORED_COLUMNS], typed[SCORED_COLUMNS]], ignore_index=True)
    keys = record_keys(both, common_heads(records))
    registry_side = keys[keys["rid"] < n]
    sizes = registry_side["key"].value_counts()
    registry_side = registry_side[registry_side["key"].map(sizes).to_numpy() <= MAX_BLOCK]
    pairs = keys[keys["rid"] >= n].merge(registry_side, on="key", suffixes=("_r", "_l"))
    pairs = pairs[["rid_l", "rid_r"]].drop_duplicates()
    best = pd.DataFrame({"canonical_org_id": "", "score": 0.0, "how": "none", "note": ""}, index=typed.index)
    if pairs.empty:
        return best
    scored = score_pairs(both, pairs.reset_index(drop=True), HeadPlaces(records))
    cats = both["category"].to_numpy(dtype=object)
    ok = np.fromiter((compatible(x, y) for x, y in zip(cats[scored["rid_l"]], cats[scored["rid_r"]])), dtype=bool,
                     count=len(scored))
    scored = scored[ok]
    canonical = pd.Series(id_map["canonical_org_id"].to_numpy(), index=id_map["source_org_id"].to_numpy())
    scored = scored.assign(canonical_org_id=records["org_id"].to_numpy()[scored["rid_l"]],
                           same_name=both["name_key"].to_numpy()[scored["rid_l"]] ==
                           both["name_key"].to_numpy()[scored["rid_r"]])
    top = scored.sort_values(["rid_r", "score", "same_name"], ascending=[True, False, False]).drop_duplicates("rid_r")
    # the canonical ids of the best pairs only (the sort does not read them): at a million records mapping
    # every scored pair's id was a twentieth of host linking
    top = top.assign(canonical_org_id=top["canonical_org_id"].map(canonical))
    rows = typed.index[top["rid_r"].to_numpy() - n]
    score = top["score"].to_numpy(dtype=float)
    how = np.select([score >= auto, score >= review], [np.where(top["same_name"], "exact", "auto"), "review"], "none")
    best.loc[rows, "score"] = np.round(score, 4)
    best.loc[rows, "how"] = how
    best.loc[rows, "canonical_org_id"] = np.where(how != "none", top["canonical_org_id"].to_numpy(dtype=object), "")
    best.loc[rows, "note"] = top["note"].astype("str").to_numpy()
    return best
