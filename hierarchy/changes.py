"""What the rebuild changed: one row per organization whose parent is not the one declared."""
from __future__ import annotations

import pandas as pd


def parent_changes(orgs: pd.DataFrame, known_ids: set[str]) -> pd.DataFrame:
    """``org_id, name, old_parent, new_parent, reason, confidence`` for every changed or flagged parent.

    ``old_parent`` is the declared parent as typed (a source id, possibly missing or merged away);
    the reason says why it was not kept.
    """
    rows = []
    for o in orgs.itertuples(index=False):
        raw = o.raw_parents[0] if len(o.raw_parents) else ""
        declared = o.declared_parents[0] if len(o.declared_parents) else ""
        if declared == o.parent_id and raw == o.parent_id and not o.needs_review:
            continue
        if not raw:
            why = "未填写上级；" + o.reason
        elif raw not in known_ids:
            why = f"声明的上级 {raw} 不存在；" + o.reason
        elif declared == o.parent_id:
            why = "声明的上级是重复记录，改为其保留记录"
        elif raw == o.org_id or declared == o.org_id:
            why = "上级指向自己；" + o.reason
        else:
            why = "声明的上级与类别或地区不符；" + o.reason
        rows.append((o.org_id, o.name, raw, o.parent_id, why, float(o.confidence), bool(o.needs_review)))
    return pd.DataFrame(rows, columns=["org_id", "name", "old_parent", "new_parent", "reason", "confidence",
                                       "needs_review"])
