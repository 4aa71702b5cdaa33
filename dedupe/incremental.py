"""Incremental runs: block only the records that changed and reuse last run's blocks and pair scores
where nothing they depend on changed, so that the result equals a full run's.

A record is *fresh* when it is new or changed, or its head (as typed or as corrected) now occurs in
other places: its keys, its head's commonness and its pairs' scores may differ. Every other record
keeps last run's blocking keys, and a block none of whose members is fresh or gone is last run's block.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.checks import member_of
from dedupe.blocking import (_pairs_within_blocks, _split_large, block_pairs, blocking_stats, common_heads,
                             place_filter, record_keys)


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


def id_hashes(ids) -> np.ndarray:
    """64-bit hashes of record ids: last run's keys are stored and matched by these."""
    return pd.util.hash_array(np.asarray(ids, dtype=object), categorize=False)


def keys_of(long: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """What the snapshot keeps of this run's blocking: ``key`` and the record's ``org`` id hash."""
    return pd.DataFrame({"key": long["key"].to_numpy(np.int64),
                         "org": id_hashes(records["org_id"].to_numpy(dtype=object))[long["rid"].to_numpy()]})


def fresh_records(records: pd.DataFrame, changed: np.ndarray, previous_records: pd.DataFrame,
                  typed_heads: np.ndarray | None = None) -> np.ndarray:
    """New or changed records and those whose head (as typed or corrected) changed its places."""
    heads = changed_heads(records, previous_records)
    fresh = changed | member_of(records["name_head"], heads).to_numpy()
    if typed_heads is not None:
        # a head as typed whose places changed may now be corrected to another (dedupe.typos): rescore
        fresh |= member_of(pd.Series(typed_heads), heads).to_numpy()
    return fresh


def _final_blocks(keys: np.ndarray, rids: np.ndarray, records: pd.DataFrame, max_block_size: int
                  ) -> tuple[np.ndarray, pd.DataFrame, int]:
    """Each key row's block after ``_split_large`` (-1: left out of an oversized block), the blocks, and
    how many rows were left out."""
    long = pd.DataFrame({"key": keys, "rid": rids, "pos": np.arange(len(keys))})
    blocks, skipped = _split_large(long, records, max_block_size)
    final = np.full(len(keys), -1, dtype=np.int64)
    final[blocks["pos"].to_numpy()] = blocks["key"].to_numpy()
    return final, blocks, skipped


def incremental_pairs(records: pd.DataFrame, max_block_size: int, fresh: np.ndarray, previous_keys: pd.DataFrame,
                      previous_records: pd.DataFrame, previous_scored: pd.DataFrame
                      ) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """``block_pairs``'s candidate pairs and stats, blocking only the fresh records; and this run's keys.

    Other records keep last run's keys. A record is *moved* when one of its keys now ends in another
    block than last run (its block outgrew or fell under the size limit, or split differently). Blocks
    holding a fresh or moved record are paired again; last run's candidates between two records that
    are neither stay candidates as they are, and those with one moved end stay when the two still
    share a block.
    """
    n = len(records)
    ids = pd.Index(id_hashes(records["org_id"].to_numpy(dtype=object)))
    prev_rid = ids.get_indexer(previous_keys["org"].to_numpy(np.uint64))
    prev_key = previous_keys["key"].to_numpy(np.int64)
    still = (prev_rid >= 0) & ~fresh[np.maximum(prev_rid, 0)]
    rows = np.flatnonzero(fresh)
    new = record_keys(records.iloc[rows], common_heads(records))
    long = pd.DataFrame({"key": np.concatenate([prev_key[still], new["key"].to_numpy(np.int64)]),
                         "rid": np.concatenate([prev_rid[still], rows[new["rid"].to_numpy()]]).astype(np.int64)})
    final, blocks, skipped = _final_blocks(long["key"].to_numpy(), long["rid"].to_numpy(), records, max_block_size)
    # the same rows last run, in the same order: where did they end up then?
    old_rid = pd.Index(id_hashes(previous_records["org_id"].to_numpy(dtype=object))).get_indexer(
        previous_keys["org"].to_numpy(np.uint64))
    before, _, _ = _final_blocks(prev_key, old_rid, previous_records, max_block_size)
    kept = int(still.sum())
    moved = fresh.copy()
    moved[long["rid"].to_numpy()[:kept][final[:kept] != before[still]]] = True
    # blocks with a fresh or moved member: all their pairs again
    block_keys = blocks["key"].to_numpy()
    redo = pd.Index(pd.unique(block_keys[moved[blocks["rid"].to_numpy()]])).get_indexer(block_keys) >= 0
    redone = blocks[redo]
    a, b = _pairs_within_blocks(redone["key"].to_numpy(), redone["rid"].to_numpy(), n, place_filter(records))
    # last run's candidates between records that are still here and not fresh
    lo, hi = (ids.get_indexer(id_hashes(previous_scored[c].to_numpy(dtype=object)))
              for c in ("org_id_l", "org_id_r"))
    ok = (lo >= 0) & (hi >= 0)
    lo, hi = lo[ok], hi[ok]
    ok = ~fresh[lo] & ~fresh[hi]
    lo, hi = np.minimum(lo[ok], hi[ok]), np.maximum(lo[ok], hi[ok])
    sure = ~moved[lo] & ~moved[hi]  # both ends in the blocks they were in: the pair stands
    unsure = pd.DataFrame({"lo": lo[~sure], "hi": hi[~sure], "i": np.arange(int((~sure).sum()))})
    ends = np.zeros(n, dtype=bool)
    ends[lo[~sure]] = ends[hi[~sure]] = True
    theirs = blocks[ends[blocks["rid"].to_numpy()]][["key", "rid"]]
    shared = unsure.merge(theirs.rename(columns={"rid": "lo"}), on="lo").merge(
        theirs.rename(columns={"rid": "hi"}), on=["hi", "key"])["i"].unique()
    codes = np.concatenate([a * n + b, lo[sure] * n + hi[sure],
                            unsure["lo"].to_numpy()[shared] * n + unsure["hi"].to_numpy()[shared]]).astype(np.int64)
    codes.sort()  # unique by sorting: numpy's hash-based unique was slower on millions of codes
    codes = codes[np.r_[True, codes[1:] != codes[:-1]]] if len(codes) else codes
    pairs = pd.DataFrame({"rid_l": codes // n, "rid_r": codes % n})
    return pairs, blocking_stats(records, blocks, len(pairs), skipped), long


def split_reusable(records: pd.DataFrame, pairs: pd.DataFrame, changed: np.ndarray, previous_records: pd.DataFrame,
                   previous_scored: pd.DataFrame, typed_heads: np.ndarray | None = None,
                   fresh: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(reused scored pairs, pairs still to score)`` for this run's candidate ``pairs``.

    A previous score is reused when both records are unchanged, neither head changed its places, and
    the previous run scored that pair (``fresh``: ``fresh_records``, computed here when not given;
    ``typed_heads``: the heads before ``correct_common_heads``). Pairs are matched on record ids (the
    file's row order may differ from last time), as integer codes: string joins took a minute.
    """
    if fresh is None:
        fresh = fresh_records(records, changed, previous_records, typed_heads)
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


def candidate_pairs(records: pd.DataFrame, max_block_size: int, changed: np.ndarray | None = None,
                    previous_records: pd.DataFrame | None = None, previous_scored: pd.DataFrame | None = None,
                    previous_keys: pd.DataFrame | None = None, typed_heads: np.ndarray | None = None
                    ) -> tuple[pd.DataFrame, dict, pd.DataFrame, pd.DataFrame]:
    """``(pairs to score, blocking stats, reused scored pairs, this run's keys for the snapshot)``.

    Without last run's scores everything is blocked; with them only pairs touching fresh records are
    scored, and with last run's keys too only the fresh records are blocked.
    """
    reused = pd.DataFrame()
    if previous_scored is None or changed is None:
        long = record_keys(records)
        pairs, stats = block_pairs(records, max_block_size, long)
    else:
        fresh = fresh_records(records, changed, previous_records, typed_heads)
        if previous_keys is not None:
            pairs, stats, long = incremental_pairs(records, max_block_size, fresh, previous_keys, previous_records,
                                                   previous_scored)
        else:
            long = record_keys(records)
            pairs, stats = block_pairs(records, max_block_size, long)
        reused, pairs = split_reusable(records, pairs, changed, previous_records, previous_scored, fresh=fresh)
    stats.update(changed_records=int(changed.sum()) if changed is not None else len(records),
                 pairs_scored=len(pairs), pairs_reused=len(reused))
    return pairs, stats, reused, keys_of(long, records)
