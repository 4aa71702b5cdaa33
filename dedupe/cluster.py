"""Clusters from merge edges, without chaining A to C through B when A and C are distinct.

Edges are joined strongest first (union-find); an edge whose two clusters contain a pair known to
be distinct (scored as a conflict, or rejected by a person) is not joined but sent to review.
People's decisions come first: ``match`` pairs are joined before any score, ``distinct`` pairs are
never joined and never suggested.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


class _Clusters:
    def __init__(self, n: int):
        self.parent = np.arange(n)
        self.members: dict[int, set[int]] = {}

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def group(self, root: int) -> set[int]:
        return self.members.get(root, {root})

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if len(self.group(ra)) < len(self.group(rb)):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra] = self.group(ra) | self.group(rb)
        self.members.pop(rb, None)


def flatten(parent: np.ndarray) -> np.ndarray:
    """Every element's root in a union-find parent array, by pointer jumping (no loop per element)."""
    roots = np.asarray(parent).copy()
    while True:
        up = roots[roots]
        if np.array_equal(up, roots):
            return roots
        roots = up


def _conflicts(a: set[int], b: set[int], cannot: dict[int, set[int]]) -> bool:
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return any(cannot.get(x, set()) & large for x in small)


class _Places:
    """The places of each cluster, so two clusters in places that exclude each other are never joined
    (pairs in conflicting places are not even scored, so the scores alone cannot tell)."""

    def __init__(self, code: np.ndarray, prefecture: np.ndarray, province: np.ndarray):
        self.code = code
        distinct = pd.DataFrame({"c": code, "p": prefecture, "v": province}).drop_duplicates("c")
        self.up = {c: {p, v} - {""} for c, p, v in zip(distinct["c"].tolist(), distinct["p"].tolist(),
                                                        distinct["v"].tolist()) if c}
        self.of: dict[int, set[str]] = {}

    def codes(self, root: int) -> set[str]:
        return self.of.get(root, {self.code[root]} - {""})

    def conflict(self, ra: int, rb: int) -> bool:
        for a in self.codes(ra):
            for b in self.codes(rb):
                if a != b and a not in self.up.get(b, ()) and b not in self.up.get(a, ()):
                    return True
        return False

    def join(self, ra: int, rb: int, root: int) -> None:
        self.of[root] = self.codes(ra) | self.codes(rb)


def cluster_pairs(n_records: int, scored: pd.DataFrame, auto_threshold: float, review_threshold: float,
                  must_link: pd.DataFrame | None = None, cannot_link: pd.DataFrame | None = None,
                  places: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                  ) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Cluster records ``0..n-1``.

    ``scored`` has ``rid_l, rid_r, score``; ``must_link``/``cannot_link`` have ``rid_l, rid_r``.
    Returns ``(cluster_of, merge_edges, suggestions)``: the cluster root of every record, the edges
    that were joined (with ``how`` = auto/reviewed), and the pairs left for a person (one per pair of
    clusters, the strongest).

    >>> s = pd.DataFrame({"rid_l": [0, 1, 0], "rid_r": [1, 2, 2], "score": [0.99, 0.97, 0.0]})
    >>> roots, edges, review = cluster_pairs(3, s, 0.9, 0.7)
    >>> len(set(roots.tolist())), len(edges), len(review)   # 0-1 joined; 1-2 would chain 0 to 2
    (2, 1, 1)
    """
    cannot: dict[int, set[int]] = {}
    candidates = scored[scored["score"] >= review_threshold].sort_values(
        ["score", "rid_l", "rid_r"], ascending=[False, True, True])
    # a distinct pair can only stop a join when both records are in some candidate edge or decision;
    # the others (most of a million records) would only fill the dict
    involved = np.zeros(n_records, dtype=bool)
    for frame in (candidates, must_link):
        if frame is not None and len(frame):
            involved[frame["rid_l"].to_numpy(np.int64)] = involved[frame["rid_r"].to_numpy(np.int64)] = True
    hard = scored.loc[(scored["score"] <= 0.0).to_numpy() & involved[scored["rid_l"].to_numpy(np.int64)]
                      & involved[scored["rid_r"].to_numpy(np.int64)], ["rid_l", "rid_r"]]
    frames = [hard] + ([cannot_link[["rid_l", "rid_r"]]] if cannot_link is not None and len(cannot_link) else [])
    for a, b in pd.concat(frames).itertuples(index=False):
        cannot.setdefault(int(a), set()).add(int(b))
        cannot.setdefault(int(b), set()).add(int(a))
    rejected = {(min(a, b), max(a, b)) for a, b in cannot_link[["rid_l", "rid_r"]].itertuples(index=False)} \
        if cannot_link is not None and len(cannot_link) else set()

    clusters = _Clusters(n_records)
    where = _Places(*places) if places is not None else None

    def union(a: int, b: int) -> None:
        ra, rb = clusters.find(a), clusters.find(b)
        clusters.union(a, b)
        if where is not None:
            where.join(ra, rb, clusters.find(a))

    joined = []
    if must_link is not None and len(must_link):
        for a, b in must_link[["rid_l", "rid_r"]].itertuples(index=False):
            union(int(a), int(b))
            joined.append((int(a), int(b), 1.0, "reviewed"))
    review = []
    for a, b, score in candidates[["rid_l", "rid_r", "score"]].itertuples(index=False):
        a, b = int(a), int(b)
        if (min(a, b), max(a, b)) in rejected:
            continue
        ra, rb = clusters.find(a), clusters.find(b)
        if ra == rb:
            continue
        if score >= auto_threshold and not _conflicts(clusters.group(ra), clusters.group(rb), cannot) \
                and not (where is not None and where.conflict(ra, rb)):
            union(a, b)
            joined.append((a, b, float(score), "auto"))
        else:
            review.append((a, b, float(score)))
    roots = flatten(clusters.parent)
    edges = pd.DataFrame(joined, columns=["rid_l", "rid_r", "score", "how"])
    sugg = pd.DataFrame(review, columns=["rid_l", "rid_r", "score"])
    if len(sugg):
        # later joins may have put both ends in one cluster; keep one suggestion per pair of clusters
        sugg["root_l"], sugg["root_r"] = roots[sugg["rid_l"]], roots[sugg["rid_r"]]
        sugg = sugg[sugg["root_l"] != sugg["root_r"]]
        lo = np.minimum(sugg["root_l"], sugg["root_r"])
        hi = np.maximum(sugg["root_l"], sugg["root_r"])
        sugg = sugg.assign(lo=lo, hi=hi).sort_values("score", ascending=False).drop_duplicates(["lo", "hi"])
        sugg = sugg[["rid_l", "rid_r", "score"]].reset_index(drop=True)
    return roots, edges, sugg
