"""Typos inside common heads: 青少年科枝活动中心 is 青少年科技活动中心 typed with a look-alike.

The registry itself says which heads are common (found in many prefectures). A rare head one
homophone or look-alike character away from exactly one common head is taken to be that head,
because a common institution type is far likelier to be mistyped than to exist once with that spelling.
"""
from __future__ import annotations

import pandas as pd

from core.typos import homophones

MIN_LENGTH = 4
RATIO = 5  # the right head is found in at least this many times as many prefectures as the typo


def correct_common_heads(records: pd.DataFrame, common_places: int = 3) -> pd.DataFrame:
    """``records`` with ``name_head`` of rare look-alike heads replaced by the common head they mistype.

    >>> r = pd.DataFrame({"name_head": ["青少年宫"] * 5 + ["青少年官"], "prefecture_best": list("123456")})
    >>> correct_common_heads(r)["name_head"].tolist()[-1]
    '青少年宫'
    """
    spread = records[records["prefecture_best"] != ""].groupby("name_head")["prefecture_best"].nunique()
    common = [h for h, n in spread.items() if n > common_places and len(h) >= MIN_LENGTH]
    masked: dict[str, list[str]] = {}
    for head in common:
        for i in range(len(head)):
            masked.setdefault(head[:i] + "\0" + head[i + 1:], []).append(head)
    places = spread.to_dict()
    fixes = {}
    for head in records["name_head"].unique().tolist():
        if len(head) < MIN_LENGTH:
            continue
        # the mistyped head may itself recur (the same slip in many places), but far less than the right one
        mine = places.get(head, 1)
        found = {c for i in range(len(head)) for c in masked.get(head[:i] + "\0" + head[i + 1:], ())
                 if c != head and places[c] >= RATIO * mine and homophones(head[i], c[i])}
        if len(found) == 1:
            fixes[head] = found.pop()
    if not fixes:
        return records
    return records.assign(name_head=records["name_head"].map(lambda h: fixes.get(h, h)))
