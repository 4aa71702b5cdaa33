"""组织入驻 in the service: a submitted proposal checked at once (duplicate check, region, parent), and the
accepted units the live snapshot does not hold yet, answered from a small live overlay.

The overlay (``NewUnits``) is a second ``SuggestIndex`` over the accepted proposals only (a few hundred
at most between two nightly runs: built in milliseconds), rebuilt whenever the proposals' revision or
the live snapshot changes. Answers merge it with the snapshot's index tier by tier, so an accepted unit
is suggestible within ``ORGREG_PROPOSAL_POLL_SECONDS`` in every serving process (at once in the one that
accepted it) and no snapshot is rewritten. The next nightly run carries the proposals in as records.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace

import pandas as pd

from core.proposals import ACCEPTED, MERGED, ProposalError, is_proposal_id
from core.regions import RegionTable
from core.schema import ASSOCIATION_LEVEL, CATEGORIES, NATIONAL_CATEGORIES
from hierarchy.repair import AssociationIndex
from serve.auth import can_review
from serve.lookup import TIER_NAMES, SuggestIndex
from serve.matching import Matcher, prepare_typed
from serve.newunit import NEW, check_unit
from serve.scopes import scope_of, subtree
from serve.state import CHECK_COLUMNS

log = logging.getLogger("orgreg.serve")
NEW_UNIT_MARK = "新入驻"
_TIER_ORDER = {name: i for i, name in sorted(((i, n) for i, n in TIER_NAMES.items()), reverse=True)}
_BUILDING = threading.Lock()


class ProposalInvalid(ValueError):
    """A proposal with a wrong field: the Chinese message names the field."""


class ProposalRefused(Exception):
    """A decision on a proposal that is refused; ``status`` is the HTTP status it answers with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def area_filter(user: dict, tree, accepted: dict[str, str] | None = None):
    """Which proposals an account's area holds, as a test of a proposal row: all for a national account,
    a province's by their place, a society's or ministry's those whose parent (declared, else inferred)
    lies in its unit's subtree. ``tree``: the live snapshot's ``canonical`` and ``children`` (None: none);
    ``accepted``: accepted proposal id → its parent, for a parent accepted since the snapshot."""
    area = scope_of(user)
    if area.national:
        return lambda row: True
    if area.province:
        return lambda row: (row["region_code"] or "").startswith(area.province[:2])
    mine = subtree(tree, area.unit) if tree is not None else set()
    above = accepted or {}

    def holds(row) -> bool:
        parent, seen = row["parent_id"] or "", set()
        while parent and parent not in seen:
            seen.add(parent)
            unit = tree.canonical.get(parent) if tree is not None else None
            if unit is not None:
                return unit in mine
            parent = above.get(parent, "")  # a unit accepted since the snapshot: where it hangs
        return False
    return holds


def accepted_parents(store) -> dict[str, str]:
    """Accepted proposal id → its parent (``area_filter``'s ``accepted``)."""
    return {r["org_id"]: r["parent_id"] or "" for r in store.proposals(ACCEPTED)}


def visible_proposals(store, user: dict, tree, status: str | None) -> list[dict]:
    """The proposals (of one status if given) in the account's area, newest first, for the queue page,
    its API and ``orgreg proposals list`` alike."""
    area = scope_of(user)
    rows = store.proposals(status, area.province or None)
    if not area.unit:
        return rows
    holds = area_filter(user, tree, accepted_parents(store))
    return [r for r in rows if holds(r)]


def decide_proposal(store, user: dict, proposal_id: str, action: str, reason: str, target: str,
                    resolve, tree) -> dict:
    """An ops decision on a proposal, for the queue page, its API and ``orgreg proposals`` alike: only an
    account that may review, a scoped one only within its area (``area_filter``), always with a reason;
    ``resolve`` gives a unit id's canonical id (None when there is none), ``tree`` is ``area_filter``'s."""
    if not can_review(user):
        raise ProposalRefused(403, "没有处理入驻申请的权限（需要审核权限）")
    row = store.proposal(proposal_id)
    if row is None:
        raise ProposalRefused(404, f"没有编号为 {proposal_id} 的入驻申请")
    if not area_filter(user, tree, accepted_parents(store))(row):
        raise ProposalRefused(403, f"入驻申请 {proposal_id} 不在您的管辖范围内")
    if not reason.strip():
        raise ProposalRefused(422, "reason（处理理由）：请填写处理理由，它会记入审计日志")
    unit = (resolve(target) or "") if target else ""
    if action == "merge" and not unit:
        raise ProposalRefused(422, f"target（并入的单位）：组织库中没有 ID 为 {target or '（空）'} 的单位")
    try:
        return store.decide_proposal(proposal_id, action, user["name"], reason, unit)
    except ProposalError as e:
        raise ProposalRefused(409, str(e))


@dataclass
class Overlay:
    """One built state of the overlay (replaced whole: readers never see half)."""
    revision: int = -1
    generation: int = -1
    units: dict[str, dict] = field(default_factory=dict)  # accepted proposals not in the snapshot
    redirect: dict[str, str] = field(default_factory=dict)  # proposal id → the unit it resolves to
    index: SuggestIndex | None = None
    view: SimpleNamespace | None = None  # orgs, records and index as ``serve.matching.Matcher`` reads them
    matcher: Matcher | None = None  # built on the first check that needs it


def is_new_unit(org_id: str, certified: bool) -> bool:
    """Marked 新入驻: a unit made by 组织入驻 and not certified yet.

    >>> is_new_unit("RZ00000001", False), is_new_unit("RZ00000001", True), is_new_unit("440100001", False)
    (True, False, False)
    """
    return is_proposal_id(org_id) and not certified


def unit_frames(rows: list[dict], regions: RegionTable) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Organizations, prepared records and id map of accepted proposals (one record per unit)."""
    orgs = pd.DataFrame([{"org_id": r["org_id"], "name": r["name"], "category": r["category"],
                          "region_code": r["region_code"] or "", "parent_id": r["parent_id"] or "",
                          "province_code": _province(regions, r), "aliases": "", "certified": False,
                          "members": 1} for r in rows])
    records = pd.DataFrame(prepare_typed([r["name"] for r in rows], [r["region_code"] for r in rows],
                                         [r["category"] for r in rows], regions))
    records["org_id"] = orgs["org_id"].to_numpy()
    id_map = pd.DataFrame({"source_org_id": orgs["org_id"], "canonical_org_id": orgs["org_id"], "how": "same"})
    return orgs, records, id_map


def _province(regions: RegionTable, row: dict) -> str:
    code = row["region_code"] or ""
    if not code or row["category"] in NATIONAL_CATEGORIES or code not in regions.by_code:
        return ""
    return regions.province(code) or ""


class NewUnits:
    """Accepted proposals as a live overlay of the served snapshot (see the module's docstring)."""

    def __init__(self, store, holder, poll_seconds: float = 1.0):
        self.store, self.holder, self.poll_seconds = store, holder, poll_seconds
        self.state = Overlay()
        self._stop = threading.Event()

    def refresh(self) -> bool:
        """Rebuild when a proposal or the live snapshot changed; True when it did."""
        current = self.holder.current
        if current is None:
            return False
        revision = self.store.proposals_revision()
        if (revision, current.generation) == (self.state.revision, self.state.generation):
            return False
        with _BUILDING:
            rows = self.store.proposals()
            units = {r["org_id"]: r for r in rows if r["status"] == ACCEPTED and r["org_id"] not in current.orgs.index}
            redirect = {r["org_id"]: r["merged_into"] for r in rows if r["status"] == MERGED and r["merged_into"]}
            index = view = None
            if units:
                orgs, records, id_map = unit_frames(list(units.values()), current.index.regions)
                index = SuggestIndex(orgs, records, id_map, current.index.regions)
                view = SimpleNamespace(index=index, orgs=orgs.set_index("org_id", drop=False),
                                       records=records[CHECK_COLUMNS].set_index(records["org_id"].rename("unit"))
                                       .sort_index())
            self.state = Overlay(revision, current.generation, units, redirect, index, view)
        return True

    def matcher(self, current) -> Matcher | None:
        """The duplicate check's matcher over the accepted units the snapshot ``current`` does not hold yet
        (None when there are none), so a second proposal or a check of the same unit finds it. Where a head
        occurs is the registry's (``HeadPlaces`` of the snapshot): a 科技馆 stays a common name."""
        state = self.state
        if state.view is None or state.generation != current.generation:
            return None
        if state.matcher is None:
            state.matcher = Matcher(state.view, heads=Matcher.of(current).heads)
        return state.matcher

    def safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:  # a busy database must not stop the service: the next poll tries again
            log.exception("could not load the accepted proposals")

    def start(self) -> None:
        threading.Thread(target=self._poll, name="proposals-poller", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.safe_refresh()

    def suggest(self, current, q: str, category: str | None, region: str | None, limit: int) -> list[dict]:
        """The snapshot's answers and the overlay's, merged tier by tier, each marked ``new_unit``."""
        out = current.index.suggest(q, category, region, limit)
        state = self.state
        if state.index is not None and state.generation == current.generation:
            extra = [r for r in state.index.suggest(q, category, region, limit) if r["org_id"] in state.units]
            if extra:
                out = sorted(out + extra, key=lambda r: _TIER_ORDER.get(r["matched"]["how"], 99))[:limit]
        for r in out:
            r["new_unit"] = is_new_unit(r["org_id"], r["certified"])
        return out

    def unit(self, org_id: str) -> dict | None:
        """An accepted proposal the snapshot does not hold yet, as a unit, or None."""
        row = self.state.units.get(org_id)
        if row is None:
            return None
        regions = self.holder.current.index.regions if self.holder.current is not None else None
        code = row["region_code"] or ""
        return {"org_id": org_id, "name": row["name"], "category": row["category"], "region_code": code,
                "region_path": regions.path_label(code) if regions else "",
                "parent_id": row["parent_id"], "province_code": _province(regions, row) if regions else "",
                "aliases": [], "certified": False, "new_unit": True, "mark": NEW_UNIT_MARK}


def parent_of(current, category: str, region: str) -> str:
    """The parent the hierarchy's rule gives a new unit: a 科协 the 科协 of the level above, every other
    unit the local 科协 (the root for a national one)."""
    index = getattr(current, "_associations", None)
    if index is None:
        index = AssociationIndex(current.orgs.reset_index(drop=True))
        current._associations = index
    regions = current.index.regions
    if region and category in ASSOCIATION_LEVEL:
        return index.above(regions, category, region)[0] or ""
    if region and category not in NATIONAL_CATEGORIES:
        return index.local(regions, region)[0] or ""
    return index.root


def assess(current, new_units: NewUnits | None, body: dict, auto: float, review: float) -> dict:
    """Check a proposal at once: the verdict and candidates, the region, the category and the parent
    (declared, else inferred), whether it is consistent; raises ``ProposalInvalid`` for a wrong field."""
    regions = current.index.regions
    name = (body.get("name") or "").strip()
    if len(name) < 2:
        raise ProposalInvalid("name（单位名称）：请填写单位的完整名称（至少 2 个字）")
    category = (body.get("category") or "").strip()
    if category and category not in CATEGORIES:
        raise ProposalInvalid(f"category（组织类别）：没有“{category}”这一类别，可选：{'、'.join(CATEGORIES)}")
    region = (body.get("region_code") or "").strip()
    if region and not regions.resolve(region):
        raise ProposalInvalid(f"region_code（所在地区）：{region} 不是有效的 6 位行政区划代码，请从地区列表中选择")
    region = regions.resolve(region) or "" if region else ""
    declared = (body.get("parent_id") or "").strip()
    if declared and current.canonical.get(declared) is None and (new_units is None or
                                                                  new_units.unit(declared) is None):
        raise ProposalInvalid(f"parent_id（上级单位）：组织库中没有 ID 为 {declared} 的单位，请用联想选择上级单位或留空")
    contact = body.get("contact") or {}
    if not (contact.get("name") or "").strip() or not ((contact.get("phone") or "").strip() or
                                                       (contact.get("email") or "").strip()):
        raise ProposalInvalid("contact（联系人）：请填写联系人姓名，以及电话或电子邮箱")
    result = check_unit(current, name, region, category, auto, review,
                        new_units=new_units.matcher(current) if new_units else None)
    category = category or result.proposed.category
    region = region or result.proposed.region_code
    if not region and category not in NATIONAL_CATEGORIES:
        raise ProposalInvalid("region_code（所在地区）：名称中没有写明地区，请选择单位所在地区")
    declared = current.canonical.get(declared, declared) if declared else ""
    inferred = parent_of(current, category, region)
    problems = []
    if declared and declared in current.orgs.index:
        parent_region = current.orgs.at[declared, "region_code"]
        parent_national = current.orgs.at[declared, "category"] in NATIONAL_CATEGORIES
        if region and parent_region and not parent_national and not regions.contains(parent_region, region):
            problems.append(f"申报的上级单位 {current.orgs.at[declared, 'name']} 不在本单位所在地区之上")
    same_new = [u for u in (new_units.state.units.values() if new_units else [])
                if u["name"].strip() == name and (u["region_code"] or "") == region]
    if same_new:
        problems.append(f"已有同名的新入驻单位 {same_new[0]['org_id']}")
    consistent = result.verdict == NEW and not problems
    return {"result": result, "name": name, "category": category, "region_code": region,
            "parent_id": declared or inferred, "inferred_parent_id": inferred, "declared_parent_id": declared,
            "contact": {k: str(contact.get(k) or "").strip() for k in ("name", "phone", "email")},
            "problems": problems, "consistent": consistent, "same_new": [u["org_id"] for u in same_new]}
