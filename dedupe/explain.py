"""Explanations a reviewer reads, in Chinese, of why two records were (or were not) merged."""
from __future__ import annotations

import pandas as pd

_PLACE = {"same": "地区一致", "nested": "地区一粗一细（互相包含）", "unknown": "至少一方未写明地区",
          "conflict": "地区不同"}
_CATEGORY = {"same": "类别相同", "unknown": "一方类别为空", "differ": "类别不同"}


def explain_pair(l: dict, r: dict, pair: dict) -> str:
    """One sentence per piece of evidence, with the score of each.

    >>> explain_pair({"name_head": "润辉水务", "name_suffix": "有限公司", "region_best": "510105"},
    ...              {"name_head": "润辉水务", "name_suffix": "有限公司", "region_best": ""},
    ...              {"head_similarity": 1.0, "place": "unknown", "name_place": "unknown", "category": "same",
    ...               "score": 0.95, "note": "一方缺少地区、名称独特"})
    '名称主体「润辉水务」与「润辉水务」相同（相似度 1.00）；通用部分「有限公司」相同；至少一方未写明地区（510105 / 空）；类别相同；结论：一方缺少地区、名称独特，得分 0.95'
    """
    hl, hr = l["name_head"] or "（无）", r["name_head"] or "（无）"
    sim = pair["head_similarity"]
    parts = [f"名称主体「{hl}」与「{hr}」{'相同' if hl == hr else '不同'}（相似度 {sim:.2f}）"]
    sl, sr = l["name_suffix"], r["name_suffix"]
    parts.append(f"通用部分「{sl}」相同" if sl == sr else f"通用部分不同（「{sl or '无'}」/「{sr or '无'}」）")
    parts.append(f"{_PLACE[pair['place']]}（{l['region_best'] or '空'} / {r['region_best'] or '空'}）")
    parts.append(_CATEGORY[pair["category"]])
    parts.append(f"结论：{pair['note']}，得分 {pair['score']:.2f}")
    return "；".join(parts)


def explain_pairs(records: pd.DataFrame, pairs: pd.DataFrame) -> list[str]:
    cols = ["name_head", "name_suffix", "region_best"]
    used = sorted(set(pairs["rid_l"].tolist()) | set(pairs["rid_r"].tolist()))
    rows = dict(zip(used, records[cols].iloc[used].to_dict("records")))  # only the records the pairs name
    return [explain_pair(rows[a], rows[b], p) for a, b, p in
            zip(pairs["rid_l"].tolist(), pairs["rid_r"].tolist(), pairs.to_dict("records"))]
