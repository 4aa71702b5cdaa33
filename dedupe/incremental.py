"""Reuse last run's pair scores where nothing they depend on changed, so an incremental run scores
only pairs that touch new or changed records (or whose head now occurs in other places), and its
result equals a full run's."""
from __future__ import annotations

import numpy as np
import pandas as pd

from dedupe.compare import HeadPlaces


def changed_heads(records: pd.DataFrame, previous: pd.DataFrame) -> set[str]:
    """Heads whose places differ between the two record sets (their pairs' scores may differ)."""
    now, before = HeadPlaces(records).places, HeadPlaces(previous).places
    return {h for h in now.keys() | before.keys() if sorted(now.get(h, [])) != sorted(before.get(h, []))}


def split_reusable(records: pd.DataFrame, pairs: pd.DataFrame, changed: np.ndarray, previous_records: pd.DataFrame,
                   previous_scored: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(reused scored pairs, pairs still to score)`` for this run's candidate ``pairs``.

    A previous score is reused when both records are unchanged, neither head changed its places, and
    the previous run scored that pair.
    """
    heads = changed_heads(records, previous_records)
    fresh = changed | records["name_head"].isin(heads).to_numpy()
    ids = records["org_id"].to_numpy()
    stable = ~(fresh[pairs["rid_l"].to_numpy()] | fresh[pairs["rid_r"].to_numpy()])
    candidates = pairs[stable].assign(org_id_l=ids[pairs["rid_l"][stable]], org_id_r=ids[pairs["rid_r"][stable]])
    # the file's row order may differ from last time: pairs are matched whichever way round they are
    old = previous_scored.drop(columns=["rid_l", "rid_r", "org_id_l", "org_id_r"], errors="ignore").assign(
        lo=np.minimum(previous_scored["org_id_l"], previous_scored["org_id_r"]),
        hi=np.maximum(previous_scored["org_id_l"], previous_scored["org_id_r"]))
    candidates = candidates.assign(lo=np.minimum(candidates["org_id_l"], candidates["org_id_r"]),
                                   hi=np.maximum(candidates["org_id_l"], candidates["org_id_r"]))
    reused = candidates.merge(old, on=["lo", "hi"], how="inner").drop(columns=["lo", "hi"])
    done = pd.MultiIndex.from_frame(reused[["rid_l", "rid_r"]])
    todo = pairs[~pd.MultiIndex.from_frame(pairs[["rid_l", "rid_r"]]).isin(done)]
    return reused, todo.reset_index(drop=True)
