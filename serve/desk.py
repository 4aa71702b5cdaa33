"""Carrying out reviewers' decisions: record the fact, republish the live snapshot with it applied.

Used by the web page, the JSON API and ``orgreg review``; every path goes through ``Desk`` so the
rules, the conflict check and the audit log are the same everywhere.
"""
from __future__ import annotations

import threading

import pandas as pd

from core.regions import default_regions
from core.store import DecisionConflict, Store, pair_key
from serve import review

EDITED = ("organizations", "id_map", "merge_suggestions", "activity_visibility")


class Desk:
    _lock = threading.Lock()  # one republish at a time per process; the database settles the rest

    def __init__(self, store: Store):
        self.store = store
        self.regions = default_regions()
        # the live snapshot's frames and queue, kept between requests: a page load must not re-read
        # a million records; a decision replaces them with what it published
        self._cache: tuple[int, dict, pd.DataFrame | None] | None = None
        self._cache_lock = threading.RLock()  # the start-up warm-up and requests share the cache

    def frames(self) -> tuple[int, dict[str, pd.DataFrame]]:
        snap = self.store.live_snapshot()
        if snap is None:
            raise LookupError("还没有发布的快照：请先运行 orgreg nightly")
        with self._cache_lock:
            if self._cache is None or self._cache[0] != snap.version:
                frames = {n: snap.frame(n) for n in EDITED + ("records",) if snap.has(n)}
                self._cache = (snap.version, frames, None)  # only ever a complete set of frames
            return self._cache[0], dict(self._cache[1])

    def decided(self) -> set[str]:
        return set(self.store.decisions_frame()["pair_key"])

    def queue(self, frames: dict | None = None) -> pd.DataFrame:
        decided = self.decided()
        with self._cache_lock:
            version, current = self.frames()
            if self._cache[2] is None:
                self._cache = (version, self._cache[1], review.review_queue(current, decided, self.regions))
            queue = self._cache[2]
        return queue[~queue["id"].str.replace("-", "|", regex=False).isin(decided)]

    def _publish(self, frames: dict, counts: dict, note: str):
        """Republish the four edited frames; the rest are linked from the live snapshot."""
        live = self.store.live_snapshot()
        snap = self.store.publish({n: frames[n] for n in EDITED}, None, counts, note=note, unchanged_from=live)
        old_queue = self._cache[2] if self._cache else None
        if old_queue is not None:
            s = frames["merge_suggestions"]
            still = {review.suggestion_id(a, b) for a, b in
                     zip(s.loc[s["status"] == "pending", "left_org_id"].tolist(),
                         s.loc[s["status"] == "pending", "right_org_id"].tolist())}
            old_queue = old_queue[old_queue["id"].isin(still)]
        self._cache = (snap.version, dict(frames), old_queue)
        return snap

    def decide(self, sid: str, decision: str, user: str, survivor: str | None = None) -> dict:
        """``accept`` or ``reject`` suggestion ``sid``; raises DecisionConflict or LookupError."""
        left, right = review.split_id(sid)
        with self._lock:
            version, frames = self.frames()
            canon = set(frames["id_map"]["source_org_id"])
            if left not in canon or right not in canon:
                raise LookupError(f"没有这条合并建议：{sid}")
            if decision == "accept":
                survivor = survivor or review.default_survivor(frames, left, right)
                if survivor not in canon:
                    raise LookupError(f"保留的单位 {survivor} 不在这一对里")
                self.store.decide(left, right, "match", user, survivor, {"suggestion": sid, "snapshot": version})
                new = review.apply_match(frames, left, right, survivor)
            elif decision == "reject":
                self.store.decide(left, right, "distinct", user, None, {"suggestion": sid, "snapshot": version})
                new = review.apply_distinct(frames, left, right)
            else:
                raise ValueError("decision 应为 accept 或 reject")
            snap = self._publish(new, {"decision": decision, "suggestion": sid}, f"{user}: {decision}")
        return {"id": sid, "decision": decision, "survivor": survivor, "snapshot_version": snap.version}

    def cluster_of(self, sid: str, frames: dict) -> list[str]:
        """The pending suggestions connected to ``sid`` through the units they name (a cluster)."""
        import networkx as nx

        queue = review.review_queue(frames, self.decided(), self.regions)
        g = nx.Graph()
        g.add_edges_from((r.left_canonical, r.right_canonical, {"id": r.id}) for r in queue.itertuples())
        hit = queue[queue["id"] == sid]
        if hit.empty:
            raise LookupError(f"没有待审核的建议 {sid}")
        nodes = nx.node_connected_component(g, hit.iloc[0]["left_canonical"])
        return [d["id"] for _, _, d in g.subgraph(nodes).edges(data=True)]

    def decide_cluster(self, sid: str, decision: str, user: str) -> dict:
        """Accept or reject every pending suggestion of ``sid``'s cluster at once (one republish)."""
        with self._lock:
            version, frames = self.frames()
            done = []
            for one in self.cluster_of(sid, frames):
                left, right = review.split_id(one)
                try:
                    if decision == "accept":
                        survivor = review.default_survivor(frames, left, right)
                        self.store.decide(left, right, "match", user, survivor, {"cluster_of": sid})
                        frames = review.apply_match(frames, left, right, survivor)
                    else:
                        self.store.decide(left, right, "distinct", user, None, {"cluster_of": sid})
                        frames = review.apply_distinct(frames, left, right)
                except DecisionConflict:
                    continue  # decided meanwhile by somebody else: theirs stands
                done.append(one)
            snap = self._publish(frames, {"cluster": sid, "decision": decision}, f"{user}: cluster {decision}")
        return {"ids": done, "decision": decision, "snapshot_version": snap.version}

    def undo(self, user: str) -> dict:
        """Withdraw the user's last decision: the pair is pending again and the merge or split is reverted."""
        last = self.store.last_decision(user)
        if last is None:
            raise LookupError(f"{user} 没有可撤销的决定")
        with self._lock:
            self.store.withdraw(last["id"], user)
            version, frames = self.frames()
            left, right = last["left_org_id"], last["right_org_id"]
            if last["decision"] == "match":
                # split off the side that was merged into the survivor (the next nightly run redoes it exactly)
                frames = review.unmerge(frames, left if last["survivor"] == right else right)
            frames = self._set_pending(frames, left, right)
            self._cache = None  # the pair is pending again: the queue is rebuilt
            snap = self._publish(frames, {"undo": last["id"]}, f"{user}: undo")
        return {"undone": last["id"], "id": review.suggestion_id(left, right), "snapshot_version": snap.version}

    def unmerge(self, source: str, user: str) -> dict:
        """Split ``source`` out of the unit it was merged into, automatically or by a person, for good."""
        with self._lock:
            version, frames = self.frames()
            idm = dict(zip(frames["id_map"]["source_org_id"], frames["id_map"]["canonical_org_id"]))
            if source not in idm:
                raise LookupError(f"没有 ID 为 {source} 的记录")
            survivor = idm[source]
            if survivor == source and (frames["id_map"]["canonical_org_id"] == source).sum() == 1:
                raise LookupError(f"{source} 没有与其他记录合并")
            partner = survivor if survivor != source else frames["id_map"].loc[
                (frames["id_map"]["canonical_org_id"] == source) & (frames["id_map"]["source_org_id"] != source),
                "source_org_id"].iloc[0]
            existing = self.store.active_decision(source, partner)
            if existing and existing["decision"] == "match":
                self.store.withdraw(existing["id"], user, action="unmerge:withdraw-match")
            self.store.decide(source, partner, "distinct", user, None, {"unmerge": source, "snapshot": version})
            frames = review.unmerge(frames, source)
            frames = review.set_status(frames, source, partner, "rejected")
            snap = self._publish(frames, {"unmerge": source}, f"{user}: unmerge")
        return {"unmerged": source, "from": survivor, "snapshot_version": snap.version}

    @staticmethod
    def _set_pending(frames: dict, left: str, right: str) -> dict:
        s = frames["merge_suggestions"]
        key = pair_key(left, right)
        hit = [pair_key(a, b) == key for a, b in zip(s["left_org_id"].tolist(), s["right_org_id"].tolist())]
        s = s.copy()
        s.loc[hit, "status"] = "pending"
        frames["merge_suggestions"] = s
        return frames


__all__ = ["Desk", "DecisionConflict"]
