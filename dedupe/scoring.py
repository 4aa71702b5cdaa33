"""Scoring many candidate pairs at once: the rules of ``dedupe.compare.compare_records``, column-wise.

A million-record registry has millions of candidate pairs; one Python call per pair cost about a
minute. Here every rule is a numpy expression over all pairs, edit distances come from rapidfuzz's
``cpdist`` in C, and only the rare cases that need a lookup (an ambiguous place name, a one-character
homophone, whether a head is common) go through the per-pair helpers. ``compare_records`` stays the
readable reference: a test checks that both give identical verdicts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA, Levenshtein
from rapidfuzz.process import cpdist

from core.normalise import NUMERALS
from core.unit_words import suffix_family
from dedupe.compare import (CONFLICT, KIN_NOTE, NEAR_SCORE, NESTED, SAME, UNKNOWN, HeadPlaces, homophone_swap,
                            named_elsewhere, head_key)

SCORING_COLUMNS = ["name_head", "name_suffix", "name_region_code", "name_region_level", "name_prefecture",
                   "name_province", "region_best", "region_level", "prefecture_best", "province_best", "category",
                   "place_token", "national", "place_candidates"]
RELATIONS = np.array([SAME, NESTED, UNKNOWN, CONFLICT], dtype=object)
R_SAME, R_NESTED, R_UNKNOWN, R_CONFLICT = range(4)
RELATION_TYPE = pd.CategoricalDtype(RELATIONS.tolist())
CATEGORY_TYPE = pd.CategoricalDtype(["same", "unknown", "differ"])
_DIGIT_BIT = {c: 1 << i for i, c in enumerate(sorted(NUMERALS))}


@dataclass
class ScoringChunk:
    """A share of the candidate pairs with just the records and head places it needs (for workers)."""
    records: pd.DataFrame  # the rows the pairs refer to, indexed by their rid
    pairs: pd.DataFrame  # rid_l, rid_r (global rids)
    heads: HeadPlaces


def split_for_scoring(records: pd.DataFrame, pairs: pd.DataFrame, n_chunks: int) -> list[ScoringChunk]:
    """Cut the pairs into ``n_chunks`` shares, each carrying only what scoring it needs."""
    slim = records[["org_id"] + SCORING_COLUMNS]
    parts = []
    for part in np.array_split(np.arange(len(pairs)), max(min(n_chunks, len(pairs)), 1)):
        if not len(part):
            continue
        p = pairs.iloc[part]
        rids = np.unique(np.concatenate([p["rid_l"].to_numpy(), p["rid_r"].to_numpy()]))
        sub = slim.iloc[rids].set_axis(rids)
        parts.append((p.reset_index(drop=True), sub, _chunk_keys(sub)))
    # where the chunks' heads occur, found among the whole registry's records but only for those heads
    heads = HeadPlaces(records, set().union(*(keys for _, _, keys in parts)) if parts else set())
    return [ScoringChunk(sub, p, heads.subset(keys, set(sub["region_best"].tolist()))) for p, sub, keys in parts]


def _chunk_keys(records: pd.DataFrame) -> set[str]:
    """Head keys a chunk's pairs may ask about: each head, and each head without its place word."""
    head, suffix, token = (records[c].to_numpy(dtype=object) for c in ("name_head", "name_suffix", "place_token"))
    keys = {head_key(h, s) for h, s in zip(head.tolist(), suffix.tolist())}
    keys |= {head_key(h[len(t):], s) for h, s, t in zip(head.tolist(), suffix.tolist(), token.tolist())
             if t and h.startswith(t)}
    return keys


def score_chunk(chunk: ScoringChunk) -> pd.DataFrame:
    """``score_pairs`` of one chunk; rids stay global so the shares concatenate."""
    local = pd.Series(np.arange(len(chunk.records)), index=chunk.records.index)
    pairs = pd.DataFrame({"rid_l": local.reindex(chunk.pairs["rid_l"]).to_numpy(),
                          "rid_r": local.reindex(chunk.pairs["rid_r"]).to_numpy()})
    out = score_pairs(chunk.records.reset_index(drop=True), pairs, chunk.heads)
    out["rid_l"], out["rid_r"] = chunk.pairs["rid_l"].to_numpy(), chunk.pairs["rid_r"].to_numpy()
    return out


def _codes(records: pd.DataFrame, columns: list[str]) -> list[np.ndarray]:
    """Region code columns as integers from one shared numbering ("" is 0): only equality matters."""
    values = np.concatenate([records[c].to_numpy(dtype=object) for c in columns])
    ids, uniques = pd.factorize(values)
    ids = ids + 1
    if "" in set(uniques):
        ids[values == ""] = 0
    return np.split(ids, len(columns))


def _relation(code, level, pref, prov, a, b) -> np.ndarray:
    """``dedupe.compare.place_relation`` of every pair ``(a[i], b[i])``, as R_* numbers."""
    ca, cb, la, lb = code[a], code[b], level[a], level[b]
    nested = (((la == 1) & (prov[b] == ca)) | ((la == 2) & (pref[b] == ca))
              | ((lb == 1) & (prov[a] == cb)) | ((lb == 2) & (pref[a] == cb)))
    return np.select([(ca == 0) | (cb == 0), ca == cb, nested], [R_UNKNOWN, R_SAME, R_NESTED], R_CONFLICT)


def score_pairs(records: pd.DataFrame, pairs: pd.DataFrame, heads: HeadPlaces | None = None) -> pd.DataFrame:
    """Scored pairs: ``rid_l, rid_r, score, head_similarity, name_place, place, category, note``.

    Pairs are named by rows of ``records`` only (a million-record run keeps three million of them);
    the relation columns are categoricals of fixed vocabularies, so reusing them costs no string copies.
    """
    heads = heads or HeadPlaces(records)
    a, b = pairs["rid_l"].to_numpy(np.int64), pairs["rid_r"].to_numpy(np.int64)
    col = {c: records[c].to_numpy(dtype=object) for c in ("name_head", "name_suffix", "place_token", "category",
                                                          "place_candidates", "region_best")}
    head, token = col["name_head"], col["place_token"]
    name_code, name_pref, name_prov, best, best_pref, best_prov = _codes(records, [
        "name_region_code", "name_prefecture", "name_province", "region_best", "prefecture_best", "province_best"])
    name_level = records["name_region_level"].to_numpy(np.int64)
    best_level = records["region_level"].to_numpy(np.int64)
    national = records["national"].to_numpy(bool)
    lengths = np.fromiter(map(len, head), dtype=np.int64, count=len(head))
    digits = np.fromiter((sum(_DIGIT_BIT.get(ch, 0) for ch in set(h)) for h in head), dtype=np.int64,
                         count=len(head))
    stripped = np.array([h[len(t):] if t and h.startswith(t) else None for h, t in zip(head, token)], dtype=object)

    # heads to compare: 通州第三中学 against 第三中学 when 通州 is the other's place word (compare._heads)
    first = np.equal(stripped[a], head[b]).astype(bool)
    second = ~first & np.equal(stripped[b], head[a]).astype(bool)
    hl_rid, hr_rid = np.where(first, b, a), np.where(second, a, b)
    hl, hr = head[hl_rid], head[hr_rid]
    len_l, len_r = lengths[hl_rid], lengths[hr_rid]

    name_rel = _relation(name_code, name_level, name_pref, name_prov, a, b)
    best_rel = _relation(best, best_level, best_pref, best_prov, a, b)
    best_rel[national[a] & national[b]] = R_SAME
    cat_l, cat_r = col["category"][a], col["category"][b]
    cat = np.select([cat_l == cat_r, (cat_l == "") | (cat_r == "")], [0, 1], 2)
    cat_factor = np.where(cat == 2, 0.96, 1.0)

    n = len(a)
    score, sim = np.zeros(n), np.zeros(n)
    note = np.full(n, "", dtype=object)
    open_ = np.ones(n, dtype=bool)  # pairs no rule has decided yet

    conflict = (name_rel == R_CONFLICT) | (best_rel == R_CONFLICT)
    rare = np.flatnonzero(~conflict & ((col["place_candidates"][a] != "") | (col["place_candidates"][b] != "")))
    if len(rare):
        rows = lambda r: {"place_candidates": col["place_candidates"][r], "region_best": col["region_best"][r],  # noqa: E731
                          "national": bool(national[r])}
        conflict[rare] = [named_elsewhere(rows(x), rows(y)) or named_elsewhere(rows(y), rows(x))
                          for x, y in zip(a[rare].tolist(), b[rare].tolist())]
    note[conflict] = "地区不同"
    open_ &= ~conflict

    same_head = hl == hr
    sim[open_ & same_head] = 1.0
    numeral = open_ & ~same_head & (digits[hl_rid] != digits[hr_rid])
    note[numeral] = "名称中的序号不同"
    open_ &= ~numeral

    differ = np.flatnonzero(open_ & ~same_head)
    typo = np.zeros(n, dtype=bool)
    near = np.zeros(n, dtype=bool)
    if len(differ):
        dist = cpdist(hl[differ].tolist(), hr[differ].tolist(), scorer=Levenshtein.distance, workers=-1)
        dl, dr = len_l[differ], len_r[differ]
        s = 1 - dist / np.maximum(np.maximum(dl, dr), 1)
        one = (dist == 1) & (dl == dr)
        maybe = np.flatnonzero(one & (dl >= 3))
        swap = np.zeros(len(differ), dtype=bool)
        swap[maybe] = [homophone_swap(x, y) for x, y in zip(hl[differ[maybe]], hr[differ[maybe]])]
        s = np.where(swap, np.where(dl >= 4, 0.98, 0.9), np.where(dist == 1, s * 0.8, s * 0.85))
        sim[differ] = s
        typo[differ] = swap
        # one_slip: a character dropped or doubled, or two neighbours swapped, in heads of four or more
        slip = (np.minimum(dl, dr) >= 4) & (((dist == 1) & (dl != dr)) | ((dist == 2) & (dl == dr)))
        check = np.flatnonzero(slip & (dist == 2))
        if len(check):
            slip[check] = cpdist(hl[differ[check]].tolist(), hr[differ[check]].tolist(), scorer=OSA.distance,
                                 workers=-1) == 1
        near[differ] = slip

    suffix = open_ & (col["name_suffix"][a] != col["name_suffix"][b])
    families, family = _families(col["name_suffix"])
    kin = suffix & same_head & (hl != "") & (family[a] == family[b])
    suffix &= ~kin
    score[suffix] = sim[suffix] * 0.6
    note[suffix] = "通用后缀不同"
    open_ &= ~suffix

    # a place's 科协 is named by its place: 吉林省科协 and 吉林市科协 nest but are two units
    place_unit = open_ & (hl == "")
    for mask, value, text in ((place_unit & (name_rel == R_SAME), sim * cat_factor, "同一地区的同类组织"),
                              (place_unit & (name_rel == R_NESTED), np.zeros(n), "名称中的地区级别不同"),
                              (place_unit & (name_rel != R_SAME) & (name_rel != R_NESTED),
                               np.where(best_rel == R_SAME, 0.9, 0.75) * cat_factor, "名称未写明地区")):
        score[mask], note[mask] = value[mask], text
    open_ &= ~place_unit

    same_place = (name_rel == R_SAME) | ((best_rel == R_SAME) & (name_rel == R_UNKNOWN))
    company = np.array(["公司" in x for x in col["name_suffix"]], dtype=bool)[a]
    stated = ~same_place & (name_rel == R_NESTED) & ~company
    nested = ~same_place & ~stated & ((best_rel == R_NESTED) | (name_rel == R_NESTED))
    ambiguous = np.zeros(n, dtype=bool)
    need = np.flatnonzero(open_ & ~same_place & ~stated)
    if len(need):
        suffix = col["name_suffix"][a[need]]
        ambiguous[need] = _ambiguous(heads, hl[need] + "\x1f" + suffix, hr[need] + "\x1f" + suffix,
                                     col["region_best"][a[need]],
                                     col["region_best"][b[need]], best_level[a[need]], best_level[b[need]])
        other = need[kin[need] & ~ambiguous[need]]  # the name must be unique under either suffix
        if len(other):
            ambiguous[other] = _ambiguous(heads, hr[other] + "\x1f" + col["name_suffix"][b[other]],
                                          hr[other] + "\x1f" + col["name_suffix"][b[other]],
                                          col["region_best"][a[other]], col["region_best"][b[other]],
                                          best_level[a[other]], best_level[b[other]])
    factor = np.select([same_place, stated, nested & ambiguous, nested, ambiguous], [1.0, 0.5, 0.5, 0.96, 0.75], 0.95)
    rule = np.select([same_place & (sim == 1), same_place, stated, nested & ambiguous, nested, ambiguous],
                     ["名称主体相同、地区相同", "名称主体相近、地区相同", "名称中的地区级别不同", "常见名称、地区级别不同",
                      "地区一粗一细、名称独特", "常见名称、一方缺少地区"], "一方缺少地区、名称独特").astype(object)
    unconfirmed = (sim < 1) & ((nested & ~ambiguous) | (~same_place & ~stated & ~nested & ~ambiguous))
    factor = np.where(unconfirmed, factor * 0.85, factor)
    rule[typo] = ["名称主体仅一个同音字不同、" + r.split("、", 1)[-1] for r in rule[typo]]
    score[open_], note[open_] = (sim * factor * cat_factor)[open_], rule[open_]
    lifted = open_ & ~kin & near & (factor == 1.0) & (cat == 0) & (sim * factor < NEAR_SCORE)
    score[lifted], note[lifted] = NEAR_SCORE, "名称主体差一字（多、少或颠倒）、地区与类别相同"
    # a firm's other company form or its 科协: suggested where the place allows it (compare_records)
    kin &= open_
    ok = kin & (factor >= 0.95) & (cat != 2)
    score[kin], note[kin] = np.where(ok, NEAR_SCORE, sim * 0.6)[kin], np.where(ok, KIN_NOTE, "通用后缀不同")[kin]

    return pd.DataFrame({
        "rid_l": a, "rid_r": b,
        "score": np.array([round(x, 4) for x in score.tolist()], dtype=float),
        "head_similarity": np.array([round(x, 4) for x in sim.tolist()], dtype=float),
        "name_place": pd.Categorical.from_codes(name_rel, dtype=RELATION_TYPE),
        "place": pd.Categorical.from_codes(best_rel, dtype=RELATION_TYPE),
        "category": pd.Categorical.from_codes(cat, dtype=CATEGORY_TYPE), "note": note,
    })


def _families(suffixes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """``suffix_family`` of every record's suffix, as integer codes (a registry has few suffixes)."""
    codes, uniques = pd.factorize(suffixes)
    families = [suffix_family(s) for s in uniques.tolist()]
    fam_codes, _ = pd.factorize(np.array(families + [""], dtype=object))
    return families, fam_codes[:-1][codes]


def _ambiguous(heads: HeadPlaces, hl, hr, best_l, best_r, level_l, level_r) -> list[bool]:
    """``HeadPlaces.ambiguous`` for the pairs whose verdict depends on it (compare_records' coarse/fine);
    ``hl``/``hr`` are head keys."""
    out = []
    for x, y, p, q, lp, lq in zip(hl.tolist(), hr.tolist(), best_l.tolist(), best_r.tolist(), level_l.tolist(),
                                  level_r.tolist()):
        coarse, fine = (p, q) if (lp or 9) <= (lq or 9) else (q, p)
        if not p or not q:
            coarse, fine = "", p or q
        out.append(heads.ambiguous(x, coarse, fine) and (x == y or heads.ambiguous(y, coarse, fine)))
    return out
