"""组织入驻: proposals of new units, their queue and decisions (the store's part; no web, no clock beyond
the store's ``now``).

A proposal gets its id when it is submitted (``RZ`` and eight digits: the registry's ids are digits, so
the two never collide). Accepted, that id is a unit at once: the service adds accepted proposals to its
answers as a live overlay (``serve/proposals.py``) without rewriting the snapshot, and the next nightly
run carries them in as source records (``flows/pipeline.py``), so the id stays across runs. When the
registry export later holds a matching record, the export's id becomes canonical and the proposal id
resolves to it like a merged id. A proposal merged into an existing unit resolves to that unit.

Every change bumps ``revision`` (the largest over the table): a serving process polls that one number.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import func, insert, select, update

PREFIX = "RZ"
PENDING, ACCEPTED, MERGED, REJECTED = "pending", "accepted", "merged", "rejected"
STATUS_TEXT = {PENDING: "待处理", ACCEPTED: "已入驻", MERGED: "已并入现有单位", REJECTED: "已驳回"}
ACTIONS = {"accept": ACCEPTED, "merge": MERGED, "reject": REJECTED}
FIELDS = ("org_id", "name", "category", "region_code", "parent_id", "contact", "verdict", "candidates",
          "inferred", "status", "reason", "submitted_by", "decided_by", "created_at", "decided_at", "merged_into",
          "linked_org_id", "revision")


def proposal_id(seq: int) -> str:
    """The unit id of the ``seq``-th proposal.

    >>> proposal_id(12)
    'RZ00000012'
    """
    return f"{PREFIX}{seq:08d}"


def is_proposal_id(org_id: str) -> bool:
    """True for an id given by 组织入驻.

    >>> is_proposal_id("RZ00000012"), is_proposal_id("907526490")
    (True, False)
    """
    return org_id.startswith(PREFIX) and org_id[len(PREFIX):].isdigit()


REGISTRY_COLUMNS = ["org_id", "name", "category", "region_code", "region", "parent_id", "certified", "created_at",
                    "updated_at"]


def proposal_records(rows: list[dict]) -> pd.DataFrame:
    """Accepted proposals as registry rows (checked already), for the nightly run to carry in: the
    proposal id stays the unit's id until the export holds the unit (whose id then survives).

    >>> proposal_records([{"org_id": "RZ00000001", "name": "某馆", "category": "其他", "region_code": "440105",
    ...                    "parent_id": "hz", "created_at": None}])[["org_id", "certified"]].values.tolist()
    [['RZ00000001', '否']]
    """
    return pd.DataFrame([{"org_id": r["org_id"], "name": r["name"], "category": r["category"] or "",
                          "region_code": r["region_code"] or "", "region": "", "parent_id": r["parent_id"] or "",
                          "certified": "否", "created_at": str(r["created_at"] or "")[:10], "updated_at": ""}
                         for r in rows], columns=REGISTRY_COLUMNS).astype("str")


def linked_proposals(id_map: pd.DataFrame) -> dict[str, str]:
    """Proposal ids a run merged into a registry record: proposal id → the export's (canonical) id.

    >>> linked_proposals(pd.DataFrame({"source_org_id": ["RZ00000001", "9001", "RZ00000002"],
    ...                                "canonical_org_id": ["9001", "9001", "RZ00000002"]}))
    {'RZ00000001': '9001'}
    """
    ids, canon = id_map["source_org_id"], id_map["canonical_org_id"]
    hit = ids.str.startswith(PREFIX).to_numpy() & (ids != canon).to_numpy()
    return {a: b for a, b in zip(ids[hit].tolist(), canon[hit].tolist()) if is_proposal_id(a)}


class ProposalError(Exception):
    """A decision that cannot be made (unknown proposal, already decided, no reason, unknown target)."""


class ProposalStore:
    """The proposal part of ``core.store.Store`` (mixed into it; uses its engine, tables and audit)."""

    def add_proposal(self, fields: dict, verdict: str, candidates: list, inferred: dict, user: str,
                     auto_accept: bool = False) -> dict:
        """Record a submitted proposal (accepted at once when ``auto_accept``), with its audit row."""
        p = self.tables.proposals
        with self.writing() as c:
            rev = self._next_revision(c)
            seq = int(c.execute(insert(p).values(
                org_id="", name=fields["name"], category=fields["category"], region_code=fields["region_code"],
                parent_id=fields.get("parent_id", ""), contact=fields.get("contact") or {}, verdict=verdict,
                candidates=candidates, inferred=inferred, status=ACCEPTED if auto_accept else PENDING,
                reason="自动入驻：查重结果为新单位，地区与上级一致" if auto_accept else "", submitted_by=user,
                decided_by="auto" if auto_accept else None, created_at=self.now(),
                decided_at=self.now() if auto_accept else None, merged_into="", linked_org_id="",
                revision=rev)).inserted_primary_key[0])
            oid = proposal_id(seq)
            c.execute(update(p).where(p.c.seq == seq).values(org_id=oid))
            self._audit(c, user, "proposal:submit", {"proposal_id": oid, "name": fields["name"], "verdict": verdict,
                                                     "auto_accepted": auto_accept})
            if auto_accept:
                self._audit(c, "auto", "proposal:accept", {"proposal_id": oid, "reason": "自动入驻"})
        return self.proposal(oid)

    def proposal(self, org_id: str) -> dict | None:
        """One proposal by its id, or None."""
        p = self.tables.proposals
        with self.engine.connect() as c:
            row = c.execute(select(p).where(p.c.org_id == org_id)).mappings().first()
        return _row(row) if row else None

    def proposals(self, status: str | None = None, province: str | None = None) -> list[dict]:
        """Proposals newest first, of one status if given, of one province (region code prefix) if given."""
        p = self.tables.proposals
        q = select(p).order_by(p.c.seq.desc())
        if status:
            q = q.where(p.c.status == status)
        if province:
            q = q.where(p.c.region_code.like(f"{province[:2]}%"))
        with self.engine.connect() as c:
            return [_row(r) for r in c.execute(q).mappings()]

    def proposals_revision(self) -> int:
        """The newest change of any proposal (0 before the first): what a serving process polls."""
        p = self.tables.proposals
        with self.engine.connect() as c:
            return int(c.execute(select(func.coalesce(func.max(p.c.revision), 0))).scalar())

    def decide_proposal(self, org_id: str, action: str, user: str, reason: str, target: str = "") -> dict:
        """Accept, merge (into the unit ``target``) or reject a pending proposal, with its reason and audit row."""
        if action not in ACTIONS:
            raise ProposalError(f"未知的操作：{action}（可用：accept、merge、reject）")
        if not reason.strip():
            raise ProposalError("请填写处理理由")
        if action == "merge" and not target:
            raise ProposalError("并入现有单位时请给出该单位的 ID")
        p = self.tables.proposals
        with self.writing() as c:
            row = c.execute(select(p).where(p.c.org_id == org_id)).mappings().first()
            if row is None:
                raise ProposalError(f"没有编号为 {org_id} 的入驻申请")
            if row["status"] != PENDING:
                raise ProposalError(f"入驻申请 {org_id} 已处理（{STATUS_TEXT[row['status']]}，{row['decided_by']}），"
                                    "未再更改")
            c.execute(update(p).where(p.c.org_id == org_id).values(
                status=ACTIONS[action], reason=reason.strip(), decided_by=user, decided_at=self.now(),
                merged_into=target if action == "merge" else "", revision=self._next_revision(c)))
            self._audit(c, user, f"proposal:{action}", {"proposal_id": org_id, "reason": reason.strip(),
                                                        "target": target or None, "name": row["name"]})
        return self.proposal(org_id)

    def accepted_proposals(self) -> pd.DataFrame:
        """Every accepted proposal as a registry row (``proposal_records``): what the nightly run carries in."""
        return proposal_records(self.proposals(ACCEPTED))

    def link_proposals(self, links: dict[str, str]) -> None:
        """Note the registry record each accepted proposal was linked to by a nightly run (proposal → export id)."""
        if not links:
            return
        p = self.tables.proposals
        with self.writing() as c:
            for oid, linked in links.items():
                c.execute(update(p).where(p.c.org_id == oid, p.c.linked_org_id != linked).values(
                    linked_org_id=linked, revision=self._next_revision(c)))

    def _next_revision(self, c) -> int:
        p = self.tables.proposals
        return int(c.execute(select(func.coalesce(func.max(p.c.revision), 0))).scalar()) + 1


def _row(row) -> dict:
    out = {k: row[k] for k in FIELDS}
    out["status_text"] = STATUS_TEXT[out["status"]]
    return out
