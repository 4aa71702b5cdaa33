"""Where firm names of a company form recur in many provinces, a name alone does not say which firm a
record without a place is: such a pair is suggested, and merged automatically only under one 上级单位."""
import pytest

from dedupe.corroboration import HELD_NOTE
from dedupe.resolve import resolve_duplicates

# 60 firms whose 字号 each exist in 北京 and in 上海: this registry's company names are crowded
CROWD = [{"org_id": f"c{i}{j}{k}", "name": f"{a}{b}贸易有限公司科学技术协会", "category": "企业科协", "region_code": code}
         for i, a in enumerate("甲乙丙丁戊己庚辛壬癸") for j, b in enumerate("瑞泰盛达鑫恒")
         for k, code in enumerate(("110105", "310101"))]
PARENT = {"org_id": "p1", "name": "亳州市谯城区科学技术协会", "category": "县级科协", "region_code": "341602"}


def firm(parent_left="", parent_right="", left_code=""):
    return [{"org_id": "a", "name": "润邦机械制造有限公司科学技术协会", "category": "企业科协", "region_code": left_code,
             "parent_id": parent_left},
            {"org_id": "b", "name": "亳州市润邦机械制造有限公司科学技术协会", "category": "企业科协",
             "region_code": "341602", "parent_id": parent_right}]


def resolve(prepared, rows):
    res = resolve_duplicates(prepared(rows), auto_threshold=0.92, review_threshold=0.70)
    canon = dict(zip(res.id_map["source_org_id"], res.id_map["canonical_org_id"]))
    return canon["a"] == canon["b"], res.suggestions


def test_a_placeless_firm_of_a_crowded_name_is_suggested_not_merged(prepared):
    merged, suggestions = resolve(prepared, CROWD + [PARENT] + firm())
    assert not merged
    pair = suggestions[suggestions[["left_org_id", "right_org_id"]].apply(set, axis=1) == {"a", "b"}]
    assert len(pair) == 1 and HELD_NOTE in pair["explanation"].iloc[0] and pair["score"].iloc[0] >= 0.92


def test_the_same_parent_is_the_second_witness(prepared):
    merged, _ = resolve(prepared, CROWD + [PARENT] + firm("p1", "p1"))
    assert merged


@pytest.mark.parametrize("left_code", ["", "341600"])  # no place, or only the city: the name decides
def test_two_parents_keep_the_firms_apart(prepared, left_code):
    other = {"org_id": "p2", "name": "亳州市利辛县科学技术协会", "category": "县级科协", "region_code": "341623"}
    merged, _ = resolve(prepared, CROWD + [PARENT, other] + firm("p2", "p1", left_code))
    assert not merged


def test_where_names_are_rare_the_name_still_decides(prepared):
    merged, suggestions = resolve(prepared, [PARENT] + firm())
    assert merged and suggestions.empty
