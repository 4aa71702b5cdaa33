"""Candidate pairs from cheap keys, so the pairs grow with the records, not their square.

Keys (small pure functions ``record -> set[str]``, dedupe-style):
- the exact head (the distinguishing part of the name);
- one-deletion variants of the head, so one wrong, missing or extra character still meets;
- for heads that are empty (a place's 科协) the generic suffix with the place the name names.
A block larger than ``max_block_size`` is split by prefecture, then province; what is still too
large is counted in the stats, never silently paired quadratically.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dedupe.typos import head_spread

MIN_DELETION_HEAD = 4
COMMON_HEAD_PLACES = 3  # a head found in more prefectures than this is a common one
MAX_DELETION_HEAD = 16


def head_keys(head: str, suffix: str, place: str, common: bool = False) -> set[str]:
    """Blocking keys of one record.

    >>> sorted(head_keys("第一中学", "", ""))
    ['d:一中学', 'd:第一中', 'd:第一中学', 'd:第一学', 'd:第中学', 'h:第一中学']
    >>> head_keys("", "科学技术协会", "440100")
    {'p:科学技术协会|440100'}
    """
    if not head:
        return {f"p:{suffix}|{place}"} if (suffix or place) else set()
    keys = {f"h:{head}"}
    # a common head (第一中学 in hundreds of places) is typed correctly far more often than it meets
    # its own typo; its one-deletion variants would only pair 第一中学 with 第二中学 everywhere
    if not common and MIN_DELETION_HEAD <= len(head) <= MAX_DELETION_HEAD:
        keys.add(f"d:{head}")
        keys.update(f"d:{head[:i]}{head[i + 1:]}" for i in range(len(head)))
    return keys


def place_key(token: str, head: str, suffix: str) -> str | None:
    """The place word of the name with the rest: 东山妇女联合会 meets 东山区妇女联合会 though 东山 is ambiguous.

    >>> place_key("东山", "东山妇女", "联合会"), place_key("东山", "妇女", "联合会")
    ('t:东山|妇女|联合会', 't:东山|妇女|联合会')
    """
    if not token:
        return None
    if head.startswith(token):
        head = head[len(token):]
    return f"t:{token}|{head}|{suffix}"


def common_heads(records: pd.DataFrame) -> set[str]:
    """Heads found in more than ``COMMON_HEAD_PLACES`` prefectures (they get no deletion keys)."""
    _, heads, spread = head_spread(records)
    return set(heads[spread > COMMON_HEAD_PLACES].tolist())


def record_keys(records: pd.DataFrame, common: set[str] | None = None) -> pd.DataFrame:
    """Long frame ``(key, rid)`` of every record's blocking keys (rid = row position), each pair once.

    The keys of ``head_keys`` and ``place_key``, built column-wise (string kernels over a million rows
    instead of a Python loop per record) and kept as 64-bit hashes: only their equality matters.
    ``common``: the registry's common heads, when ``records`` is only a part of it.
    """
    text = lambda c: records[c].astype("str").reset_index(drop=True)  # noqa: E731
    head, suffix, token = text("name_head"), text("name_suffix"), text("place_token")
    place = text("name_region_code").where(text("name_region_code") != "", text("region_text"))
    common = head.isin(common_heads(records) if common is None else common)
    length = head.str.len()
    keys, rids = [], []

    def add(strings: pd.Series) -> None:
        keys.append(strings.to_numpy(dtype=object))
        rids.append(strings.index.to_numpy(np.int64))

    has_head = head != ""
    add("h:" + head[has_head])
    bare = ~has_head & ((suffix != "") | (place != ""))
    add("p:" + suffix[bare] + "|" + place[bare])
    varied = has_head & ~common & length.between(MIN_DELETION_HEAD, MAX_DELETION_HEAD)
    add("d:" + head[varied])
    for i in range(MAX_DELETION_HEAD):
        h = head[varied & (length > i)]
        if i:  # in a run of one character (第一一中学) every deletion gives the same variant: keep the first
            h = h[h.str.slice(i - 1, i) != h.str.slice(i, i + 1)]
        add("d:" + h.str.slice(0, i) + h.str.slice(i + 1))
    tokened = token != ""
    rest = [h[len(t):] if h.startswith(t) else h for h, t in zip(head[tokened].tolist(), token[tokened].tolist())]
    add("t:" + token[tokened] + "|" + pd.Series(rest, index=token[tokened].index, dtype="str") + "|"
        + suffix[tokened])
    # no key repeats within a record: the kinds differ by prefix and deletion variants by the rule above
    strings = np.concatenate(keys)
    return pd.DataFrame({"key": pd.util.hash_array(strings, categorize=False).view(np.int64),
                         "rid": np.concatenate(rids)})


def _block_sizes(keys: np.ndarray) -> np.ndarray:
    """The size of each row's block (hash factorising: a groupby over millions of keys took seconds)."""
    codes, _ = pd.factorize(keys)
    return np.bincount(codes)[codes]


def _split_large(long: pd.DataFrame, records: pd.DataFrame, max_size: int) -> tuple[pd.DataFrame, int]:
    """Blocks over ``max_size`` split by prefecture, then province; what still does not fit is counted."""
    sizes = _block_sizes(long["key"].to_numpy())
    small, large = [long[sizes <= max_size]], long[sizes > max_size]
    skipped = 0
    for level in ("prefecture_best", "province_best"):
        if large.empty:
            break
        place = records[level].to_numpy()[large["rid"].to_numpy()]
        known = place != ""
        # records without any place stay unpaired inside an oversized block: counted, not guessed
        skipped += int((~known).sum())
        base = large[known]
        refined = base.assign(key=base["key"].to_numpy() * np.int64(1_000_003) + place[known].astype(np.int64))
        sizes = _block_sizes(refined["key"].to_numpy())
        small.append(refined[sizes <= max_size])
        large = base[sizes > max_size]
    skipped += len(large)
    return pd.concat(small, ignore_index=True), skipped


def assign_blocks(long: pd.DataFrame, records: pd.DataFrame, max_size: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """``(long with each key row's final block, the blocks, rows left out)``: ``block`` is the key after
    ``_split_large`` (-1: left out of an oversized block). An incremental run compares it with last run's."""
    keys = long["key"].to_numpy(np.int64)
    blocks, skipped = _split_large(pd.DataFrame({"key": keys, "rid": long["rid"].to_numpy(np.int64),
                                                 "pos": np.arange(len(keys))}), records, max_size)
    final = np.full(len(keys), -1, dtype=np.int64)
    final[blocks["pos"].to_numpy()] = blocks["key"].to_numpy()
    return pd.DataFrame({"key": keys, "rid": long["rid"].to_numpy(np.int64), "block": final}), blocks, skipped


def pairs_within_blocks(keys: np.ndarray, rids: np.ndarray, n_records: int, keep=None,
                         touching: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of rids sharing a key, each once, ``a < b`` (numpy, block sizes are bounded).

    ``keep(a, b)`` drops pairs block by block, before they pile up (most pairs of a common head in
    one prefecture are in different counties). ``touching``: only pairs with an end where it is True.
    """
    order = np.lexsort((rids, keys))
    k, r = keys[order], rids[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.array([], dtype=np.int64)
    sizes = np.diff(np.r_[starts, len(k)])
    parts_a, parts_b = [np.array([], dtype=np.int64)], [np.array([], dtype=np.int64)]
    for size in np.unique(sizes[sizes > 1]):
        first = starts[sizes == size]
        i, j = np.triu_indices(int(size), 1)
        for chunk in np.array_split(first, max(1, len(first) * len(i) // 2_000_000)):
            a, b = r[chunk[:, None] + i].ravel(), r[chunk[:, None] + j].ravel()
            if touching is not None:
                mask = touching[a] | touching[b]
                a, b = a[mask], b[mask]
            if keep is not None:
                mask = keep(a, b)
                a, b = a[mask], b[mask]
            parts_a.append(a)
            parts_b.append(b)
    a, b = np.concatenate(parts_a), np.concatenate(parts_b)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    code = np.sort(lo[lo != hi] * np.int64(n_records) + hi[lo != hi])
    code = code[np.r_[True, code[1:] != code[:-1]]] if len(code) else code  # unique by sorting: faster here
    return code // n_records, code % n_records


def _as_numbers(codes: pd.Series) -> np.ndarray:
    """Region codes as integers, 0 for none, converted once per distinct code."""
    inverse, uniques = pd.factorize(codes)
    values = pd.to_numeric(pd.Series(np.asarray(uniques, dtype=object)), errors="coerce").fillna(0)
    return np.append(values.to_numpy(np.int64), 0)[inverse]


def place_filter(records: pd.DataFrame):
    """``keep(a, b)``: False for pairs of records in two places neither of which contains the other
    (two counties): such pairs can only score 0, so they are not scored at all."""
    # region codes as numbers (0 = none): comparing strings for millions of pairs took seconds
    code, pref, prov = (_as_numbers(records[c]) for c in ("region_best", "prefecture_best", "province_best"))

    def keep(a, b):
        ca, cb = code[a], code[b]
        return ((ca == 0) | (cb == 0) | (ca == cb) | (pref[a] == cb) | (prov[a] == cb) | (pref[b] == ca)
                | (prov[b] == ca))
    return keep


def blocking_stats(records: pd.DataFrame, blocks: pd.DataFrame, n_pairs: int, skipped: int) -> dict:
    return {"records": len(records), "keys": int(blocks["key"].nunique()), "pairs": n_pairs,
            "pairs_per_record": round(n_pairs / max(len(records), 1), 3), "unblocked_in_oversized_blocks": skipped}


def block_pairs(records: pd.DataFrame, max_block_size: int = 100, long: pd.DataFrame | None = None
                ) -> tuple[pd.DataFrame, dict]:
    """Candidate pairs ``(rid_l, rid_r)`` with ``rid_l < rid_r``, no repeats, and blocking stats.

    ``long``: the records' keys (``record_keys``) when the caller has them. Incremental runs block
    only what changed (``dedupe.incremental.incremental_pairs``).
    """
    pairs, stats, _ = blocked_pairs(records, max_block_size, long)
    return pairs, stats


def blocked_pairs(records: pd.DataFrame, max_block_size: int = 100, long: pd.DataFrame | None = None
                  ) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """``block_pairs`` and the keys with their final blocks (``assign_blocks``), for the next run."""
    long = record_keys(records) if long is None else long
    keys, blocks, skipped = assign_blocks(long, records, max_block_size)
    a, b = pairs_within_blocks(blocks["key"].to_numpy(), blocks["rid"].to_numpy(), len(records),
                                place_filter(records))
    return pd.DataFrame({"rid_l": a, "rid_r": b}), blocking_stats(records, blocks, len(a), skipped), keys
