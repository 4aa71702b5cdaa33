"""Score candidate pairs: the distinguishing head of the name, checked against the places.

The score is a product of factors in [0, 1], so one piece of clear counter-evidence (two different
counties, 第一/第二, a 科协 of a province against one of a city) sinks the pair whatever the
names share, and generic parts (科学技术协会, 有限公司) never lift it on their own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA, Levenshtein

from core.lookups import member_of
from core.normalise import has_numeral_difference, homophones
from core.unit_words import suffix_family

SAME, NESTED, UNKNOWN, CONFLICT = "same", "nested", "unknown", "conflict"


@dataclass(frozen=True)
class Place:
    code: str
    level: int
    prefecture: str
    province: str


def place_relation(a: Place, b: Place) -> str:
    """How two places relate: same, nested (one contains the other), unknown, or conflict.

    >>> place_relation(Place("440100", 2, "440100", "440000"), Place("440111", 3, "440100", "440000"))
    'nested'
    >>> place_relation(Place("110105", 3, "", "110000"), Place("220104", 3, "220100", "220000"))
    'conflict'
    """
    if not a.code or not b.code:
        return UNKNOWN
    if a.code == b.code:
        return SAME
    for x, y in ((a, b), (b, a)):
        if (x.level == 1 and y.province == x.code) or (x.level == 2 and y.prefecture == x.code):
            return NESTED
    return CONFLICT


def named_elsewhere(a: dict, b: dict) -> bool:
    """``a``'s name names an ambiguous place (西湖区: 杭州 or 南昌) and ``b`` lies in none of them."""
    other = b["region_best"]
    if not a["place_candidates"] or not other or b["national"]:
        return False
    for c in a["place_candidates"].split("|"):
        same_province = c[:2] == other[:2]
        if same_province and (c[:4] == other[:4] or c.endswith("0000") or other.endswith("0000")):
            return False
    return True


NEAR_SCORE = 0.8  # between the review and the automatic thresholds
KIN_NOTE = "名称主体相同、仅公司形式/集团/科协后缀不同、地区不矛盾"


def one_slip(a: str, b: str, dist: int) -> bool:
    """Heads of four characters or more that differ by one character dropped or doubled, or by two
    neighbours swapped (Levenshtein 2, optimal string alignment 1).

    >>> one_slip("华润电力", "华润电电力", 1), one_slip("华润电力", "华电润力", 2), one_slip("林业科学", "农业科学", 1)
    (True, True, False)
    """
    if min(len(a), len(b)) < 4:
        return False
    if dist == 1:
        return len(a) != len(b)
    return dist == 2 and len(a) == len(b) and OSA.distance(a, b) == 1


def homophone_swap(a: str, b: str) -> bool:
    """The first character where two equally long names differ is a homophone swap (same reading)."""
    i = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    return homophones(a[i], b[i])


def head_key(head: str, suffix: str) -> str:
    """What ``HeadPlaces`` tells places apart by: the head with its generic suffix.

    远润联茶业有限公司 and 远润联茶业集团有限公司 share a head but are two firms, and pairs whose
    suffixes differ never merge, so only names with the same suffix make a head ambiguous.
    """
    return head + "\x1f" + suffix


class HeadPlaces:
    """Where each head (with its suffix, see ``head_key``) occurs, to tell whether a pair could be two
    different units of that name.

    A head found in one place only (a company, a named society) identifies its unit; 科技馆 or
    第一中学 occur in many places, and then a coarse or missing place cannot tell which one is meant.
    """

    MANY = 40  # beyond this many places a head is simply common

    def __init__(self, records: pd.DataFrame, only: set[str] | None = None):
        """``only``: the head keys that will be asked about (an incremental run asks about few)."""
        mask = (records["region_best"] != "").to_numpy(copy=True)
        if only is not None:  # first by head alone: cheaper than building a key for every record
            only = {k for k in only if not k.startswith("\x1f")}  # no head: always ambiguous, never looked up
            mask &= member_of(records["name_head"], {k.split("\x1f", 1)[0] for k in only}).to_numpy()
        known = records.loc[mask, ["name_head", "name_suffix", "region_best", "prefecture_best", "province_best"]]
        keys = known["name_head"].to_numpy(dtype=object) + "\x1f" + known["name_suffix"].to_numpy(dtype=object)
        wanted = slice(None)
        if only is not None:
            codes, uniques = pd.factorize(keys)
            wanted = np.append(np.array([u in only for u in uniques.tolist()], dtype=bool), False)[codes]
        known = pd.DataFrame({"key": keys[wanted], "region_best": known["region_best"].to_numpy(dtype=object)[wanted],
                              "prefecture_best": known["prefecture_best"].to_numpy(dtype=object)[wanted],
                              "province_best": known["province_best"].to_numpy(dtype=object)[wanted]}
                             ).drop_duplicates(["key", "region_best"])
        # grouped by sorting factorised keys: a groupby over half a million heads took tens of seconds
        heads, codes = (known[c].to_numpy(dtype=object) for c in ("key", "region_best"))
        ids, uniques = pd.factorize(heads)
        order = np.argsort(ids, kind="stable")
        bounds = np.flatnonzero(np.diff(ids[order])) + 1
        self.places = dict(zip(uniques.tolist(), (x.tolist() for x in np.split(codes[order], bounds))))
        places = known.drop_duplicates("region_best")
        self.prefecture = dict(zip(places["region_best"].tolist(), places["prefecture_best"].tolist()))
        self.province = dict(zip(places["region_best"].tolist(), places["province_best"].tolist()))

    def subset(self, keys: set[str], codes: set[str]) -> "HeadPlaces":
        """The same facts for the given head keys and places only (what one scoring chunk needs)."""
        out = HeadPlaces.__new__(HeadPlaces)
        out.places = {h: self.places[h] for h in keys if h in self.places}
        codes = ({c for h in out.places for c in out.places[h]} | codes) & self.prefecture.keys()
        out.prefecture = {c: self.prefecture[c] for c in codes}
        out.province = {c: self.province[c] for c in codes}
        return out

    def _inside(self, outer: str, code: str) -> bool:
        if outer == code:
            return True
        if outer.endswith("0000"):
            return self.province.get(code) == outer
        return outer.endswith("00") and self.prefecture.get(code) == outer

    def ambiguous(self, key: str, coarse: str, fine: str) -> bool:
        """Is there another place with this head key inside ``coarse`` (anywhere when ``coarse`` is empty)
        that is neither ``fine`` nor one of its ancestors or descendants?

        When neither record has a place, the finest place the head is known at stands in for ``fine``:
        two placeless 海信兴电力工程集团有限公司 are that one firm unless the name is found in two places.
        """
        if key.startswith("\x1f"):  # no head: the name is all generic words
            return True
        places = self.places.get(key, [])
        if len(places) > self.MANY:
            return True
        if not coarse and not fine and places:
            fine = min(places, key=lambda c: (c.endswith("00"), c.endswith("0000")))
        for p in places:
            if coarse and not self._inside(coarse, p):
                continue
            if fine and (self._inside(p, fine) or self._inside(fine, p)):
                continue
            return True
        return False


@dataclass(frozen=True)
class Verdict:
    score: float
    head_similarity: float
    name_place: str
    place: str
    category: str
    note: str  # the deciding rule, in Chinese


def _heads(l: dict, r: dict) -> tuple[str, str]:
    """Heads to compare: 通州第三中学 against 第三中学 when 通州 is the other's (ambiguous) place word."""
    hl, hr = l["name_head"], r["name_head"]
    for a, b, token in ((hl, hr, l["place_token"]), (hr, hl, r["place_token"])):
        if token and a.startswith(token) and a[len(token):] == b:
            return b, b
    return hl, hr


def compare_records(l: dict, r: dict, heads: HeadPlaces) -> Verdict:
    """Score one pair of prepared records (dicts of the record columns)."""
    hl, hr = _heads(l, r)
    name_rel = place_relation(*(Place(x["name_region_code"], x["name_region_level"], x["name_prefecture"],
                                      x["name_province"]) for x in (l, r)))
    best_rel = place_relation(*(Place(x["region_best"], x["region_level"], x["prefecture_best"],
                                      x["province_best"]) for x in (l, r)))
    if l["national"] and r["national"]:
        best_rel = SAME  # national units belong to no place; both being national is the agreement
    cat = "same" if l["category"] == r["category"] else ("unknown" if not l["category"] or not r["category"] else "differ")
    cat_factor = 0.96 if cat == "differ" else 1.0

    def verdict(score, sim, note):
        return Verdict(round(float(score), 4), round(sim, 4), name_rel, best_rel, cat, note)

    if CONFLICT in (name_rel, best_rel) or named_elsewhere(l, r) or named_elsewhere(r, l):
        return verdict(0.0, 0.0, "地区不同")
    typo = near = False
    if hl == hr:
        sim = 1.0
    else:
        if has_numeral_difference(hl, hr):
            return verdict(0.0, 0.0, "名称中的序号不同")
        dist = Levenshtein.distance(hl, hr)
        sim = 1 - dist / max(len(hl), len(hr), 1)
        near = one_slip(hl, hr, dist)
        if dist == 1 and len(hl) == len(hr) and len(hl) >= 3 and homophone_swap(hl, hr):
            typo = True  # 辉晨/晖晨: what a pinyin keyboard produces; 林业/农业 are not alike
            sim = 0.98 if len(hl) >= 4 else 0.9  # 体视雪/体视学: three characters leave less to confirm it
        elif dist == 1:
            # one character changed, added or dropped that is not a typo: 林业/农业 are two institutes,
            # 晨光/海晨光 two firms (typists swap homophones; they rarely add a character)
            sim *= 0.8
        else:
            # heads that differ in two places are different names (化学会 / 化工学会, 宇海 / 阳宇海泰):
            # at a million firms such pairs in one county were two firms every time
            sim *= 0.85
    # 有限公司 / 股份有限公司, 集团 or not, a firm and its 科协: perhaps one unit, decided below by the place
    kin = l["name_suffix"] != r["name_suffix"] and bool(hl) and hl == hr and \
        suffix_family(l["name_suffix"]) == suffix_family(r["name_suffix"])
    if l["name_suffix"] != r["name_suffix"] and not kin:
        return verdict(sim * 0.6, sim, "通用后缀不同")
    if not hl:
        # A place's 科协 is named by its place: 吉林省科协 and 吉林市科协 nest but are two units.
        if name_rel == SAME:
            return verdict(sim * cat_factor, sim, "同一地区的同类组织")
        if name_rel == NESTED:
            return verdict(0.0, sim, "名称中的地区级别不同")
        return verdict((0.9 if best_rel == SAME else 0.75) * cat_factor, sim, "名称未写明地区")
    a, b = l["region_best"], r["region_best"]
    coarse, fine = (a, b) if (l["region_level"] or 9) <= (r["region_level"] or 9) else (b, a)
    if not a or not b:
        coarse, fine = "", a or b
    suffix = l["name_suffix"]
    ambiguous = heads.ambiguous(head_key(hl, suffix), coarse, fine) and (
        hl == hr or heads.ambiguous(head_key(hr, suffix), coarse, fine))
    if kin:  # the name must be unique under either suffix
        ambiguous = ambiguous or heads.ambiguous(head_key(hr, r["name_suffix"]), coarse, fine)
    company = "公司" in l["name_suffix"]
    if name_rel == SAME or (best_rel == SAME and name_rel == UNKNOWN):
        factor, note = 1.0, "名称主体相同、地区相同" if sim == 1 else "名称主体相近、地区相同"
    elif name_rel == NESTED and not company:
        # both names state a place and the places differ: 贵州省疾控中心 and 贵阳市疾控中心 are two units
        factor, note = 0.5, "名称中的地区级别不同"
    elif best_rel == NESTED or name_rel == NESTED:
        factor, note = (0.5, "常见名称、地区级别不同") if ambiguous else (0.96, "地区一粗一细、名称独特")
    else:
        factor, note = (0.75, "常见名称、一方缺少地区") if ambiguous else (0.95, "一方缺少地区、名称独特")
    if kin:
        # suggested, never merged: at a million firms one 字号 and industry recur under several forms
        ok = factor >= 0.95 and cat != "differ"
        return verdict(NEAR_SCORE if ok else sim * 0.6, sim, KIN_NOTE if ok else "通用后缀不同")
    if sim < 1 and note.startswith(("地区一粗一细", "一方缺少地区")):
        # a different character and no place to confirm it: 润兴 / 润盛 are two firms, and a homophone
        # may be one too (达远泰 / 达源泰): at a million records such pairs were wrong four times in ten
        factor *= 0.85
    if typo:
        note = "名称主体仅一个同音字不同、" + note.split("、", 1)[-1]
    if near and factor == 1.0 and cat == "same" and sim * factor < NEAR_SCORE:
        # a character dropped, doubled or two swapped may be another name, but where place and category
        # agree a person should look: suggested, never merged
        return verdict(NEAR_SCORE, sim, "名称主体差一字（多、少或颠倒）、地区与类别相同")
    return verdict(sim * factor * cat_factor, sim, note)
