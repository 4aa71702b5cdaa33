"""Typed names to canonical units, one or a whole column at once: the core of the new-unit check,
``orgreg match`` and the ``/reconcile`` service.

Candidates come from the autocomplete (the same place first, then anywhere), and are scored by the
duplicate rules of ``dedupe.compare`` against every record merged into each candidate (one copy of
those rules). A 科协 of a place is only ever matched to a 科协 of the same level. ``how`` says how
sure the link is: ``exact`` (the name or an alias, no conflicting place), ``auto`` (at or above the
automatic-merge threshold), ``review`` (at or above the review threshold: a person should look),
``none``.
"""
from __future__ import annotations

import gc
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.records import prepare_record
from dedupe.compare import HeadPlaces, compare_records
from dedupe.linking import compatible
from hierarchy.build import typed_category
from serve.lookup import TIER_EXACT

SEARCHED = 6  # autocomplete hits scored per name (per search)
SHOWN = 0.5  # candidates scoring below this are not listed
BUILDING = threading.Lock()


def prepare_typed(names, region_codes=None, categories=None, regions=None, region_texts=None) -> list[dict]:
    """Typed names as prepared records (as the nightly run prepares the registry, ``core.records``), each
    with the category it was given or, when empty, the one its name says (广州市科协 → 市级科协)."""
    n = len(names)
    codes = list(region_codes) if region_codes is not None else [""] * n
    cats = list(categories) if categories is not None else [""] * n
    texts = list(region_texts) if region_texts is not None else [""] * n
    out = []
    for name, code, cat, text in zip(names, codes, cats, texts):
        rec = prepare_record(str(name or ""), str(cat or ""), str(code or ""), str(text or ""), regions)
        rec["category"] = typed_category(rec["name_key"], rec["name_head"], rec["name_suffix"],
                                         rec["name_region_level"], rec["category"], bool(rec["region_best"]),
                                         bool(rec["name_region_code"]))
        out.append(rec)
    return out


@dataclass
class Candidate:
    org_id: str
    score: float
    reason: str  # the deciding rule of dedupe.compare, in Chinese
    same_place: bool
    exact: bool  # the typed name is the unit's name or an alias


class Matcher:
    """What scoring against one served snapshot needs, built once per snapshot: every record's
    evidence by unit (column arrays) and where each head is known (``dedupe.compare.HeadPlaces``)."""

    def __init__(self, current, heads: HeadPlaces | None = None):
        """``heads``: where heads occur, when another matcher's (the registry's) should judge commonness."""
        self.current = current
        self.index = current.index
        self.regions = current.index.regions
        recs = current.records
        self.columns = list(recs.columns)
        self.arrays = [recs[c].to_numpy(dtype=object) for c in self.columns]
        self.units = recs.index.to_numpy(dtype=str)  # sorted (serve.state.load)
        self.heads = heads if heads is not None else HeadPlaces(recs)
        self.category = dict(zip(current.orgs.index, current.orgs["category"]))
        self.region_code = dict(zip(current.orgs.index, current.orgs["region_code"]))
        self.name = dict(zip(current.orgs.index, current.orgs["name"]))

    @classmethod
    def of(cls, current) -> "Matcher":
        """The matcher of a served snapshot, built on first use (once, whatever the concurrent requests)
        and kept with it."""
        cached = getattr(current, "_matcher", None)
        if cached is None:
            with BUILDING:
                cached = getattr(current, "_matcher", None)
                if cached is None:
                    cached = cls(current)
                    current._matcher = cached
                    # like the snapshot's own objects (serve.state.settle_memory): out of the cyclic GC,
                    # whose full passes over these dicts would otherwise stall requests for milliseconds
                    gc.freeze()
        return cached

    @staticmethod
    def built(current) -> bool:
        """Whether the served snapshot's matcher is built (a request then needs no hop off the event loop)."""
        return getattr(current, "_matcher", None) is not None

    def records_of(self, unit: str) -> list[dict]:
        lo, hi = np.searchsorted(self.units, unit, "left"), np.searchsorted(self.units, unit, "right")
        return [{c: a[i] for c, a in zip(self.columns, self.arrays)} for i in range(lo, hi)]

    def same_place(self, place: str, oid: str) -> bool:
        code = self.region_code.get(oid, "")
        return bool(place and code and (self.regions.contains(place, code) or self.regions.contains(code, place)))

    def named_here(self, rec: dict, category_filter: str | None) -> list[int]:
        """Units (index numbers) whose name or alias is exactly the typed name, at the typed place."""
        keys, key, place = self.index.keys, rec["name_key"], rec["region_best"]
        if not key or not place:
            return []
        lo, eq, _ = keys.range(key)
        if eq - lo > SEARCHED * 4:  # a common name (第一中学): the search ranks its many places
            return []
        texts = [t for t in keys.owner[lo:eq].tolist() if len(key) < keys.width or self.index.key_of(t) == key]
        units = sorted({int(self.index.text_org[t]) for t in texts})
        return [u for u in units if self.same_place(place, str(self.index.org_ids[u])) and
                (not category_filter or self.category.get(str(self.index.org_ids[u])) == category_filter)]

    def candidates(self, rec: dict, name: str, category_filter: str | None = None) -> list[Candidate]:
        """Scored candidates for one prepared typed record, the same place first, then by score.

        The name itself at its place needs nothing else looked for: those units are the candidates
        (a binary search instead of two autocomplete searches; most spreadsheet rows are such names)."""
        named = self.named_here(rec, category_filter)
        found = self.scored(rec, named, set(named)) if named else []
        if not found:
            place = rec["region_best"] or ""
            hits = self.index.search(name, category_filter, place, SEARCHED) if place else []
            if not any(h.tier == TIER_EXACT for h in hits):  # the name itself at its place: nothing else to look for
                hits += self.index.search(name, category_filter, None, SEARCHED)
            found = self.scored(rec, [int(h.org) for h in hits], {int(h.org) for h in hits if h.tier == TIER_EXACT})
        return sorted(found, key=lambda c: (not c.same_place, -c.score, c.org_id))

    def scored(self, rec: dict, orgs: list[int], exact: set[int]) -> list[Candidate]:
        """The units (index numbers) a typed record can be, scored by ``dedupe.compare`` against each of
        their records (the best counts); incompatible categories and scores below ``SHOWN`` left out."""
        out: dict[str, Candidate] = {}
        for org in orgs:
            oid = str(self.index.org_ids[org])
            if oid in out or not compatible(rec["category"], self.category.get(oid, "")):
                continue
            best = max((compare_records(rec, r, self.heads) for r in self.records_of(oid)),
                       key=lambda v: v.score, default=None)
            if best is None or best.score < SHOWN:
                continue
            out[oid] = Candidate(oid, round(best.score, 4), best.note, self.same_place(rec["region_best"], oid),
                                 org in exact)
        return list(out.values())


def link(candidates: list[Candidate], auto: float, review: float) -> tuple[Candidate | None, str]:
    """The candidate a typed name links to and how (exact / auto / review / none).

    >>> link([Candidate("u1", 0.95, "", True, True)], 0.92, 0.7)[1]
    'exact'
    >>> link([Candidate("u1", 0.75, "", True, False)], 0.92, 0.7)[1]
    'review'
    """
    best = max(candidates, key=lambda c: (c.score, c.same_place), default=None)
    if best is None or best.score < review:
        return None, "none"
    if best.score >= auto:
        return best, "exact" if best.exact else "auto"
    return best, "review"


def blank_if_missing(value) -> str:
    """A spreadsheet cell as stripped text ("" for an empty or NaN cell).

    >>> blank_if_missing(float("nan")), blank_if_missing(" 广州 "), blank_if_missing(None)
    ('', '广州', '')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def best_first(candidates: list[Candidate], best: Candidate | None) -> list[Candidate]:
    """Candidates as a reconciliation answer lists them: the linked one first, then by score.

    >>> a, b = Candidate("a", 0.8, "", False, False), Candidate("b", 0.8, "", True, False)
    >>> [c.org_id for c in best_first([a, b], b)]
    ['b', 'a']
    """
    return sorted(candidates, key=lambda c: (c is not best, -c.score, not c.same_place, c.org_id))


MATCH_COLUMNS = ["canonical_org_id", "规范名称", "得分", "方式", "候选"]
CHUNK = 2000  # names prepared at once (prepare_registry is column-wise)


def match_names(matcher: Matcher, names: list[str], region_codes: list[str] | None = None,
                category: str | None = None, auto: float = 0.92, review: float = 0.70,
                progress=None) -> pd.DataFrame:
    """The ``MATCH_COLUMNS`` for each typed name, in order; ``progress(n)`` is told of every chunk done.

    ``region_codes`` may hold 6-digit codes or place names (广东省广州市); ``候选`` lists up to three
    candidates as ``名称（ID，得分）`` separated by ``；``.
    """
    names = [blank_if_missing(n) for n in names]
    places = [blank_if_missing(c) for c in region_codes] if region_codes is not None else [""] * len(names)
    codes = [c if c.isdigit() and len(c) == 6 else "" for c in places]
    texts = ["" if c else p for c, p in zip(codes, places)]
    rows = []
    for start in range(0, len(names), CHUNK):
        part = names[start:start + CHUNK]
        recs = prepare_typed(part, codes[start:start + CHUNK], [category or ""] * len(part),
                             matcher.regions, texts[start:start + CHUNK])
        for name, rec in zip(part, recs):
            found = matcher.candidates(rec, name, category) if name else []
            best, how = link(found, auto, review)
            listed = "；".join(f"{matcher.name[c.org_id]}（{c.org_id}，{c.score:.2f}）" for c in found[:3])
            rows.append((best.org_id if best else "", matcher.name[best.org_id] if best else "",
                         best.score if best else (found[0].score if found else 0.0), how, listed))
        if progress is not None:
            progress(len(part))
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)
