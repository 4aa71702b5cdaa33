"""What the rebuild changed: one row per organization whose parent is not the one declared."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.lookups import within


def _first(lists) -> np.ndarray:
    return np.array([x[0] if len(x) else "" for x in lists], dtype=object)


def parent_changes(orgs: pd.DataFrame, known_ids) -> pd.DataFrame:
    """``org_id, name, old_parent, new_parent, reason, confidence`` for every changed or flagged parent.

    ``old_parent`` is the declared parent as typed (a source id, possibly missing or merged away);
    the reason says why it was not kept. ``known_ids``: every source id of the registry.
    """
    raw, declared = _first(orgs["raw_parents"].tolist()), _first(orgs["declared_parents"].tolist())
    parent = orgs["parent_id"].to_numpy(dtype=object)
    review = orgs["needs_review"].to_numpy(dtype=bool)
    # most units keep the parent they declared: only the others are looked at one by one
    rows = np.flatnonzero((declared != parent) | (raw != parent) | review)
    known = within(raw[rows], known_ids)
    ids, names = orgs["org_id"].to_numpy(dtype=object), orgs["name"].to_numpy(dtype=object)
    reasons, confidence = orgs["reason"].to_numpy(dtype=object), orgs["confidence"].to_numpy(dtype=float)
    out = []
    for i, exists in zip(rows.tolist(), known.tolist()):
        r, d, oid, reason = raw[i], declared[i], ids[i], reasons[i]
        if not r:
            why = "未填写上级；" + reason
        elif not exists:
            why = f"声明的上级 {r} 不存在；" + reason
        elif d == parent[i]:
            why = "声明的上级是重复记录，改为其保留记录"
        elif r == oid or d == oid:
            why = "上级指向自己；" + reason
        else:
            why = "声明的上级与类别或地区不符；" + reason
        out.append(why)
    return pd.DataFrame({"org_id": ids[rows], "name": names[rows], "old_parent": raw[rows], "new_parent": parent[rows],
                         "reason": np.array(out, dtype=object), "confidence": confidence[rows],
                         "needs_review": review[rows]},
                        columns=["org_id", "name", "old_parent", "new_parent", "reason", "confidence", "needs_review"])
