"""The review queue weighed by where a record's parent or activities place it (core.evidence, dedupe.review_queue)."""
import pandas as pd

from core.evidence import place_evidence
from dedupe.resolve import resolve_duplicates

NO_ACTIVITIES = pd.DataFrame({"org_id": pd.Series([], dtype=str), "region_code": pd.Series([], dtype=str)})


def _resolve(prepared, regions, rows, activities=NO_ACTIVITIES, evidence=True):
    raw = [{"org_id": o, "name": n, "category": c, "region_code": r, "parent_id": p} for o, n, c, r, p in rows]
    records = prepared(raw)
    places = place_evidence(records, activities, regions) if evidence else None
    res = resolve_duplicates(records, auto_threshold=0.92, review_threshold=0.70, evidence_places=places)
    return {frozenset(p): e for p, e in zip(res.suggestions[["left_org_id", "right_org_id"]].to_numpy().tolist(),
                                            res.suggestions["explanation"])}, res


def test_a_parent_places_a_record_without_a_county(prepared, regions):
    raw = [{"org_id": o, "name": n, "category": c, "region_code": r, "parent_id": p} for o, n, c, r, p in [
        ("hrb", "哈尔滨市科学技术协会", "市级科协", "230100", ""),
        ("a", "康润物流有限公司科协", "企业科协", "", "hrb"),  # no place: its parent's
        ("b", "康润物流有限公司科协", "企业科协", "230000", "hrb"),  # a province: the parent is finer
        ("c", "康润物流有限公司科协", "企业科协", "230302", "hrb"),  # a county of its own: no evidence needed
        ("d", "康润物流有限公司科协", "企业科协", "440000", "hrb"),  # a parent elsewhere says nothing
    ]]
    records = prepared(raw)
    got = place_evidence(records, NO_ACTIVITIES, regions)["evidence_best"]
    assert dict(zip(records["org_id"], got)) == {"hrb": "", "a": "230100", "b": "230100", "c": "", "d": ""}


def test_activities_place_a_record_when_they_share_one_prefecture(prepared, regions):
    acts = pd.DataFrame({"org_id": ["a", "a", "b", "b"], "region_code": ["230302", "230303", "230302", "230102"]})
    raw = [{"org_id": o, "name": "康润物流有限公司科协", "category": "企业科协", "region_code": "", "parent_id": ""}
           for o in ("a", "b")]
    assert place_evidence(prepared(raw), acts, regions)["evidence_best"].tolist() == ["230300", ""]


ROWS = [("hrb", "哈尔滨市科学技术协会", "市级科协", "230100", ""),
        ("jx", "鸡西市康润物流有限公司科协", "企业科协", "230300", ""),
        ("sy", "双鸭山市康润物流有限公司科协", "企业科协", "230500", ""),
        ("x", "康润物流有限公司科学技术协会", "企业科协", "", "hrb")]


def test_a_common_name_pair_the_parent_puts_elsewhere_leaves_the_queue(prepared, regions):
    # x (no place, parent 哈尔滨市科协) fits 鸡西's and 双鸭山's firm by name and code: without evidence
    # both pairs are suggested; its parent says it is neither
    without, _ = _resolve(prepared, regions, ROWS, evidence=False)
    assert {frozenset(("x", "jx")), frozenset(("x", "sy"))} <= set(without)
    with_evidence, res = _resolve(prepared, regions, ROWS)
    assert not {frozenset(("x", "jx")), frozenset(("x", "sy"))} & set(with_evidence)
    assert set(res.id_map["canonical_org_id"]) >= {"x", "jx", "sy"}  # nothing merged either way


def test_a_pair_the_parent_supports_stays_and_says_so(prepared, regions):
    rows = ROWS[:3] + [("x", "康润物流有限公司科学技术协会", "企业科协", "", "jxkx"),
                       ("jxkx", "鸡西市科学技术协会", "市级科协", "230300", "")]
    got, _ = _resolve(prepared, regions, rows)
    assert "上级单位或活动所在地区与另一方相符" in got[frozenset(("x", "jx"))]
    assert frozenset(("x", "sy")) not in got
