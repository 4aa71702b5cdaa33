"""Carrying out reviewers' decisions: check them, then commit the facts, their audit rows and the live
state's overlay operations together (``Store.commit_decision``), against the live state they were
checked on.

Used by the web page, the JSON API and ``orgreg review``; every path goes through ``Desk`` so the
rules (what may be decided, by whom), the conflict checks and the audit log are the same everywhere.
A merge passes the nightly clustering's own conflict rule (``dedupe.cluster.group_conflicts``).
Each action is one *batch* in the audit log with the state it changed, so undo puts it back exactly.
When another process (a second worker, the terminal, the nightly run) moved the live state while a
decision was being checked, it is checked again on the new state (``LiveMoved`` → retry).
"""
from __future__ import annotations

import threading
import uuid

from core.decisions import Fact
from core.overlay import OverlayOp, apply_op, editable
from core.schema import NATIONAL_CATEGORIES
from core.store import DecisionConflict, pair_key
from serve import review
from serve.desk_rules import NotAllowed, Refused, parse_suggestion_id, require_admin, retried
from serve.desk_view import DeskView


def _unreached(units: list[str], keep: str, edges: list[dict]) -> list[str]:
    """One unit of each part of ``units`` that ``edges`` do not connect to ``keep`` (joined through it)."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(units)
    g.add_edges_from((e["left"], e["right"]) for e in edges)
    return [min(part) for part in nx.connected_components(g) if keep not in part]


class Desk(DeskView):
    """The review desk: the reading side (``DeskView``) and every decision, checked and committed."""

    _lock = threading.Lock()  # one decision at a time per process; the database's compare-and-swap settles the rest

    # ------------------------------------------------------------------ deciding
    @retried
    def decide(self, sid: str, decision: str, user: dict, survivor: str | None = None,
               request_key: str | None = None) -> dict:
        """``accept`` or ``reject`` the pending suggestion ``sid``; ``request_key`` (the client's
        idempotency key): a retry with it gets the first answer again, and nothing is decided twice."""
        left, right = parse_suggestion_id(sid)
        if decision not in ("accept", "reject"):
            raise ValueError("decision 应为 accept 或 reject")
        with self._lock:
            kept = self.store.replayed(request_key)
            if kept is not None:
                return kept
            existing = self.store.active_decision(left, right)
            if existing and existing["user"] == user["name"] and \
                    existing["decision"] == ("match" if decision == "accept" else "distinct") and \
                    (survivor is None or existing["survivor"] == survivor):
                # the same person sending the same decision again (a retry after a lost answer): done
                return {"id": sid, "kind": decision, "decision": decision, "decisions": [existing["id"]],
                        "survivor": existing["survivor"], "replayed": True}
            self._pending(sid, left, right)
            if decision == "reject":
                return self._batch(user, "reject", [(left, right, "distinct", None)], sid=sid,
                                   request_key=request_key)
            generation, frames = self.frames()
            canon = frames["id_map"].set_index("source_org_id")["canonical_org_id"]
            return self._merge_units(frames, user, [canon[left], canon[right]], survivor, [(left, right)],
                                     kind="accept", sid=sid, generation=generation, request_key=request_key)

    @retried
    def merge(self, org_ids: list[str], user: dict, survivor: str | None = None) -> dict:
        """A merge a reviewer proposes (“这两个是同一单位”), checked like the nightly clustering."""
        with self._lock:
            generation, frames = self.frames()
            canon = frames["id_map"].set_index("source_org_id")["canonical_org_id"]
            missing = [o for o in org_ids if o not in canon.index]
            if missing:
                raise LookupError(f"组织库中没有 ID 为 {'、'.join(missing)} 的记录")
            units = list(dict.fromkeys(canon[o] for o in org_ids))
            if len(units) < 2:
                raise ValueError("这些记录已经是同一单位，无需合并")
            pairs = [(org_ids[0], o) for o in org_ids[1:] if canon[o] != canon[org_ids[0]]]
            return self._merge_units(frames, user, units, survivor, pairs, kind="merge", generation=generation)

    @retried
    def decide_cluster(self, sid: str, decision: str, user: dict, groups: list[list[str]] | None = None,
                       survivors: dict[str, str] | None = None) -> dict:
        """Decide the whole cluster of ``sid``: reject every suggestion in it, or accept it as the given
        ``groups`` (lists of unit or record ids; default: one group) — suggestions inside a group are
        accepted, between groups rejected. Refused, with nothing changed, when a group holds a conflict."""
        with self._lock:
            generation, frames = self.frames()
            view = self.cluster(sid)
            units = [u["org_id"] for u in view["units"]]
            canon = frames["id_map"].set_index("source_org_id")["canonical_org_id"]
            if decision == "reject":
                facts = [(s["left_org_id"], s["right_org_id"], "distinct", None) for s in view["suggestions"]]
                return self._batch(user, "cluster-reject", facts, sid=sid, frames=frames, generation=generation)
            if decision != "accept":
                raise ValueError("decision 应为 accept 或 reject")
            groups = groups or [units]
            mapped = [[canon.get(x, x) for x in g] for g in groups]
            flat = [u for g in mapped for u in g]
            if sorted(set(flat)) != sorted(units) or len(flat) != len(set(flat)):
                raise ValueError("分组应恰好包含这一组里的每个单位一次（可以单独成组）")
            conflicts = self.conflicts(frames, [g for g in mapped if len(g) > 1])
            if conflicts:
                raise Refused("这一组里有不能合并的单位，未做任何改动；请把它们分到不同的组：" +
                              "；".join(f"{c['a']} 与 {c['b']}：{c['reason']}" for c in conflicts[:5]), conflicts)
            group_of = {u: i for i, g in enumerate(mapped) for u in g}
            facts, chosen = [], {}
            for i, g in enumerate(mapped):
                if len(g) < 2:
                    continue
                asked = (survivors or {}).get(str(i))
                keep = canon.get(asked, asked) if asked else review.default_survivor(frames, g)
                if keep not in g:
                    raise ValueError(f"第 {i + 1} 组保留的单位 {asked} 应是该组的单位之一")
                chosen[i] = keep
                inside = [s for s in view["suggestions"] if group_of[s["left"]] == group_of[s["right"]] == i]
                facts += [(s["left_org_id"], s["right_org_id"], "match", keep) for s in inside]
                facts += [(keep, u, "match", keep) for u in _unreached(g, keep, inside)]
            for s in view["suggestions"]:
                if group_of[s["left"]] != group_of[s["right"]]:
                    facts.append((s["left_org_id"], s["right_org_id"], "distinct", None))
            return self._batch(user, "cluster-accept", facts, sid=sid, frames=frames, generation=generation,
                               extra={"groups": mapped, "survivors": list(chosen.values())})

    @retried
    def correct(self, org_id: str, changes: dict[str, str], user: dict) -> dict:
        """Correct the surviving name, category or place of ``org_id``'s unit: a fact every later
        nightly run applies to that record (like decisions), and the live lookup shows at once."""
        changes = {k: (v or "").strip() for k, v in changes.items() if v is not None}
        problems = review.correction_problems(changes, self.regions)
        if problems:
            raise ValueError("；".join(problems))
        with self._lock:
            generation, frames = self.frames()
            canon = frames["id_map"].set_index("source_org_id")["canonical_org_id"]
            if org_id not in canon.index:
                raise LookupError(f"组织库中没有 ID 为 {org_id} 的记录")
            unit = canon[org_id]
            before = review.before_state(frames, {unit})
            fields = dict(changes)
            orgs = frames["organizations"].set_index("org_id")
            category = changes.get("category", orgs.at[unit, "category"])
            if changes.get("region_code") and category not in NATIONAL_CATEGORIES:
                fields["province_code"] = self.regions.province(changes["region_code"]) or ""
            batch = uuid.uuid4().hex[:12]
            receipt = self.store.commit_decision(
                user["name"], correct=(unit, changes), ops=[OverlayOp("correct", unit, unit, payload={"fields": fields})],
                batch=("review:correct", {"batch": batch, "kind": "correct", "units": [unit], "changes": changes,
                                          "before": before, "after": {unit: unit}}),
                expected=generation)
            self.frames()  # our operation is applied to the kept frames and queue
        return {"org_id": unit, "batch": batch, "kind": "correct", "changes": changes,
                "snapshot_version": receipt.result.get("snapshot_version"), "live": receipt.label}

    @retried
    def undo(self, user: dict) -> dict:
        """Take back the user's latest batch still in force (call again to go further back)."""
        with self._lock:
            batch = self.store.last_batch(user["name"])
            if batch is None:
                raise LookupError(f"{user['name']} 没有可撤销的决定")
            detail = batch["detail"]
            generation, frames = self.frames()
            after = detail.get("after") or {}
            idm = frames["id_map"]
            idm = idm[idm["source_org_id"].isin(list(after))]  # the batch's few records, not an index of all
            now = dict(zip(idm["source_org_id"].tolist(), idm["canonical_org_id"].tolist()))
            moved = [u for u, c in after.items() if now.get(u) != c]
            if moved:  # somebody changed these units since: putting back our state would undo theirs too
                raise Refused(f"撤销不了：{'、'.join(moved)} 在这次操作之后又被改动过；请在单位页面上拆分或重新决定。")
            active = set(self.store.decisions_frame()["id"].tolist())
            # a decision an admin's unmerge took back meanwhile stays withdrawn
            withdraw = [did for did in detail["decisions"] if did in active]
            receipt = self.store.commit_decision(
                user["name"], withdraw=withdraw, withdraw_action="undo:withdraw",
                withdraw_corrections=detail.get("corrections", []),
                ops=[OverlayOp("restore", payload=detail["before"])],
                batch=("undo", {"batch": detail["batch"], "kind": detail["kind"]}), expected=generation)
            self.frames()
        return {"undone": detail["batch"], "kind": detail["kind"], "id": detail.get("sid"),
                "decisions": detail["decisions"], "snapshot_version": receipt.result.get("snapshot_version"),
                "live": receipt.label}

    @retried
    def unmerge(self, source: str, user: dict) -> dict:
        """Split ``source`` out of the unit it was merged into, automatically or by a person (admins only)."""
        require_admin(user, "拆分合并")
        with self._lock:
            version, frames = self.frames()
            idm = frames["id_map"]
            canon = dict(zip(idm["source_org_id"], idm["canonical_org_id"]))
            if source not in canon:
                raise LookupError(f"没有 ID 为 {source} 的记录")
            survivor = canon[source]
            if survivor == source and (idm["canonical_org_id"] == source).sum() == 1:
                raise ValueError(f"{source} 没有与其他记录合并，无需拆分")
            partner = survivor if survivor != source else idm.loc[
                (idm["canonical_org_id"] == source) & (idm["source_org_id"] != source), "source_org_id"].iloc[0]
            existing = self.store.active_decision(source, partner)
            withdraw = [existing["id"]] if existing and existing["decision"] == "match" else []
            result = self._batch(user, "unmerge", [(source, partner, "distinct", None)], frames=frames,
                                 extra={"unmerge": source, "from": survivor}, generation=version, withdraw=withdraw)
        return dict(result, unmerged=source, **{"from": survivor})

    # ------------------------------------------------------------------ inside
    def _pending(self, sid: str, left: str, right: str) -> None:
        existing = self.store.active_decision(left, right)
        if existing:
            raise DecisionConflict(existing)
        q = self.queue()
        if not (q["id"] == sid).any():
            raise LookupError(f"没有待审核的合并建议 {sid}（只能决定待审核队列里的建议；"
                              f"要合并两条未被建议的记录，请用“这两个是同一单位”）")

    def _merge_units(self, frames: dict, user: dict, units: list[str], survivor: str | None,
                     pairs: list[tuple[str, str]], kind: str, sid: str | None = None, generation=None,
                     request_key: str | None = None) -> dict:
        canon = frames["id_map"].set_index("source_org_id")["canonical_org_id"]
        keep = canon.get(survivor, None) if survivor else review.default_survivor(frames, units)
        if keep not in units:
            raise ValueError(f"保留的单位 {survivor} 不是要合并的单位之一（可选：{'、'.join(units)}）")
        conflicts = self.conflicts(frames, [units])
        if conflicts:
            raise Refused("不能合并：" + "；".join(f"{c['a']} 与 {c['b']}：{c['reason']}" for c in conflicts[:5]),
                          conflicts)
        facts = [(a, b, "match", keep) for a, b in pairs]
        # units joined by none of the pairs (an explicit merge of three) are joined through the survivor
        linked = {canon[a] for p in pairs for a in p}
        facts += [(keep, u, "match", keep) for u in units if u not in linked]
        return self._batch(user, kind, facts, sid=sid, frames=frames, extra={"survivor": keep}, generation=generation,
                           request_key=request_key)

    def _batch(self, user: dict, kind: str, facts: list[tuple], sid: str | None = None, frames: dict | None = None,
               extra: dict | None = None, generation: int | None = None, withdraw=(),
               request_key: str | None = None) -> dict:
        """Commit ``facts`` (left, right, match/distinct, survivor) as one batch: the facts, their audit
        rows, the batch's row with the state it changes (for undo) and their overlay operations, in one
        transaction on the live generation the facts were checked on."""
        if frames is None or generation is None:
            generation, frames = self.frames()
        canon = frames["id_map"].set_index("source_org_id")["canonical_org_id"]
        units = {canon[x] for f in facts for x in f[:2]}
        before = review.before_state(frames, units, [(a, b) for a, b, *_ in facts])
        batch = uuid.uuid4().hex[:12]
        ops = [OverlayOp("match", a, b, keep) if decision == "match" else
               OverlayOp("unmerge" if kind == "unmerge" else "distinct", a, b) for a, b, decision, keep in facts]
        after_frames = editable(frames)
        for op in ops:
            after_frames = apply_op(after_frames, op)
        after_canon = after_frames["id_map"].set_index("source_org_id")["canonical_org_id"]
        after = {u: after_canon[u] for u in sorted(units)}
        receipt = self.store.commit_decision(
            user["name"], facts=[Fact(a, b, decision, keep) for a, b, decision, keep in facts], withdraw=withdraw,
            withdraw_action="unmerge:withdraw-match", ops=ops, expected=generation, request_key=request_key,
            result={"id": sid, "batch": batch, "kind": kind, "decision": kind,
                    "survivor": (extra or {}).get("survivor"), **(extra or {})},
            detail={"batch": batch, "kind": kind, "suggestion": sid, "snapshot": self._cache.version},
            batch=(f"review:{kind}", {"batch": batch, "kind": kind, "sid": sid, "units": sorted(units),
                                      "after": after, "before": before, **(extra or {})}))
        self.frames()  # our operations (and any other process's before them) are applied to the kept frames
        return receipt.result


__all__ = ["Desk", "DecisionConflict", "Refused", "NotAllowed", "parse_suggestion_id", "pair_key", "require_admin"]
