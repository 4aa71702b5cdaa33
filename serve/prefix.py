"""Sorted arrays that answer the autocomplete's questions in microseconds at a million units.

Every searchable string (a name, its pinyin, its initials …) is a row owned by a *text* (a name or
alias of a unit). Text ids are given in rank order (certified and larger units first), so "the best
texts that match" is "the smallest text ids that match". A prefix is a contiguous range of the
sorted strings (binary search); the best owners of a small range are read off directly, and those of
a huge range (``gz`` matches half a million forms) by walking the rows in rank order until enough
are found. Plain numpy: fixed-width strings sort and search in C, and a million units fit in a few
hundred megabytes, where Python dicts of lists took gigabytes and seconds per rare query.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

DIRECT = 16384  # a range up to this size is read directly; a larger one is walked in rank order
CHUNK = 16384  # rows per step of that walk
MAX_WALK = 1_048_576  # rows one query may walk (bounds a query whose filter rejects almost everything)

Accept = Callable[[np.ndarray], np.ndarray]  # text ids -> boolean mask


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique`` by sorting (numpy's hashing unique is slower for these sizes)."""
    x = np.sort(x)
    return x[np.r_[True, x[1:] != x[:-1]]] if len(x) > 1 else x


def first_per_org(texts: np.ndarray, text_org: np.ndarray) -> np.ndarray:
    """Ascending unique ``texts`` reduced to the first text of each unit (units are contiguous)."""
    if len(texts) < 2:
        return texts
    orgs = text_org[texts]
    return texts[np.r_[True, orgs[1:] != orgs[:-1]]]


class PrefixIndex:
    """Strings of one kind (e.g. full pinyin) sorted for prefix search, each with its owner text."""

    def __init__(self, strings: np.ndarray, owners: np.ndarray):
        """``strings``: a fixed-width ``S`` or ``U`` array; ``owners``: text id per string, non-decreasing."""
        self.width = strings.dtype.itemsize // (4 if strings.dtype.kind == "U" else 1)
        self.kind = strings.dtype.kind
        order = np.argsort(strings)
        self.sorted = strings[order]
        self.owner = owners[order].astype(np.int32)
        self.row_owner = owners.astype(np.int32)  # in rank order, for the walk
        self.position = np.empty(len(order), dtype=np.int32)
        self.position[order] = np.arange(len(order), dtype=np.int32)

    def __len__(self) -> int:
        return len(self.sorted)

    def _probe(self, q: str):
        if self.kind == "S":
            return q.encode("ascii", "ignore")[: self.width]
        return q[: self.width]

    def range(self, q: str) -> tuple[int, int, int]:
        """``(lo, equal_end, hi)``: rows starting with ``q`` are ``lo:hi``, those equal to it ``lo:equal_end``
        (for a query longer than the width, "equal" means equal in the first ``width`` characters)."""
        probe = self._probe(q)
        if not probe:
            return 0, 0, 0
        lo = int(np.searchsorted(self.sorted, probe, side="left"))
        eq = int(np.searchsorted(self.sorted, probe, side="right"))
        if len(probe) >= self.width:
            return lo, eq, eq
        top = probe + (b"\xff" if self.kind == "S" else "\U0010ffff")
        return lo, eq, int(np.searchsorted(self.sorted, top, side="right"))

    def best(self, lo: int, hi: int, want: int, text_org: np.ndarray, accept: Accept | None = None) -> np.ndarray:
        """Up to ``want`` texts of distinct units owning a row in ``lo:hi``, best first."""
        n = hi - lo
        if n <= 0 or want <= 0:
            return np.empty(0, dtype=np.int32)
        if n <= DIRECT:
            texts = sorted_unique(self.owner[lo:hi])
            if accept is not None:
                texts = texts[accept(texts)]
            return first_per_org(texts, text_org)[:want]
        found: list[np.ndarray] = []
        count = 0
        for start in range(0, min(len(self.position), MAX_WALK), CHUNK):
            pos = self.position[start:start + CHUNK]
            texts = self.row_owner[start:start + CHUNK][(pos >= lo) & (pos < hi)]
            if accept is not None and len(texts):
                texts = texts[accept(texts)]
            if len(texts):
                found.append(texts)
                count += len(texts)
                if count >= want * 4:  # rows of one text are adjacent; enough distinct units follow
                    merged = first_per_org(sorted_unique(np.concatenate(found)), text_org)
                    if len(merged) >= want:
                        return merged[:want]
        if not found:
            return np.empty(0, dtype=np.int32)
        return first_per_org(sorted_unique(np.concatenate(found)), text_org)[:want]


class Postings:
    """For each integer key (a character bigram, a region code), its texts in rank order (CSR)."""

    def __init__(self, keys: np.ndarray, texts: np.ndarray):
        pairs = np.sort(keys.astype(np.int64) * np.int64(1 << 24) + texts.astype(np.int64))
        if len(pairs):  # sorted, then unique by a mask: numpy's hashing unique is slow on 20M keys
            pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
        key = pairs >> 24
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.empty(0, dtype=np.int64)
        self.keys = key[starts]
        self.starts = np.r_[starts, len(pairs)].astype(np.int64)
        self.texts = (pairs & ((1 << 24) - 1)).astype(np.int32)

    def get(self, key: int) -> np.ndarray | None:
        i = int(np.searchsorted(self.keys, key))
        if i == len(self.keys) or self.keys[i] != key:
            return None
        return self.texts[self.starts[i]:self.starts[i + 1]]


def intersect_walk(lists: list[np.ndarray], want: int, verify: Accept, text_org: np.ndarray,
                   max_scan: int) -> np.ndarray:
    """Texts present in every list that pass ``verify``, best first, up to ``want`` units.

    The shortest list is walked in rank order a chunk at a time; the others are probed by binary
    search, so a query of two common bigrams costs what its first few thousand texts cost.
    """
    lists = sorted(lists, key=len)
    first, others = lists[0], lists[1:]
    found: list[np.ndarray] = []
    count = 0
    step = 2048
    for start in range(0, min(len(first), max_scan), step):
        cand = first[start:start + step]
        for other in others:
            at = np.minimum(np.searchsorted(other, cand), len(other) - 1)
            cand = cand[other[at] == cand]
            if not len(cand):
                break
        if len(cand):
            cand = cand[verify(cand)]
        if len(cand):
            found.append(cand)
            count += len(cand)
            if count >= want:
                merged = first_per_org(np.concatenate(found), text_org)
                if len(merged) >= want:
                    return merged[:want]
        step = min(step * 2, 32768)
    if not found:
        return np.empty(0, dtype=np.int32)
    return first_per_org(np.concatenate(found), text_org)[:want]
