"""Reuse last run's pair scores where nothing they depend on changed, so an incremental run scores
only pairs that touch new or changed records (or whose head now occurs in other places), and its
result equals a full run's."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.checks import member_of


def _head_place_hashes(records: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(hash of each (head, place) of the records with a place, those heads)``."""
    known = (records["region_best"] != "").to_numpy()
    heads = records["name_head"].to_numpy(dtype=object)[known]
    places = records["region_best"].to_numpy(dtype=object)[known]
    hashed = pd.util.hash_array(heads, categorize=False) * np.uint64(1_000_003) ^ \
        pd.util.hash_array(places, categorize=False)
    return hashed, heads


def changed_heads(records: pd.DataFrame, previous: pd.DataFrame) -> set[str]:
    """Heads whose places differ between the two record sets (their pairs' scores may differ).

    Compared as 64-bit hashes of (head, place): an outer merge of a million string pairs took seconds.
    """
    now, now_heads = _head_place_hashes(records)
    before, before_heads = _head_place_hashes(previous)
    return set(now_heads[~np.isin(now, before)].tolist()) | set(before_heads[~np.isin(before, now)].tolist())


def split_reusable(records: pd.DataFrame, pairs: pd.DataFrame, changed: np.ndarray, previous_records: pd.DataFrame,
                   previous_scored: pd.DataFrame, typed_heads: np.ndarray | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(reused scored pairs, pairs still to score)`` for this run's candidate ``pairs``.

    A previous score is reused when both records are unchanged, neither head changed its places, and
    the previous run scored that pair. ``typed_heads``: the heads before ``correct_common_heads``. Pairs are matched on record ids (the file's row order may
    differ from last time), as integer codes: string joins over millions of pairs took a minute.
    """
    heads = changed_heads(records, previous_records)
    fresh = changed | member_of(records["name_head"], heads).to_numpy()
    if typed_heads is not None:
        # a head as typed whose places changed may now be corrected to another (dedupe.typos): rescore
        fresh |= member_of(pd.Series(typed_heads), heads).to_numpy()
    n = len(records)
    rid = pd.Index(records["org_id"].to_numpy(dtype=object))
    if not rid.is_unique:  # ids are checked to be unique on ingest; without that nothing can be matched
        return previous_scored.iloc[:0], pairs
    old_l = rid.get_indexer(previous_scored["org_id_l"].to_numpy(dtype=object))
    old_r = rid.get_indexer(previous_scored["org_id_r"].to_numpy(dtype=object))
    present = (old_l >= 0) & (old_r >= 0)
    old_code = np.minimum(old_l, old_r)[present].astype(np.int64) * n + np.maximum(old_l, old_r)[present]
    order = np.argsort(old_code)
    old_code, old_rows = old_code[order], np.flatnonzero(present)[order]
    a, b = pairs["rid_l"].to_numpy(np.int64), pairs["rid_r"].to_numpy(np.int64)
    code = np.minimum(a, b) * n + np.maximum(a, b)
    at = np.minimum(np.searchsorted(old_code, code), max(len(old_code) - 1, 0))
    found = (old_code[at] == code) if len(old_code) else np.zeros(len(code), dtype=bool)
    reuse = found & ~(fresh[a] | fresh[b])
    kept = previous_scored.iloc[old_rows[at[reuse]]].drop(columns=["rid_l", "rid_r", "org_id_l", "org_id_r"],
                                                          errors="ignore").reset_index(drop=True)
    ids = records["org_id"].to_numpy()
    reused = pd.concat([pd.DataFrame({"org_id_l": ids[a[reuse]], "org_id_r": ids[b[reuse]], "rid_l": a[reuse],
                                      "rid_r": b[reuse]}), kept], axis=1)
    return reused, pairs[~reuse].reset_index(drop=True)
