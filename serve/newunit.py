"""Is a unit someone is about to create already in the registry? The check behind ``/api/orgs/check``
and 组织入驻 proposals: candidates found by the autocomplete, scored by the duplicate rules of
``dedupe.compare`` (one copy of those rules), and a verdict people can act on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from serve.matching import Matcher, prepare_typed

EXISTS, LIKELY, NEW = "exists", "likely_exists", "new"
VERDICT_TEXT = {EXISTS: "组织库中已有该单位，请直接选择", LIKELY: "组织库中可能已有该单位，请先核对以下候选",
                NEW: "组织库中没有找到该单位，可以申请入驻"}


@dataclass
class Proposed:
    """The prepared record of a unit not yet in the registry (``dedupe.compare`` reads its columns)."""
    record: dict
    category: str  # as given, or what the name says (广州市科协 → 市级科协)
    region_code: str  # as given, or the place the name states


@dataclass
class CheckResult:
    verdict: str
    proposed: Proposed
    candidates: list[dict] = field(default_factory=list)  # {org_id, score, reason, same_place}

    @property
    def message(self) -> str:
        return VERDICT_TEXT[self.verdict]


def prepare_proposed(name: str, region_code: str, category: str, regions) -> Proposed:
    """A typed unit as a prepared record, its category inferred from its name when not given."""
    rec = prepare_typed([name], [region_code], [category], regions)[0]
    return Proposed(rec, rec["category"], rec["region_best"] or "")


def check_unit(current, name: str, region_code: str = "", category: str = "", auto: float = 0.92,
               review: float = 0.70, limit: int = 10, new_units: Matcher | None = None) -> CheckResult:
    """Candidates for a unit about to be created, same place first, and the verdict.

    ``current`` is the served snapshot (``serve.state.Loaded``); ``auto``/``review`` are the duplicate
    thresholds of the nightly run: at or above ``auto`` the unit exists, at or above ``review`` it likely does.
    Candidates and scores are ``serve.matching``'s, the same as ``orgreg match`` and ``/reconcile``.
    ``new_units``: the matcher of the units accepted by 组织入驻 since the snapshot
    (``serve.proposals.NewUnits.matcher``), whose candidates count like the snapshot's.
    """
    matcher = Matcher.of(current)
    proposed = prepare_proposed(name, region_code, category, matcher.regions)
    found = matcher.candidates(proposed.record, name)
    if new_units is not None:
        found = sorted(found + new_units.candidates(proposed.record, name),
                       key=lambda c: (not c.same_place, -c.score, c.org_id))
    out = [{"org_id": c.org_id, "score": c.score, "reason": c.reason, "same_place": c.same_place,
            "exact_name": c.exact} for c in found]
    top = max((c["score"] for c in out), default=0.0)
    verdict = EXISTS if top >= auto else LIKELY if top >= review else NEW
    return CheckResult(verdict, proposed, out[:limit])
