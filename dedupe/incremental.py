"""Incremental runs: block only the records that changed and reuse last run's blocks and pair scores
where nothing they depend on changed, so that the result equals a full run's.

A record is *fresh* when it is new or changed, or its head (as typed or as corrected) now occurs in
other places: its keys, its head's commonness and its pairs' scores may differ. Every other record
keeps last run's blocking keys, and a block none of whose members is fresh or moved is last run's block.

Last run's records, keys and pairs are matched to this run's by one lookup of record ids
(``previous_rows``): the snapshot stores keys and pairs by last run's row numbers, not by id strings.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.lookups import member_of
from dedupe.blocking import (pairs_within_blocks, assign_blocks, blocked_pairs, blocking_stats, common_heads,
                             place_filter, record_keys)

KEY_COLUMNS = ["key", "rid", "block"]  # what the snapshot keeps of a run's blocking (``blocking_keys``)


def previous_rows(records: pd.DataFrame, previous_records: pd.DataFrame, at: np.ndarray | None = None
                  ) -> np.ndarray | None:
    """Each of last run's records' row in ``records`` (-1: gone); None when this run's ids repeat
    (ingest quarantines repeated ids, so then nothing can be matched safely). ``at``: the other way
    round, each record's row last run (``core.records.previous_positions``), when the caller has it."""
    if at is not None:
        found = np.flatnonzero(at >= 0)
        now_of = np.full(len(previous_records), -1, dtype=np.int64)
        now_of[at[found]] = found
        return now_of if np.count_nonzero(now_of >= 0) == len(found) else None
    now = pd.Index(records["org_id"].to_numpy(dtype=object))
    if not now.is_unique:
        return None
    return now.get_indexer(previous_records["org_id"].to_numpy(dtype=object))


def _head_place_hashes(heads: np.ndarray, places: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(hash of each (head, place) with a place, those heads)``."""
    known = places != ""
    heads = heads[known]
    hashed = pd.util.hash_array(heads, categorize=False) * np.uint64(1_000_003) ^ \
        pd.util.hash_array(places[known], categorize=False)
    return hashed, heads


def changed_heads(records: pd.DataFrame, previous: pd.DataFrame, changed: np.ndarray | None = None,
                  now_of: np.ndarray | None = None, typed_heads: np.ndarray | None = None) -> set[str]:
    """Heads whose places differ between the two record sets (their pairs' scores may differ).

    With ``changed`` and ``now_of`` (``previous_rows``) only the heads of records that changed, left,
    or whose head was corrected (``typed_heads`` differ) are compared: an unchanged record brings the
    same (head, place) to both sides. Compared as 64-bit hashes: an outer merge of a million string
    pairs took seconds.
    """
    now_heads = records["name_head"].to_numpy(dtype=object)
    now_places = records["region_best"].to_numpy(dtype=object)
    before_heads = previous["name_head"].to_numpy(dtype=object)
    before_places = previous["region_best"].to_numpy(dtype=object)
    if changed is not None and now_of is not None:
        touched = changed.copy()
        if typed_heads is not None:
            touched |= typed_heads != now_heads
        stays = now_of >= 0
        left = ~stays
        left[stays] = touched[now_of[stays]]
        heads = set(now_heads[touched].tolist()) | set(before_heads[left].tolist())
        now = member_of(records["name_head"], heads).to_numpy()
        before = member_of(previous["name_head"], heads).to_numpy()
        now_heads, now_places = now_heads[now], now_places[now]
        before_heads, before_places = before_heads[before], before_places[before]
    now, now_heads = _head_place_hashes(now_heads, now_places)
    before, before_heads = _head_place_hashes(before_heads, before_places)
    return set(now_heads[~np.isin(now, before)].tolist()) | set(before_heads[~np.isin(before, now)].tolist())


def fresh_records(records: pd.DataFrame, changed: np.ndarray, previous_records: pd.DataFrame,
                  typed_heads: np.ndarray | None = None, now_of: np.ndarray | None = None) -> np.ndarray:
    """New or changed records and those whose head (as typed or corrected) changed its places."""
    heads = changed_heads(records, previous_records, changed, now_of, typed_heads)
    fresh = changed | member_of(records["name_head"], heads).to_numpy()
    if typed_heads is not None:
        # a head as typed whose places changed may now be corrected to another (dedupe.typos): rescore
        fresh |= member_of(pd.Series(typed_heads), heads).to_numpy()
    return fresh


def _unique_codes(codes: np.ndarray) -> np.ndarray:
    codes = np.sort(codes)  # unique by sorting: numpy's hash-based unique was slower on millions of codes
    return codes[np.r_[True, codes[1:] != codes[:-1]]] if len(codes) else codes


def incremental_pairs(records: pd.DataFrame, max_block_size: int, fresh: np.ndarray, previous_keys: pd.DataFrame,
                      previous_scored: pd.DataFrame, now_of: np.ndarray
                      ) -> tuple[pd.DataFrame, dict, pd.DataFrame, pd.DataFrame]:
    """``(pairs to score, block_pairs's stats, this run's keys, last run's scored pairs that stand)``,
    blocking only the fresh records. Together the pairs to score and those reused are exactly
    ``block_pairs``'s candidates.

    Other records keep last run's keys. A record is *moved* when one of its keys now ends in another
    block than last run (its block outgrew or fell under the size limit, or split differently). In
    blocks holding a fresh or moved record, the pairs with such an end are formed again. Last run's
    pairs between two records that are neither stand as they are, and those with one moved end when
    the two still share a block; none has a fresh end, so their scores stand too. The reused pairs
    carry this run's rids.
    """
    n = len(records)
    key_rid = now_of[previous_keys["rid"].to_numpy(np.int64)]
    still = key_rid >= 0
    still[still] = ~fresh[key_rid[still]]
    rows = np.flatnonzero(fresh)
    new = record_keys(records.iloc[rows], common_heads(records))
    long = pd.DataFrame({"key": np.concatenate([previous_keys["key"].to_numpy(np.int64)[still],
                                                new["key"].to_numpy(np.int64)]),
                         "rid": np.concatenate([key_rid[still], rows[new["rid"].to_numpy()]]).astype(np.int64)})
    keys, blocks, skipped = assign_blocks(long, records, max_block_size)
    kept = int(still.sum())
    moved = fresh.copy()
    final = keys["block"].to_numpy()
    moved[keys["rid"].to_numpy()[:kept][final[:kept] != previous_keys["block"].to_numpy(np.int64)[still]]] = True
    # blocks with a fresh or moved member: all their pairs again
    block_keys = blocks["key"].to_numpy()
    redo = pd.Index(pd.unique(block_keys[moved[blocks["rid"].to_numpy()]])).get_indexer(block_keys) >= 0
    redone = blocks[redo]
    # of those only pairs with a fresh or moved end: two others shared that block last run too, so
    # their pair is among last run's and stands below
    a, b = pairs_within_blocks(redone["key"].to_numpy(), redone["rid"].to_numpy(), n, place_filter(records), moved)
    # last run's pairs between records that are still here and not fresh
    lo, hi = (now_of[previous_scored[c].to_numpy(np.int64)] for c in ("rid_l", "rid_r"))
    ok = (lo >= 0) & (hi >= 0)
    ok[ok] = ~fresh[lo[ok]] & ~fresh[hi[ok]]
    old = np.flatnonzero(ok)
    lo, hi = np.minimum(lo[ok], hi[ok]), np.maximum(lo[ok], hi[ok])
    sure = ~moved[lo] & ~moved[hi]  # both ends in the blocks they were in: the pair stands
    unsure = pd.DataFrame({"lo": lo[~sure], "hi": hi[~sure], "i": np.flatnonzero(~sure)})
    ends = np.zeros(n, dtype=bool)
    ends[unsure["lo"].to_numpy()] = ends[unsure["hi"].to_numpy()] = True
    theirs = blocks[ends[blocks["rid"].to_numpy()]][["key", "rid"]]
    shared = unsure.merge(theirs.rename(columns={"rid": "lo"}), on="lo").merge(
        theirs.rename(columns={"rid": "hi"}), on=["hi", "key"])["i"].unique()
    stand = sure.copy()
    stand[shared] = True
    old, lo, hi = old[stand], lo[stand], hi[stand]
    old_code = lo.astype(np.int64) * n + hi
    order = np.argsort(old_code, kind="stable")
    old, lo, hi, old_code = old[order], lo[order], hi[order], old_code[order]
    # pairs of the redone blocks that no standing pair covers: new, or with a fresh end
    code = _unique_codes(a.astype(np.int64) * n + b)
    at = np.minimum(np.searchsorted(old_code, code), max(len(old_code) - 1, 0))
    covered = old_code[at] == code if len(old_code) else np.zeros(len(code), dtype=bool)
    code = code[~covered]
    pairs = pd.DataFrame({"rid_l": code // n, "rid_r": code % n})
    reused = previous_scored.iloc[old].reset_index(drop=True)
    reused["rid_l"], reused["rid_r"] = lo, hi
    stats = blocking_stats(records, blocks, len(pairs) + len(reused), skipped)
    return pairs, stats, keys, reused


def candidate_pairs(records: pd.DataFrame, max_block_size: int, changed: np.ndarray | None = None,
                    previous_records: pd.DataFrame | None = None, previous_scored: pd.DataFrame | None = None,
                    previous_keys: pd.DataFrame | None = None, typed_heads: np.ndarray | None = None,
                    previous_at: np.ndarray | None = None) -> tuple[pd.DataFrame, dict, pd.DataFrame, pd.DataFrame]:
    """``(pairs to score, blocking stats, reused scored pairs, this run's keys for the snapshot)``.

    With last run's records, scores and keys (all by last run's rows) only the fresh records are
    blocked and only pairs touching them are scored; otherwise everything is. ``previous_at``: each
    record's row in ``previous_records``, when the caller has it.
    """
    now_of = previous_rows(records, previous_records, previous_at) if previous_records is not None else None
    usable = (changed is not None and now_of is not None and previous_scored is not None and previous_keys is not None
              and {"rid_l", "rid_r"} <= set(previous_scored.columns) and set(KEY_COLUMNS) <= set(previous_keys.columns))
    if usable:
        fresh = fresh_records(records, changed, previous_records, typed_heads, now_of)
        pairs, stats, keys, reused = incremental_pairs(records, max_block_size, fresh, previous_keys,
                                                       previous_scored, now_of)
    else:
        (pairs, stats, keys), reused = blocked_pairs(records, max_block_size), pd.DataFrame()
    stats.update(changed_records=int(changed.sum()) if changed is not None else len(records),
                 pairs_scored=len(pairs), pairs_reused=len(reused))
    return pairs, stats, reused, keys.astype({"rid": np.int32})
