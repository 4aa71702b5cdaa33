"""Which of several matching units people mean: the static rank the autocomplete orders a tier by.

A 科协 of a higher administrative level comes first (中国科协, then a province's, a prefecture's, a
county's, then every other unit), because that is the unit a short query such as ``gz`` or ``gzkx``
most often means; among units of one level, the one more people work under and report activities
to comes first: the size of its subtree (organizations and activities below it, from the snapshot's
``rollup``) and its own activities, then certified, then the records merged into it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.schema import ASSOCIATION_LEVEL

# 0 = the root; the association levels of the contract (省 1, 市 2, 县 3); everything else after them
LEVEL = {"中国科协": 0, **ASSOCIATION_LEVEL}
OTHER_LEVEL = 4


def rank_order(orgs: pd.DataFrame, activity_counts: pd.Series | None = None,
               rollup: pd.DataFrame | None = None) -> np.ndarray:
    """Row positions of ``orgs`` best first (administrative level, then use, then certified, then size).

    >>> orgs = pd.DataFrame({"org_id": ["a", "b", "c"], "category": ["县级科协", "市级科协", "市级科协"],
    ...                      "certified": [True, False, True], "members": [5, 1, 1]})
    >>> roll = pd.DataFrame({"org_id": ["b", "c"], "organizations": [300, 40], "activities": [90, 10]})
    >>> rank_order(orgs, rollup=roll).tolist()
    [1, 2, 0]
    """
    ids = orgs["org_id"]
    acts = (activity_counts if activity_counts is not None else pd.Series(dtype="int64"))
    own = ids.map(acts).fillna(0).to_numpy(np.float64)
    below_orgs = np.zeros(len(orgs))
    below_acts = own.copy()
    if rollup is not None and len(rollup):
        roll = rollup.set_index("org_id")
        below_orgs = ids.map(roll["organizations"]).fillna(0).to_numpy(np.float64)
        below_acts = np.maximum(ids.map(roll["activities"]).fillna(0).to_numpy(np.float64), own)
    level = orgs["category"].map(LEVEL).fillna(OTHER_LEVEL).to_numpy(np.int64)
    use = np.log1p(below_orgs) + np.log1p(below_acts)
    certified = orgs["certified"].to_numpy().astype(bool)
    members = orgs["members"].to_numpy(np.int64) if "members" in orgs else np.ones(len(orgs), dtype=np.int64)
    # lexsort: last key first; ties end on the org id so the order never depends on the input's
    return np.lexsort((ids.to_numpy(dtype=str), -members, ~certified, -np.round(use, 9), level))
