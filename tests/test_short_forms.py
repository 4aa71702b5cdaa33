"""Short forms of an institution's name go to a person (dedupe.short_forms), never merged on their own."""
import pandas as pd
from hypothesis import given, strategies as st

from dedupe.resolve import resolve_duplicates
from dedupe.short_forms import institution_short_forms
from tests.test_dedupe import rows_of


def _suggested(prepared, rows, decisions=None):
    res = resolve_duplicates(prepared(rows_of(rows)), auto_threshold=0.92, review_threshold=0.70, decisions=decisions)
    canon = dict(zip(res.id_map["source_org_id"], res.id_map["canonical_org_id"]))
    pairs = {frozenset(p): e for p, e in zip(res.suggestions[["left_org_id", "right_org_id"]].values.tolist(),
                                             res.suggestions["explanation"])}
    return canon, pairs


def test_a_short_form_is_suggested_with_its_full_name_and_never_merged(prepared):
    canon, pairs = _suggested(prepared, [
        ("nl", "南林科协", "高校科协", "320100"), ("nj", "南京林业大学科学技术协会", "高校科协", ""),
        ("sj", "上交科协", "高校科协", ""), ("sh", "上海交通大学科学技术协会", "高校科协", "310000"),
        ("mw", "国家民委", "部委", ""), ("mz", "国家民族事务委员会", "部委", "110108")])
    for short, full in (("nl", "nj"), ("sj", "sh"), ("mw", "mz")):
        assert canon[short] != canon[full]
        assert "简称" in pairs[frozenset((short, full))]
    assert "「南林」可能是「南京林业大学」的简称" in pairs[frozenset(("nl", "nj"))]


def test_a_short_form_two_units_fit_or_a_place_contradicts_is_not_suggested(prepared):
    _, pairs = _suggested(prepared, [
        ("sd", "山大科协", "高校科协", ""), ("sx", "山西大学科学技术协会", "高校科协", "140000"),
        ("yz", "扬州大学科学技术协会", "高校科协", "321000"), ("yd", "扬大科协", "高校科协", "440000"),
        ("sh", "上海交通大学科学技术协会", "高校科协", "310000"), ("kx", "上海科协", "省级科协", "310000")])
    # 扬大 in 广东 does not fit 扬州大学 in 江苏; 上海科协 is 上海's own, not a short form of 上海交通大学
    assert frozenset(("yd", "yz")) not in pairs and frozenset(("kx", "sh")) not in pairs


def test_a_rejected_short_form_is_not_suggested_again(prepared):
    rows = [("nl", "南林科协", "高校科协", "320100"), ("nj", "南京林业大学科学技术协会", "高校科协", "")]
    decisions = pd.DataFrame({"left_org_id": ["nj"], "right_org_id": ["nl"], "decision": ["distinct"]})
    assert frozenset(("nl", "nj")) not in _suggested(prepared, rows, decisions)[1]


@given(st.text(alphabet="南京林业师范理工科技交通", min_size=2, max_size=8))
def test_short_forms_keep_the_first_character_and_the_order_and_are_shorter(body):
    for form in institution_short_forms(body + "大学"):
        assert form[0] == body[0] and len(form) < len(body) + 2
        chars = iter(body + "大")
        assert all(c in chars for c in form)  # a subsequence of the full name
