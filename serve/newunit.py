"""Is a unit someone is about to create already in the registry? The check behind ``/api/orgs/check``
and 组织入驻 proposals: candidates found by the autocomplete, scored by the duplicate rules of
``dedupe.compare`` (one copy of those rules), and a verdict people can act on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from core.records import prepare_registry
from core.schema import ASSOCIATION_LEVEL
from dedupe.compare import HeadPlaces, compare_records
from hierarchy.build import choose_category, name_category
from serve.lookup import TIER_EXACT

# a 科协 of a place is named by its place and level: only a 科协 of the same level can be its duplicate
# (a university's 科协 in 广州 is never 广州市科协's)
ASSOCIATIONS = set(ASSOCIATION_LEVEL) | {"中国科协"}
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
    raw = pd.DataFrame([{"org_id": "(新)", "name": name, "category": category, "region_code": region_code,
                         "region": "", "parent_id": "", "certified": "", "created_at": "", "updated_at": ""}])
    rec = prepare_registry(raw, regions).iloc[0].to_dict()
    says = name_category(rec["name_key"], rec["name_head"], rec["name_suffix"], rec["name_region_level"])
    inferred = choose_category(says, [category], rec["name_key"], rec["name_suffix"], bool(rec["region_best"]),
                               bool(rec["name_region_code"]))
    rec["category"] = inferred
    return Proposed(rec, inferred, rec["region_best"] or "")


def compatible(a: str, b: str) -> bool:
    """Whether units of categories ``a`` and ``b`` can be one unit.

    >>> compatible("市级科协", "高校科协"), compatible("企业科协", "其他"), compatible("县级科协", "县级科协")
    (False, True, True)
    """
    if a in ASSOCIATIONS or b in ASSOCIATIONS:
        return a == b
    return True


def check_unit(current, name: str, region_code: str = "", category: str = "", auto: float = 0.92,
               review: float = 0.70, limit: int = 10) -> CheckResult:
    """Candidates for a unit about to be created, same place first, and the verdict.

    ``current`` is the served snapshot (``serve.state.Loaded``); ``auto``/``review`` are the duplicate
    thresholds of the nightly run: at or above ``auto`` the unit exists, at or above ``review`` it likely does.
    """
    index, regions = current.index, current.index.regions
    proposed = prepare_proposed(name, region_code, category, regions)
    mine = proposed.record
    hits = []
    if proposed.region_code:  # the same place first, then anywhere
        hits += index.search(name, region=proposed.region_code, limit=20)
    hits += index.search(name, limit=20)
    exact = {str(index.org_ids[h.org]) for h in hits if h.tier == TIER_EXACT}
    ids = list(dict.fromkeys(str(index.org_ids[h.org]) for h in hits))
    ids = [i for i in ids if compatible(proposed.category, current.orgs.at[i, "category"])]
    recs = current.records.loc[current.records.index.intersection(ids)]
    heads = HeadPlaces(pd.concat([recs, pd.DataFrame([{c: mine.get(c) for c in recs.columns}])], ignore_index=True))
    best: dict[str, tuple[float, str]] = {}
    for cid, rec in zip(recs.index, recs.to_dict("records")):
        verdict = compare_records(mine, rec, heads)
        if verdict.score > best.get(cid, (-1.0, ""))[0]:
            best[cid] = (verdict.score, verdict.note)
    place = proposed.region_code
    out = []
    for cid, (score, note) in best.items():
        if score < 0.5:
            continue
        code = current.orgs.at[cid, "region_code"]
        same = bool(place and code and (regions.contains(place, code) or regions.contains(code, place)))
        out.append({"org_id": cid, "score": round(score, 4), "reason": note, "same_place": same,
                    "exact_name": cid in exact})
    out.sort(key=lambda c: (not c["same_place"], -c["score"], c["org_id"]))
    top = max((c["score"] for c in out), default=0.0)
    verdict = EXISTS if top >= auto else LIKELY if top >= review else NEW
    return CheckResult(verdict, proposed, out[:limit])
