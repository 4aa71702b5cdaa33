import pytest
from hypothesis import given, settings, strategies as st

from core.normalise import name_key, normalise_name, snap_unit_word, split_name

pieces = st.sampled_from(list("广州市科协學會技术中国（）() 、，。·北京朝阳区第一二三中学有限公司ＡＢ１２图书管馆七") +
                         ["科學技術協會", "科协", "（重复）", "北师大", "第8", "乾安县"])
cjk = st.lists(pieces, max_size=12).map("".join)


@given(cjk)
@settings(max_examples=300, deadline=None)
def test_normalise_is_idempotent(s):
    once = normalise_name(s)
    assert normalise_name(once) == once
    assert name_key(name_key(once)) == name_key(once)


@pytest.mark.parametrize("raw, expected", [
    ("广州市科协", "广州市科学技术协会"),
    ("廣州市科學技術協會", "广州市科学技术协会"),
    ("ＡＢＣ中国数学会（ＣＭＳ）", "ABC中国数学会（CMS）"),
    (" 泽普县科学技术协会， ", "泽普县科学技术协会"),
    ("中国数学会[CMS]", "中国数学会（CMS）"),
    ("四平市科技协会", "四平市科学技术协会"),
    ("西丰第8中学", "西丰第八中学"),
    ("北师大科协", "北京师范大学科学技术协会"),
    ("人大常委会", "人大常委会"),  # a university short name only as a whole name
    ("乾安县科协", "乾安县科学技术协会"),  # 乾 is not turned into 干 inside a place name
])
def test_normalise_folds_what_people_vary(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize("raw, key", [
    ("中国数学会（CMS）（重复）", "中国数学会"),
    ("SESC中国系统工程学会", "中国系统工程学会"),
    ("中国科学技术协会机关", "中国科学技术协会"),
    ("中华人民共和国自然资源部", "自然资源部"),
    ("中国地质大学（北京）科学技术协会", "中国地质大学北京科学技术协会"),  # a place in brackets is kept
    ("库尔勒市七中（机关）", "库尔勒市第七中学"),
])
def test_name_key_drops_remarks_only(raw, key):
    assert name_key(normalise_name(raw)) == key


def test_unit_word_typos_are_mended_but_other_words_are_not():
    assert snap_unit_word("涟源市图书管") == "涟源市图书馆"
    assert snap_unit_word("宏伟区青少年官") == "宏伟区青少年宫"
    assert snap_unit_word("东安区科技局") == "东安区科技局"
    assert snap_unit_word("东安区科技园") == "东安区科技园"


@pytest.mark.parametrize("name, hint, code", [
    ("北京市朝阳区科学技术协会", None, "110105"),
    ("长春市朝阳区科协", None, "220104"),
    ("朝阳区科协", "110105", "110105"),
    ("朝阳区科协", "220104", "220104"),
    ("朝阳区科协", None, None),  # two 朝阳区: the name alone does not say which
    ("吉林省科协", None, "220000"),
    ("吉林市科协", None, "220200"),
    ("襄樊市科协", None, "420600"),  # renamed to 襄阳 in 2010
    ("崇文区科协", None, "110101"),  # merged into 东城区
    ("延边州科学技术协会", None, "222400"),
    ("内蒙古自治区包头科学技术协会", None, "150200"),
    ("河南商丘柘城图书馆", None, "411424"),
    ("上海崇明科学技术协会", None, "310151"),
    ("仙桃市科协", None, "429004"),  # county-level city directly under the province
    ("雄安新区科技馆", None, "133100"),
    ("浑原县科协", "140225", "140225"),  # one homophone typo in the place name
    ("中山大学科协", None, None),  # the place is part of the university's name
    ("新龙水务有限公司科协", None, None),  # a company, not a place in 新龙县
    ("湖南新龙水务有限公司科协", None, "430000"),
])
def test_region_parsing_on_real_names(name, hint, code):
    assert split_name(name, hint).region_code == code


def test_same_named_districts_stay_distinct():
    a, b = split_name("北京市朝阳区科协"), split_name("长春市朝阳区科协")
    assert a.head == b.head == "" and a.region_code != b.region_code


def test_split_name_parts():
    p = split_name("广东省广州市润辉水务有限公司科协")
    assert (p.head, p.suffix, p.region_code, p.region_level) == ("润辉水务", "有限公司科学技术协会", "440100", 2)
