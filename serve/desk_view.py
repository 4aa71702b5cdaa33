"""What the review desk reads: the live frames and the review queue, kept between requests and brought
up to date with the overlay operations committed since (here or by another process), the cluster
around a suggestion and the conflicts a merge would make.

A page load must not re-read a million records, and a decision must not rebuild a queue of 100,000:
the kept frames take each new operation (``core.overlay.apply_op``) and the queue rebuilds only the
rows of the records it touched (``serve.queue.refreshed``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pandas as pd

from core.overlay import OVERLAY_FRAMES, apply_op, editable, touched_sources
from core.regions import default_regions
from core.store import Store
from dedupe.cluster import group_conflicts
from serve import queue as queues
from serve import review
from serve.desk_rules import parse_suggestion_id

EDITED = OVERLAY_FRAMES
NO_OPS = 2 ** 31 - 1  # live_changes(after=NO_OPS): the state alone (a full load reads the overlay itself)
MAX_CLUSTER = 60  # units shown and decided at once; a larger component is cut (said in the answer)


@dataclass
class _Kept:
    version: int  # nightly snapshot
    generation: int
    head: int  # newest overlay operation applied to ``frames``
    frames: dict
    queue: pd.DataFrame | None = None
    ids: frozenset | None = None  # the snapshot's source ids: operations never add or remove records


class DeskView:
    """The desk's reading side (``serve.desk.Desk`` adds the decisions)."""

    def __init__(self, store: Store):
        self.store = store
        self.regions = default_regions()
        # the live frames and queue, kept between requests: a page load must not re-read a million
        # records; a decision (here or in another process) is applied to them as its overlay operations
        self._cache: _Kept | None = None
        self._cache_lock = threading.RLock()  # the start-up warm-up and requests share the cache
        self._places: tuple | None = None  # (queue, its province and city lists)
        self._seen: tuple | None = None  # (queue, decided keys, queue without them): page loads reuse it

    # ------------------------------------------------------------------ reading
    def frames(self) -> tuple[int, dict[str, pd.DataFrame]]:
        """The live generation and the live frames (the nightly snapshot with the decision overlay)."""
        with self._cache_lock:
            k = self._cache
            state, ops = self.store.live_changes(k.head if k else NO_OPS)
            if state is None:
                raise LookupError("还没有发布的快照：请先运行 orgreg nightly")
            if k is not None and k.generation == state.generation:
                return k.generation, dict(k.frames)
            if k is not None and k.version == state.version:
                # the same nightly snapshot: only the operations since ours are applied, and the queue
                # rows of the records they touch are built again
                frames, sources = editable(k.frames), set()
                # a set of 100,000 ids costs 60 ms: worked out once per nightly snapshot
                ids = k.ids if k.ids is not None else frozenset(frames["id_map"]["source_org_id"].tolist())
                for op in ops:
                    sources |= touched_sources(frames, op)
                    frames = apply_op(frames, op, ids)
                queue = k.queue
                if queue is not None and sources:
                    queue = queues.refreshed(queue, frames, sources, self.decided(), self.regions)
                self._cache = _Kept(k.version, state.generation, max([k.head] + [op.seq for op in ops]), frames,
                                    queue, ids)
            else:
                snap = self.store.live_snapshot()
                frames = {n: snap.frame(n) for n in EDITED + ("records",) if snap.has(n)}
                self._cache = _Kept(snap.version, snap.generation, snap.head, frames)
            return self._cache.generation, dict(self._cache.frames)

    def decided(self) -> set[str]:
        return set(self.store.decisions_frame()["pair_key"])

    def queue(self) -> pd.DataFrame:
        """Pending suggestions nobody has decided, most impact first."""
        decided = self.decided()
        with self._cache_lock:
            _, current = self.frames()
            if self._cache.queue is None:
                self._cache.queue = queues.review_queue(current, decided, self.regions)
            queue = self._cache.queue
            seen = self._seen
            if seen is not None and seen[0] is queue and seen[1] == decided:
                return seen[2]  # nobody decided anything since: the filtered queue as it was
            out = queue[~queue["key"].isin(decided)]
            self._seen = (queue, decided, out)
        return out

    def places(self, queue: pd.DataFrame) -> list[dict]:
        """The provinces and cities of ``queue`` (``serve.queue.places``), worked out once per queue:
        every page load asks for them, and they change only with a decision."""
        kept = self._places
        if kept is not None and kept[0] is queue:
            return kept[1]
        out = queues.places(queue, self.regions)
        self._places = (queue, out)
        return out

    def cluster(self, sid: str) -> dict:
        """Every unit that the pending suggestions around ``sid`` would put together, with their
        records, the suggestions between them and the conflicts the matcher knows of."""
        parse_suggestion_id(sid)
        version, frames = self.frames()
        units, edges, cut = queues.cluster_around(self.queue(), sid, MAX_CLUSTER)
        survivor = review.default_survivor(frames, sorted(units))
        return {"id": sid, "units": queues.describe_units(frames, self.regions, units, survivor),
                "survivor": survivor, "cut": cut, "snapshot_version": version,
                "suggestions": [{"id": r.id, "left": r.left_canonical, "right": r.right_canonical,
                                 "left_org_id": r.left_org_id, "right_org_id": r.right_org_id,
                                 "score": float(r.score), "explanation": r.explanation} for r in edges.itertuples()],
                "conflicts": self.conflicts(frames, [sorted(units)])}

    def conflicts(self, frames: dict, groups: list[list[str]]) -> list[dict]:
        """The conflicts between records of different units that one of ``groups`` (lists of
        canonical ids) would put into one unit; each names both units."""
        units = [u for g in groups for u in g]
        idm = frames["id_map"]
        members = idm[idm["canonical_org_id"].isin(units)]
        unit_of = dict(zip(members["source_org_id"], members["canonical_org_id"]))
        group_of = {u: i for i, g in enumerate(groups) for u in g}
        d = self.store.decisions_frame()
        d = d[(d["decision"] == "distinct") & d["left_org_id"].isin(unit_of) & d["right_org_id"].isin(unit_of)]
        rejected = {frozenset(p) for p in zip(d["left_org_id"], d["right_org_id"])}
        rec = frames["records"]
        found = group_conflicts(rec[rec["org_id"].isin(unit_of)].reset_index(drop=True), rejected)
        return [dict(c, unit_a=unit_of[c["a"]], unit_b=unit_of[c["b"]]) for c in found
                if unit_of[c["a"]] != unit_of[c["b"]] and group_of[unit_of[c["a"]]] == group_of[unit_of[c["b"]]]]

    def unit(self, org_id: str) -> dict:
        """The unit a record belongs to, with every record merged into it and how."""
        return queues.describe_unit(self.frames()[1], self.regions, org_id)
