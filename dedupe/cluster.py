"""Clusters from merge edges, without chaining A to C through B when A and C are distinct.

Edges are joined strongest first (union-find); an edge whose two clusters contain a pair known to
be distinct (scored as a conflict, or rejected by a person) is not joined but sent to review.
People's decisions come first: ``match`` pairs are joined before any score, ``distinct`` pairs are
never joined and never suggested.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from dedupe.compare import HeadPlaces, compare_records


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


def _contested(candidates: pd.DataFrame, auto_threshold: float, cannot: dict[int, set[int]],
               where: _Places | None) -> set[int]:
    """Records whose automatic matches include two that can never be one unit (places that exclude each
    other, or a distinct pair): 黑龙江康润物流 [230000] fits 鸡西's and 哈尔滨's 康润物流 alike, so
    joining it to either would be a guess; such a record merges with nobody automatically and its
    pairs go to review."""
    auto = candidates[candidates["score"].to_numpy() >= auto_threshold]
    ends = np.concatenate([auto["rid_l"].to_numpy(np.int64), auto["rid_r"].to_numpy(np.int64)])
    others = np.concatenate([auto["rid_r"].to_numpy(np.int64), auto["rid_l"].to_numpy(np.int64)])
    order = np.argsort(ends, kind="stable")
    ends, others = ends[order], others[order]
    starts = np.flatnonzero(np.r_[True, ends[1:] != ends[:-1]]) if len(ends) else np.zeros(0, dtype=np.int64)
    found = set()
    for record, group in zip(ends[starts].tolist(), np.split(others, starts[1:])):
        if len(group) < 2:
            continue
        near = group.tolist()
        if any(y in cannot.get(x, ()) or (where is not None and where.conflict(x, y))
               for i, x in enumerate(near) for y in near[i + 1:]):
            found.add(record)
    return found


def _greedy(n_records: int, candidates: pd.DataFrame, hard: pd.DataFrame, auto_threshold: float,
            must_link: pd.DataFrame | None, cannot_link: pd.DataFrame | None, where: _Places | None
            ) -> tuple[np.ndarray, list, list]:
    """The clustering rule itself: must-links joined first, then candidate edges strongest first
    unless the two clusters hold a distinct pair or exclusive places. ``(roots, joined, review)``."""
    cannot: dict[int, set[int]] = {}
    frames = [hard] + ([cannot_link[["rid_l", "rid_r"]]] if cannot_link is not None and len(cannot_link) else [])
    for a, b in pd.concat(frames).itertuples(index=False):
        cannot.setdefault(int(a), set()).add(int(b))
        cannot.setdefault(int(b), set()).add(int(a))
    rejected = {(min(a, b), max(a, b)) for a, b in cannot_link[["rid_l", "rid_r"]].itertuples(index=False)} \
        if cannot_link is not None and len(cannot_link) else set()
    clusters = _Clusters(n_records)

    def union(a: int, b: int) -> None:
        ra, rb = clusters.find(a), clusters.find(b)
        clusters.union(a, b)
        if where is not None:
            where.join(ra, rb, clusters.find(a))

    contested = _contested(candidates, auto_threshold, cannot, where)
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
        if score >= auto_threshold and a not in contested and b not in contested \
                and not _conflicts(clusters.group(ra), clusters.group(rb), cannot) \
                and not (where is not None and where.conflict(ra, rb)):
            union(a, b)
            joined.append((a, b, float(score), "auto"))
        else:
            review.append((a, b, float(score)))
    return flatten(clusters.parent), joined, review


def components(n_records: int, edges: list[pd.DataFrame]) -> np.ndarray:
    """The connected component of every record over the given ``rid_l, rid_r`` edges (scipy, in C)."""
    if not n_records:
        return np.zeros(0, dtype=np.int64)
    a = np.concatenate([e["rid_l"].to_numpy(np.int64) for e in edges])
    b = np.concatenate([e["rid_r"].to_numpy(np.int64) for e in edges])
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_records, n_records))
    return connected_components(graph, directed=False)[1]


def _places_agree(component: np.ndarray, rows: np.ndarray, where: _Places) -> np.ndarray:
    """Per component label: whether every two places of its members are the same or nested, so that
    no join inside it can meet exclusive places."""
    ok = np.ones(component.max() + 1 if len(component) else 0, dtype=bool)
    codes = where.code[rows]
    known = codes != ""
    pairs = pd.DataFrame({"c": component[rows][known], "code": codes[known]}).drop_duplicates()
    several = pairs[pairs["c"].duplicated(keep=False)]
    for c, group in several.groupby("c")["code"]:
        found = group.tolist()
        ok[c] = all(x == y or x in where.up.get(y, ()) or y in where.up.get(x, ())
                    for i, x in enumerate(found) for y in found[i + 1:])
    return ok


def cluster_pairs(n_records: int, scored: pd.DataFrame, auto_threshold: float, review_threshold: float,
                  must_link: pd.DataFrame | None = None, cannot_link: pd.DataFrame | None = None,
                  places: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                  ) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Cluster records ``0..n-1``.

    ``scored`` has ``rid_l, rid_r, score``; ``must_link``/``cannot_link`` have ``rid_l, rid_r``.
    Returns ``(cluster_of, merge_edges, suggestions)``: the cluster root of every record, merge edges
    whose automatic ones (``how`` = auto) connect exactly what automatic joins connected, and the
    pairs left for a person (one per pair of clusters, the strongest).

    The rule is ``_greedy``. It runs only on the components of the candidate graph where a join can
    be refused (a distinct pair, a decision, or two exclusive places among the members); in the
    others (nearly all, at a million records) every automatic edge joins, so their clusters are the
    components of the automatic edges and everything weaker is a suggestion.

    >>> s = pd.DataFrame({"rid_l": [0, 1, 0], "rid_r": [1, 2, 2], "score": [0.99, 0.97, 0.0]})
    >>> roots, edges, review = cluster_pairs(3, s, 0.9, 0.7)
    >>> len(set(roots.tolist())), len(edges), len(review)   # 1 fits 0 and 2, which are distinct: neither
    (3, 0, 2)
    """
    candidates = scored[scored["score"] >= review_threshold].sort_values(
        ["score", "rid_l", "rid_r"], ascending=[False, True, True])
    decided = [d[["rid_l", "rid_r"]] for d in (must_link, cannot_link) if d is not None and len(d)]
    component = components(n_records, [candidates[["rid_l", "rid_r"]]] + decided)
    in_edge = np.zeros(n_records, dtype=bool)
    in_edge[candidates["rid_l"].to_numpy(np.int64)] = in_edge[candidates["rid_r"].to_numpy(np.int64)] = True
    for d in decided:
        in_edge[d["rid_l"].to_numpy(np.int64)] = in_edge[d["rid_r"].to_numpy(np.int64)] = True
    # a distinct pair can only refuse a join inside one component
    a, b = scored["rid_l"].to_numpy(np.int64), scored["rid_r"].to_numpy(np.int64)
    hard_mask = (scored["score"] <= 0.0).to_numpy() & in_edge[a] & in_edge[b] & (component[a] == component[b])
    hard = scored.loc[hard_mask, ["rid_l", "rid_r"]]
    complex_ = np.zeros(component.max() + 1 if n_records else 0, dtype=bool)
    complex_[component[hard["rid_l"].to_numpy(np.int64)]] = True
    for d in decided:
        complex_[component[d["rid_l"].to_numpy(np.int64)]] = True
    where = _Places(*places) if places is not None else None
    if where is not None:
        complex_ |= ~_places_agree(component, np.flatnonzero(in_edge), where)
    slow = complex_[component[candidates["rid_l"].to_numpy(np.int64)]]
    roots, joined, review = _greedy(n_records, candidates[slow], hard, auto_threshold, must_link, cannot_link, where)
    # the other components: clusters are the components of their automatic edges
    easy = candidates[~slow]
    auto = easy[easy["score"].to_numpy() >= auto_threshold]
    members = np.flatnonzero(in_edge & ~complex_[component])
    if len(auto):
        label = components(n_records, [auto])
        first = pd.Series(np.arange(n_records)[members]).groupby(label[members]).transform("min").to_numpy()
        roots[members] = first
    edges = pd.DataFrame(joined, columns=["rid_l", "rid_r", "score", "how"])
    edges = pd.concat([edges, auto[["rid_l", "rid_r", "score"]].assign(how="auto")], ignore_index=True)
    weak = easy[easy["score"].to_numpy() < auto_threshold]
    sugg = pd.concat([pd.DataFrame(review, columns=["rid_l", "rid_r", "score"]), weak[["rid_l", "rid_r", "score"]]],
                     ignore_index=True)
    if len(sugg):
        # later joins may have put both ends in one cluster; keep one suggestion per pair of clusters
        root_l, root_r = roots[sugg["rid_l"].to_numpy(np.int64)], roots[sugg["rid_r"].to_numpy(np.int64)]
        sugg = sugg.assign(lo=np.minimum(root_l, root_r), hi=np.maximum(root_l, root_r))[root_l != root_r]
        sugg = sugg.sort_values(["score", "rid_l", "rid_r"], ascending=[False, True, True]).drop_duplicates(["lo", "hi"])
        sugg = sugg[["rid_l", "rid_r", "score"]].reset_index(drop=True)
    return roots, edges, sugg


def group_conflicts(members: pd.DataFrame, rejected: set[frozenset] = frozenset()) -> list[dict]:
    """Why the prepared records ``members`` may not all become one unit: every pair the nightly
    clustering would refuse to join (scored distinct, rejected by a person, exclusive places), and
    two certified records (two units the registry vouches for). Empty when they may.

    >>> rows = [{"org_id": o, "region_best": c, "prefecture_best": c[:4] + "00", "province_best": c[:2] + "0000",
    ...          "certified": False} for o, c in (("a", "440105"), ("b", "440100"), ("c", "330106"))]
    >>> [(x["a"], x["b"], x["kind"]) for x in group_conflicts(pd.DataFrame(rows))]
    [('a', 'c', 'places'), ('b', 'c', 'places')]
    """
    rows = members.to_dict("records")
    where = _Places(*(members[c].to_numpy() for c in ("region_best", "prefecture_best", "province_best")))
    scored = "name_head" in members.columns
    heads = HeadPlaces(members) if scored else None
    found = []
    for i, left in enumerate(rows):
        for j in range(i + 1, len(rows)):
            right = rows[j]
            a, b = str(left["org_id"]), str(right["org_id"])
            if frozenset((a, b)) in rejected:
                found.append({"a": a, "b": b, "kind": "rejected", "reason": "这两条记录已被审核人判定为不同单位"})
            elif where.conflict(i, j):
                found.append({"a": a, "b": b, "kind": "places", "reason": "两者地区互斥（不同地区的单位不能合并）"})
            elif scored and compare_records(left, right, heads).score <= 0.0:
                found.append({"a": a, "b": b, "kind": "distinct",
                              "reason": f"匹配规则判定为不同单位：{compare_records(left, right, heads).note}"})
            elif bool(left["certified"]) and bool(right["certified"]):
                found.append({"a": a, "b": b, "kind": "certified", "reason": "两者都是已认证单位"})
    return found
