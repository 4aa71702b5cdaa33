"""What the review queue keeps of the pairs the clustering leaves for a person, by the evidence beyond the
name and the code (``core.evidence``: where a record's declared parent or its activities place it). Pure.

A common name (康润物流有限公司科协 in 鸡西 and in 哈尔滨) leaves a record without a county compatible with
several units; at a million records most such suggestions join two different units. When the coarser
record's parent or activities place it where the other record is not, the pair stays apart; a unique
name keeps its suggestion (a wrong parent is likelier than a second firm of that name) with the
conflict in its explanation, and a pair the evidence supports says so.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

_DIGITS = {1: 2, 2: 4, 3: 6}
COMMON_NAME = "常见名称"  # the scorers' notes of a name several units share (dedupe.scoring, dedupe.compare)
AGREES = "；上级单位或活动所在地区与另一方相符"
CONFLICTS = "；但上级单位或活动所在地区与另一方不同，请核对"


def compatible(a: str, level_a: int, b: str, level_b: int) -> bool:
    """Two GB/T 2260 codes are the same place or one contains the other (by their leading digits).

    >>> compatible("230300", 2, "230302", 3), compatible("230100", 2, "230302", 3), compatible("230000", 1, "230100", 2)
    (True, False, True)
    """
    d = _DIGITS.get(min(level_a or 3, level_b or 3), 6)
    return a[:d] == b[:d]


def evidence_relation(records: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per pair: 1 when the coarser record's evidence fits the other's place, -1 when it conflicts, 0 when
    there is no evidence or the places are not coarse/fine (then the codes decided).

    >>> r = pd.DataFrame({"region_best": ["230300", "", "230000"], "region_level": [2, 0, 1],
    ...                   "evidence_best": ["", "230100", "230300"], "evidence_level": [0, 2, 2]})
    >>> evidence_relation(r, np.array([0, 0, 1]), np.array([1, 2, 2])).tolist()
    [-1, 1, 1]
    """
    best = records["region_best"].to_numpy(dtype=object)
    level = records["region_level"].to_numpy(np.int64)
    ev = records["evidence_best"].to_numpy(dtype=object)
    ev_level = records["evidence_level"].to_numpy(np.int64)
    out = np.zeros(len(left), dtype=np.int64)
    for i, (a, b) in enumerate(zip(left.tolist(), right.tolist())):
        if best[a] and best[b] and level[a] == level[b]:
            continue  # both at one level: the codes decided (same place, or never a pair)
        coarse, fine = (a, b) if not best[a] or (best[b] and level[a] < level[b]) else (b, a)
        if not ev[coarse]:
            continue
        if best[fine]:
            place, place_level = best[fine], level[fine]
        elif ev[fine]:
            place, place_level = ev[fine], ev_level[fine]
        else:
            continue
        out[i] = 1 if compatible(ev[coarse], ev_level[coarse], place, place_level) else -1
    return out


def weigh_review(records: pd.DataFrame, evidence: pd.DataFrame | None, review: pd.DataFrame) -> pd.DataFrame:
    """``review`` (rid_l, rid_r, note, explanation …) without the common-name pairs the evidence puts in two
    places, and with what the evidence says in every other explanation it decides.

    ``evidence`` holds ``core.evidence.EVIDENCE_COLUMNS`` of ``records`` (same index); without it
    ``review`` stays as it is.
    """
    if review.empty or evidence is None:
        return review
    places = records[["region_best", "region_level"]].join(evidence[["evidence_best", "evidence_level"]])
    relation = evidence_relation(places, review["rid_l"].to_numpy(np.int64), review["rid_r"].to_numpy(np.int64))
    common = review["note"].fillna("").astype(str).str.contains(COMMON_NAME).to_numpy()
    explanation = review["explanation"].to_numpy(dtype=object).copy()
    explanation[relation == 1] = [e + AGREES for e in explanation[relation == 1]]
    explanation[relation == -1] = [e + CONFLICTS for e in explanation[relation == -1]]
    keep = ~(common & (relation == -1))
    return review.assign(explanation=explanation)[keep].reset_index(drop=True)
