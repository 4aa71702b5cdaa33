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


def changes_since(changes: pd.DataFrame, last: pd.DataFrame | None) -> pd.DataFrame:
    """Tonight's parent changes against the last published run's full list, with a ``change`` column:
    ``new`` (a change that was not there, or now points elsewhere) and ``gone`` (last run's change of a
    unit that no longer has one: it keeps its declared parent now, or left the registry). The full list
    is ``changes`` itself (kept in the snapshot); last run's list plus tonight's rows gives it again.

    >>> last = pd.DataFrame({"org_id": ["a", "b"], "old_parent": ["x", "y"], "new_parent": ["p", "q"]})
    >>> now = pd.DataFrame({"org_id": ["a", "c"], "old_parent": ["x", "z"], "new_parent": ["p", "r"]})
    >>> changes_since(now, last)[["org_id", "change"]].values.tolist()
    [['c', 'new'], ['b', 'gone']]
    """
    if last is None:
        return changes.assign(change="new")
    columns = list(changes.columns)
    fresh = ~_change_keys(changes).isin(set(_change_keys(last)))
    gone = last[~last["org_id"].isin(set(changes["org_id"]))].reindex(columns=columns)
    return pd.concat([changes[fresh].assign(change="new"), gone.assign(change="gone")], ignore_index=True)


def _change_keys(frame: pd.DataFrame) -> pd.Series:
    return frame["org_id"].astype(str) + "\x1f" + frame["old_parent"].astype(str) + "\x1f" + \
        frame["new_parent"].astype(str)
