"""Explanations a reviewer reads, in Chinese, of why two records were (or were not) merged: one line
saying which parts of the names are the same, which differ, and which evidence decided."""
from __future__ import annotations

import pandas as pd

_PLACE = {"same": "地区相同", "nested": "地区一粗一细（一个包含另一个）", "conflict": "地区不同"}
_CATEGORY = {"same": "类别相同", "unknown": "一条没有填类别", "differ": "类别不同"}


def _names(l: dict, r: dict, sim: float) -> str:
    hl, hr, sl, sr = l["name_head"], r["name_head"], l["name_suffix"], r["name_suffix"]
    if not hl and not hr:
        # 西湖区科协 / 西湖区科学技术协会: nothing but a place and the generic words; the place decides
        said = f"两个名称都只由地名和「{sl}」组成" if sl == sr else "两个名称都只有地名和通用词"
    elif hl == hr:
        said = f"名称主体「{hl}」相同"
    elif sim >= 1.0:
        said = f"名称主体「{hl}」与「{hr}」去掉其中的地名后相同"
    else:
        said = f"名称主体「{hl or '（只有地名）'}」与「{hr or '（只有地名）'}」相近（相似度 {sim:.2f}）"
    if sl != sr:
        said += f"，但通用部分不同（「{sl or '无'}」与「{sr or '无'}」）"
    return said


def _place(l: dict, r: dict, relation: str) -> str:
    a, b = l["region_best"], r["region_best"]
    if relation in _PLACE:
        return _PLACE[relation]
    return "两条都没有地区信息" if not a and not b else f"一条没有地区信息（另一条在 {a or b}）"


def explain_pair(l: dict, r: dict, pair: dict) -> str:
    """One line: names, place, category, then the rule that decided and the score.

    >>> explain_pair({"name_head": "润辉水务", "name_suffix": "有限公司", "region_best": "510105"},
    ...              {"name_head": "润辉水务", "name_suffix": "有限公司", "region_best": ""},
    ...              {"head_similarity": 1.0, "place": "unknown", "name_place": "unknown", "category": "same",
    ...               "score": 0.95, "note": "一方缺少地区、名称独特"})
    '名称主体「润辉水务」相同；一条没有地区信息（另一条在 510105）；类别相同。判断依据：一方缺少地区、名称独特（得分 0.95）'
    >>> explain_pair({"name_head": "", "name_suffix": "科学技术协会", "region_best": ""},
    ...              {"name_head": "", "name_suffix": "科学技术协会", "region_best": ""},
    ...              {"head_similarity": 1.0, "place": "unknown", "name_place": "unknown", "category": "same",
    ...               "score": 0.75, "note": "名称未写明地区"})
    '两个名称都只由地名和「科学技术协会」组成；两条都没有地区信息；类别相同。判断依据：名称未写明地区（得分 0.75）'
    """
    return (f"{_names(l, r, float(pair['head_similarity']))}；{_place(l, r, pair['place'])}；"
            f"{_CATEGORY[pair['category']]}。判断依据：{pair['note']}（得分 {pair['score']:.2f}）")


def explain_pairs(records: pd.DataFrame, pairs: pd.DataFrame) -> list[str]:
    cols = ["name_head", "name_suffix", "region_best"]
    used = sorted(set(pairs["rid_l"].tolist()) | set(pairs["rid_r"].tolist()))
    rows = dict(zip(used, records[cols].iloc[used].to_dict("records")))  # only the records the pairs name
    return [explain_pair(rows[a], rows[b], p) for a, b, p in
            zip(pairs["rid_l"].tolist(), pairs["rid_r"].tolist(), pairs.to_dict("records"))]
