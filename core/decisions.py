"""People's decisions: match / distinct facts on source ids and corrections of a unit's fields, committed
atomically with their audit rows, their overlay operations and the new live generation (one
transaction, or nothing).

A retry is safe: a request may carry an idempotency key (its first answer is kept and given again),
and without one, the same person sending the same decision on the same pair again is told it is done
(not a conflict). Somebody else's decision on the pair is a ``DecisionConflict``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.overlay import OverlayOp, pair_key

DECISION_COLUMNS = ["id", "left_org_id", "right_org_id", "pair_key", "decision", "survivor", "user", "created_at",
                    "active"]


@dataclass(frozen=True)
class Fact:
    """A person's decision on a pair."""
    left: str
    right: str
    decision: str  # match, distinct
    survivor: str | None = None

    def overlay_op(self) -> OverlayOp:
        return OverlayOp(self.decision, self.left, self.right, self.survivor)


@dataclass
class Receipt:
    """What a committed decision did."""
    generation: int | None  # the live generation it made (None: nothing live)
    decision_ids: list[int] = field(default_factory=list)
    correction_ids: list[int] = field(default_factory=list)
    replayed: bool = False  # a retry: the decision was already there
    result: dict = field(default_factory=dict)  # what the caller kept with the request key
    label: str = ""  # the live state after it, e.g. v7+3


class DecisionConflict(Exception):
    """Somebody already decided this pair."""

    def __init__(self, existing: dict | None):
        self.existing = existing or {}
        who = self.existing.get("user", "另一位审核人")
        what = {"match": "接受合并", "distinct": "拒绝合并"}.get(self.existing.get("decision"), "处理")
        super().__init__(f"这一对已由 {who} {what}，未覆盖其决定；请刷新后继续。")


class DecisionStore:
    """The decision part of ``core.store.Store`` (mixed into it; uses its engine, tables and live state)."""

    def decisions_frame(self) -> pd.DataFrame:
        """Every active decision (what the next nightly run applies before clustering)."""
        return self.decisions_with_watermark()[0]

    def decisions_with_watermark(self) -> tuple[pd.DataFrame, pd.DataFrame, int]:
        """The active decisions, the active corrections and the newest overlay operation they include,
        read together: a nightly run publishes with that watermark, so what is committed after its read
        stays on top of its snapshot."""
        d, o, k = self.tables.decisions, self.tables.overlay_ops, self.tables.corrections
        with self.reading() as c:
            head = int(c.execute(select(func.coalesce(func.max(o.c.seq), 0))).scalar())
            rows = c.execute(select(d).where(d.c.active.is_(True))).mappings().all()
            fixes = c.execute(select(k.c.org_id, k.c.field, k.c.value).where(k.c.active.is_(True))).all()
        return (pd.DataFrame([{k: r[k] for k in DECISION_COLUMNS} for r in rows], columns=DECISION_COLUMNS),
                pd.DataFrame([tuple(r) for r in fixes], columns=["org_id", "field", "value"]), head)

    def replayed(self, request_key: str | None) -> dict | None:
        """The answer already given to the request with this idempotency key, if any."""
        if not request_key:
            return None
        r = self.tables.requests
        with self.engine.connect() as c:
            row = c.execute(select(r.c.result).where(r.c.key == request_key)).first()
        return row.result if row else None

    def commit_decision(self, user: str, *, facts=(), withdraw=(), withdraw_action: str = "undo", correct=None,
                        withdraw_corrections=(), ops=None, batch: tuple[str, dict] | None = None,
                        expected: int | None = None, request_key: str | None = None, result: dict | None = None,
                        detail: dict | None = None) -> Receipt:
        """One decision, all or nothing: record ``facts``, withdraw the decisions ``withdraw`` (ids), record
        the correction ``correct`` (unit, {field: value}) and withdraw ``withdraw_corrections``, with an
        audit row each and the batch's row (``batch``: action and detail, given the ids made), append
        ``ops`` to the overlay (default: each fact's own operation) and move the live state on from
        generation ``expected`` (``LiveMoved`` if it moved meanwhile).

        Raises ``DecisionConflict`` when somebody else decided a pair, ``LookupError`` for a decision to
        withdraw that is not active.
        """
        for attempt in range(3):
            try:
                return self._commit(user, list(facts), list(withdraw), withdraw_action, correct,
                                    list(withdraw_corrections), ops, batch, expected, request_key, result or {},
                                    detail or {})
            except IntegrityError:
                # a concurrent writer (PostgreSQL) inserted the same pair or key first: the checks see it now
                if attempt == 2:
                    raise

    def _commit(self, user, facts, withdraw, withdraw_action, correct, withdraw_corrections, ops, batch, expected,
                request_key, result, detail):
        t = self.tables
        with self.writing() as c:
            self.lock_live(c)
            if request_key:
                kept = c.execute(select(t.requests.c.result).where(t.requests.c.key == request_key)).first()
                if kept:
                    return Receipt(kept.result.get("live_version"), replayed=True, result=kept.result)
            receipt = Receipt(None, result=result)
            for did in withdraw:
                row = c.execute(select(t.decisions).where(t.decisions.c.id == did)).mappings().first()
                if row is None or not row["active"]:
                    raise LookupError(f"决定 {did} 不存在或已撤销")
                c.execute(update(t.decisions).where(t.decisions.c.id == did).values(active=False))
                self._audit(c, user, withdraw_action, {"decision_id": did, "before": {
                    k: row[k] for k in ("left_org_id", "right_org_id", "decision", "survivor", "user")}})
            new_facts = []
            for fact in facts:
                active = c.execute(select(t.decisions).where(t.decisions.c.pair_key == pair_key(fact.left, fact.right),
                                                             t.decisions.c.active.is_(True))).mappings().first()
                if active is not None:
                    if (active["user"], active["decision"], active["survivor"]) == (user, fact.decision, fact.survivor):
                        receipt.decision_ids.append(int(active["id"]))  # the same decision again: a retry
                        continue
                    raise DecisionConflict(dict(active))
                did = int(c.execute(insert(t.decisions).values(
                    left_org_id=fact.left, right_org_id=fact.right, pair_key=pair_key(fact.left, fact.right),
                    decision=fact.decision, survivor=fact.survivor, user=user, created_at=self.now(),
                    active=True)).inserted_primary_key[0])
                receipt.decision_ids.append(did)
                new_facts.append(fact)
                self._audit(c, user, f"decide:{fact.decision}", {"decision_id": did, "left": fact.left,
                                                                 "right": fact.right, "survivor": fact.survivor,
                                                                 **detail})
            k = t.corrections
            if withdraw_corrections:
                c.execute(update(k).where(k.c.id.in_(withdraw_corrections)).values(active=False))
            if correct is not None:
                unit, changes = correct
                for name, value in changes.items():
                    # an older active correction of the same field stops counting
                    c.execute(update(k).where(k.c.org_id == unit, k.c.field == name, k.c.active.is_(True))
                              .values(active=False))
                    receipt.correction_ids.append(int(c.execute(insert(k).values(
                        org_id=unit, field=name, value=value, user=user, created_at=self.now(), active=True)
                    ).inserted_primary_key[0]))
            if facts and not new_facts and not withdraw and correct is None and not withdraw_corrections:
                receipt.replayed = True  # every fact was already there: nothing changes
                ops = []
            ops = [f.overlay_op() for f in new_facts] if ops is None else ops
            for op in ops:
                c.execute(insert(t.overlay_ops).values(
                    kind=op.kind, left_org_id=op.left, right_org_id=op.right, survivor=op.survivor,
                    payload=op.payload or None, user=user, created_at=self.now()))
            if batch is not None:
                action, batch_detail = batch
                self._audit(c, user, action, dict(batch_detail, decisions=receipt.decision_ids,
                                                  corrections=receipt.correction_ids))
            if ops and self.live_state(c) is not None:
                self.bump_live(c, expected, f"{batch[0] if batch else 'decision'} {receipt.decision_ids or ''}".strip(),
                               user)
            state = self.live_state(c)
            if state is not None:
                receipt.generation, receipt.label = state.generation, state.label
                receipt.result = dict(result, snapshot_version=state.version, live_version=state.generation,
                                      live=state.label, decisions=receipt.decision_ids)
            if request_key:
                c.execute(insert(t.requests).values(key=request_key, user=user, result=receipt.result, at=self.now()))
            return receipt

    def _audit(self, c, user: str, action: str, detail: dict) -> None:
        c.execute(insert(self.tables.audit_log).values(at=self.now(), user=user, action=action, detail=detail))

    def decide(self, left: str, right: str, decision: str, user: str, survivor: str | None = None,
               detail: dict | None = None) -> int:
        """Record a person's match/distinct fact (and its overlay operation); ``DecisionConflict`` if the pair
        is already decided by somebody else."""
        return self.commit_decision(user, facts=[Fact(left, right, decision, survivor)], detail=detail).decision_ids[0]

    def active_decision(self, left: str, right: str) -> dict | None:
        d = self.tables.decisions
        with self.engine.connect() as c:
            row = c.execute(select(d).where(d.c.pair_key == pair_key(left, right),
                                            d.c.active.is_(True))).mappings().first()
        return dict(row) if row else None

    def corrections_frame(self) -> pd.DataFrame:
        """Active corrections: ``org_id, field, value`` (one per record and field)."""
        return self.decisions_with_watermark()[1]
