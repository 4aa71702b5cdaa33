"""Short forms of an institution's name (南林科协 for 南京林业大学科协, 中国农大 for 中国农业大学, 上交 for
上海交通大学, 国家民委 for 国家民族事务委员会), found for review. Pure: records in, pairs out.

Offices shorten a name by keeping its first character and a few later ones in order, and the
institution word as its mark (大学 → 大 or nothing, 委员会 → 委). The two names share no head and no
deletion variant, so blocking never compares them. Here every full name ending in an institution
word gives the short forms it can have; a record whose whole name (its generic suffix aside) is one
of them is paired with that unit, when exactly one unit of that full name fits its place. Such a
pair is never merged automatically: a short form is how people write, not evidence (山大 is 山东大学
and 山西大学), so it goes to a person with the two names in its explanation.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from dedupe.review_queue import compatible

# an institution word and the marks a short form keeps of it (the longest word first)
INSTITUTION_WORDS = (("委员会", ("委",)), ("大学", ("大", "")))
MAX_BODY = 8  # characters before the institution word: longer names are shortened by other means
MAX_LATER = 3  # later characters a short form keeps besides the first
SHORT_FORM_SCORE = 0.72  # in the review band, below every scored suggestion of a shared head
MAX_MATCHES = 1  # distinct full names a short form may fit in its place: more and it is a guess


def stems(records: pd.DataFrame) -> list[str]:
    """Each record's name without its generic suffix, place prefix included (南京林业大学)."""
    return [k[:len(k) - len(s)] if s and k.endswith(s) else k
            for k, s in zip(records["name_key"].astype(str).tolist(), records["name_suffix"].astype(str).tolist())]


def institution_short_forms(stem: str) -> set[str]:
    """The short forms a full name can be written as (at least two characters, never itself).

    >>> sorted(institution_short_forms("上海交通大学"))[:6]
    ['上交', '上交大', '上交通', '上交通大', '上大', '上海']
    >>> {"南林", "中国农大"} <= institution_short_forms("南京林业大学") | institution_short_forms("中国农业大学")
    True
    >>> "国家民委" in institution_short_forms("国家民族事务委员会"), institution_short_forms("第一中学")
    (True, set())
    """
    for word, marks in INSTITUTION_WORDS:
        body = stem[:-len(word)]
        if stem.endswith(word) and 2 <= len(body) <= MAX_BODY:
            kept = {body[0] + "".join(later) for k in range(MAX_LATER + 1) for later in combinations(body[1:], k)}
            kept.add(body)
            return {p + m for p in kept for m in marks if len(p + m) >= 2} - {stem}
    return set()


def short_form_pairs(records: pd.DataFrame) -> pd.DataFrame:
    """``(rid_l, rid_r, short, full)`` pairs of a record written as a short form and a record of the one full
    name it fits (same generic suffix, compatible places); ``full`` is that full name.

    >>> recs = pd.DataFrame({"name_key": ["南京林业大学科学技术协会", "南林科学技术协会", "南林科学技术协会"],
    ...                      "name_head": ["林业大学", "南林", "南林"], "name_suffix": ["科学技术协会"] * 3,
    ...                      "region_best": ["320100", "320000", "440000"], "region_level": [2, 1, 1]})
    >>> short_form_pairs(recs)[["rid_l", "rid_r"]].values.tolist()
    [[0, 1]]
    """
    stem = stems(records)
    suffix = records["name_suffix"].astype(str).tolist()
    code = records["region_best"].fillna("").astype(str).tolist()
    level = records["region_level"].fillna(0).astype(int).tolist()
    index: dict[tuple[str, str], list[int]] = {}
    for rid, s in enumerate(stem):
        for form in institution_short_forms(s):
            index.setdefault((form, suffix[rid]), []).append(rid)
    head = records["name_head"].astype(str).tolist()
    left, right, short, full = [], [], [], []
    for rid, s in enumerate(stem):
        # a name with a head of its own: 上海科协 is 上海's 科协, not a short form of 上海交通大学's
        hits = index.get((s, suffix[rid])) if head[rid] else None
        if not hits:
            continue
        fits = [h for h in hits if not code[rid] or not code[h] or compatible(code[rid], level[rid], code[h], level[h])]
        names = {stem[h] for h in fits}
        if fits and len(names) <= MAX_MATCHES:
            h = min(fits)
            left.append(min(h, rid))
            right.append(max(h, rid))
            short.append(s)
            full.append(stem[h])
    return pd.DataFrame({"rid_l": np.array(left, dtype=np.int64), "rid_r": np.array(right, dtype=np.int64),
                         "short": short, "full": full})


def short_form_suggestions(records: pd.DataFrame, roots: np.ndarray, review: pd.DataFrame,
                           distinct: pd.DataFrame) -> pd.DataFrame:
    """The short-form pairs (``short_form_pairs``) between two units the clustering left apart and that
    no suggestion or rejection already joins, as suggestions ``(left_org_id, right_org_id, score,
    explanation)``."""
    pairs = short_form_pairs(records)
    ids = records["org_id"].to_numpy(dtype=object)

    def units(frame: pd.DataFrame) -> set:
        ends = roots[frame["rid_l"].to_numpy(np.int64)], roots[frame["rid_r"].to_numpy(np.int64)]
        return {(min(a, b), max(a, b)) for a, b in zip(*ends)}

    known = units(review) | units(distinct)
    rows = []
    for l, r, short, full in pairs.itertuples(index=False):
        a, b = roots[l], roots[r]
        if a == b or (min(a, b), max(a, b)) in known:
            continue
        known.add((min(a, b), max(a, b)))
        rows.append((ids[l], ids[r], SHORT_FORM_SCORE,
                     f"「{short}」可能是「{full}」的简称；简称本身不足以确定是同一单位，请人工确认"))
    return pd.DataFrame(rows, columns=["left_org_id", "right_org_id", "score", "explanation"])
