import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from core.normalise import name_key, normalise_name, split_name
from core.unit_words import snap_unit_word

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


@pytest.mark.parametrize("raw", ["润辉水务有限公司科学技术协协会", "润辉水务有限公司科学术协会", "润辉水务有限限公司科学技术协会",
                                 "润辉水务有限公司科技学术协会", "润辉水务有限公司科学技术会"])
def test_a_character_dropped_doubled_or_swapped_in_a_generic_word_is_mended(raw):
    assert split_name(raw).key == "润辉水务有限公司科学技术协会"


@pytest.mark.parametrize("raw, key", [
    ("武都区实验中学-旧", "武都区实验中学"), ("汇远物流有限公司科协_副本", "汇远物流有限公司科学技术协会"),
    ("梧州市疾病预防控制中心(老)", "梧州市疾病预防控制中心"),
    ("某某医院（东院）", "某某医院东院"),  # a campus is part of the name
    ("中国石油大学（华东）", "中国石油大学华东"), ("中国-东盟", "中国东盟"),
    ("本溪满族自治县中医药科普馆馆", "本溪满族自治县中医药科普馆"), ("莲湖区青少年科技活中动心", "莲湖区青少年科技活动中心"),
    ("华中中医院", "华中中医院"),  # 华中 + 中医院: a first character repeated is no slip
])
def test_notes_after_a_complete_name_and_slips_in_unit_words(raw, key):
    assert split_name(raw).key == key


def test_old_department_names_are_the_new_ones_and_group_is_generic():
    assert split_name("番禺区环保局").key == split_name("番禺区生态环境局").key == "番禺区生态环境局"
    assert split_name("广州市卫计委").key == "广州市卫生健康委员会"
    assert split_name("工商局").key == "工商局"  # no place before it: not a department of somewhere
    p = split_name("润辉水务集团股份有限公司科协")
    assert (p.head, p.suffix) == ("润辉水务", "集团股份有限公司科学技术协会")
    assert split_name("中国集团有限公司").head == "中国"  # 集团 stays generic; the head is what is left


def test_unit_word_typos_are_mended_but_other_words_are_not():
    assert snap_unit_word("涟源市图书管") == "涟源市图书馆"
    assert snap_unit_word("宏伟区青少年官") == "宏伟区青少年宫"
    assert snap_unit_word("东安区科技局") == "东安区科技局"
    assert snap_unit_word("东安区科技园") == "东安区科技园"


@pytest.mark.parametrize("typed, meant", [
    ("山西省临汾市永和县棵技协会", "山西省临汾市永和县科学技术协会"),  # a typo in the short form 科技协会
    ("营口市站前区科技胁会", "营口市站前区科学技术协会"),
    ("宇腾通信技术集团有限公司科学技术协汇(秘书处)", "宇腾通信技术集团有限公司科学技术协会"),
    ("北师大科胁", "北京师范大学科学技术协会"),  # the school's short name is read once 科胁 is mended
    ("东安区科技局", "东安区科技局"),  # a different word, not a typo of 科技协会
    ("重大项目科胁", "重大项目科学技术协会"),  # 重大 is a school only as the whole head
])
def test_a_typo_in_a_short_generic_word_is_mended_to_the_full_word(typed, meant):
    assert name_key(normalise_name(typed)) == meant


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
    ("东乡族科学技术协会", None, "622926"),  # the people's name for its autonomous county
    ("延边朝鲜族科协", None, "222400"),
    ("内蒙古自治区包头科学技术协会", None, "150200"),
    ("河南商丘柘城图书馆", None, "411424"),
    ("上海崇明科学技术协会", None, "310151"),
    ("仙桃市科协", None, "429004"),  # county-level city directly under the province
    ("雄安新区科技馆", None, "133100"),
    ("浑原县科协", "140225", "140225"),  # one homophone typo in the place name
    ("中山大学科协", None, None),  # the place is part of the university's name
    ("新龙水务有限公司科协", None, None),  # a company, not a place in 新龙县
    ("湖南新龙水务有限公司科协", None, "430000"),
    ("金华建材有限公司科学技术协会", "451227", None),  # a 字号 like a place, declared in another province
    ("金华建材有限公司科学技术协会", "330702", "330700"),  # declared in 金华: the place stands
    ("金华市建材有限公司科学技术协会", "451227", "330700"),  # 金华市 is typed as a place
])
def test_region_parsing_on_real_names(name, hint, code):
    assert split_name(name, hint).region_code == code


def test_same_named_districts_stay_distinct():
    a, b = split_name("北京市朝阳区科协"), split_name("长春市朝阳区科协")
    assert a.head == b.head == "" and a.region_code != b.region_code


def test_split_name_parts():
    p = split_name("广东省广州市润辉水务有限公司科协")
    assert (p.head, p.suffix, p.region_code, p.region_level) == ("润辉水务", "有限公司科学技术协会", "440100", 2)


@pytest.mark.parametrize("raw, key", [
    ("浙江省力学雪会", "浙江省力学学会"),  # 雪/学: same reading, in the generic word
    ("天津市中西醫結合學匯", "天津市中西医结合学会"),  # traditional and a typo in the generic word
    ("中国职业安全健康胁会", "中国职业安全健康协会"),
    ("林芝地区科胁", "林芝地区科学技术协会"),  # a typo'd 科协 is 科学技术协会
    ("舒城县棵协", "舒城县科学技术协会"),
    ("光润船舶有限公斯科学枝术协会", "光润船舶有限公司科学技术协会"),  # both generic suffixes mended
    ("城区第四小雪", "城区第四小学"),
    ("东安区科技局", "东安区科技局"),  # a different word, not a typo
    ("北京大学医学院", "北京大学医学院"),
    ("某某协作", "某某协作"),
])
def test_typos_in_generic_words_are_mended(raw, key):
    assert name_key(normalise_name(raw)) == key


@pytest.mark.parametrize("raw, key", [
    ("盐城市科学技术协会（科谱日）", "盐城市科学技术协会"),  # a remark typed with a homophone
    ("盐城市科学技术协会（已合并）", "盐城市科学技术协会"),
    ("四川省科学技术协会2023版", "四川省科学技术协会"),
    ("盐城市科学技术协会_副本", "盐城市科学技术协会"),
    ("润新（肇庆）种业有限公司", "润新种业有限公司"),  # a company's place in brackets
    ("中国地质大学（北京）", "中国地质大学北京"),  # a university's campus is its name
])
def test_remarks_around_the_name_are_dropped(raw, key):
    assert name_key(normalise_name(raw)) == key


@pytest.mark.parametrize("name, hint, code", [
    ("安微省合肥市科协", None, "340100"),  # a typo in the province
    ("黑龙将省鹤岗市萝北农业农村局", None, "230421"),
    ("牡丹将市声学学会", None, "231000"),  # 牡丹江市, not 牡丹区 + 将市
    ("黔东南苗族侗族自治洲凯里林业局", None, "522601"),  # a typo in the last character
    ("棒埠市科协", None, "340300"),
    ("宁夏中卫实验小学", None, "640500"),  # 中卫 + 实验小学: the short form stands
    ("来阳市科协", None, None),  # 莱阳 (山东) or 耒阳 (湖南): the name alone cannot say
    ("来阳市科协", "430481", "430481"),
])
def test_typos_in_place_names_are_read(name, hint, code):
    assert split_name(name, hint).region_code == code


@pytest.mark.parametrize("name, hint, code", [
    ("贵市科学技术协会", "450800", "450800"),  # 贵港市 with a character dropped, the code confirms it
    ("贵市科学技术协会", None, None),  # two characters and nothing to confirm them
    ("台烟市科协", None, "370600"),  # two neighbours swapped: 烟台市, the whole place part of the name
    ("郑郑州市科协", "410100", "410100"),  # a character doubled
    ("红河哈尼尼族彝族自治州科协", "530000", "532500"),  # doubled inside, the province's code confirms it
    ("城步族自治县科协", "430500", "430529"),  # 苗 dropped
    ("大余献科协", "360723", "360723"),  # the ending after a short form typed alike (县 → 献)
    ("呼和浩特市科科学技术协会", "150100", "150100"),  # the suffix's first character doubled
    ("任丘市市场监督管理局", "130982", "130982"),  # 任丘市 + 市场…, no slip
    ("裕安医学会", "340000", "341503"),  # 裕安 + 医学会: a one-character head is an ending only before 科协
    ("莱阳市科协", "430481", "370682"),  # a slip never overrides a name that is right as typed
    ("重厌市科学技术协会", "500000", "500000"),  # one character replaced by any other, the code confirms it
    ("肇厌市科协", "441202", "441200"),  # … or a division under it does
    ("广东省肇厌市科协", "441200", "441200"),  # after a place already read
    ("重厌市科协", None, None),  # no code, no confirmation
    ("耒阳市科协", "370682", "430481"),  # a name that is some division's is never read as a replaced one
])
def test_slips_in_place_names_are_read_where_evidence_confirms_them(name, hint, code):
    parts = split_name(name, hint)
    assert parts.region_code == code
    assert (parts.head == "") == (code is not None) or name.startswith(("任丘", "裕安"))


@pytest.mark.parametrize("name, hint, code, head", [
    # after a mended place, the divisions inside it are read too, so the name meets its official form
    ("重厌市长寿区科学技术协会", "500115", "500115", ""),
    ("广东省肇厌市封开县特殊教育学校", "441225", "441225", "特殊教育学校"),
    # with no code, a division directly below the place read before it, confirmed by one of its own after it
    ("广东省肇厌市封开县特殊教育学校", None, "441225", "特殊教育学校"),
    ("广东省肇厌市特殊教育学校", None, "440000", "肇厌市特殊教育学校"),  # nothing after it confirms the typo
    ("重厌市长寿电子有限公司", "500000", "500000", "长寿电子"),  # a firm's 字号 that reads as a place is not taken
])
def test_a_mended_place_is_read_down_to_the_divisions_inside_it(name, hint, code, head):
    parts = split_name(name, hint)
    assert (parts.region_code, parts.head) == (code, head)
    if head in ("", "特殊教育学校"):  # read as the official name is
        official = split_name(name.replace("厌", "庆"), hint)
        assert (official.region_code, official.head, official.suffix) == (code, head, parts.suffix)


def test_a_typo_in_a_place_meets_its_official_name_in_blocking():
    assert split_name("天津市蓟洲区地震局").place_token == split_name("天津市蓟州区地震局").place_token == "蓟州"


def test_region_text_is_folded_before_parsing():
    from core.normalise import fold_place_text
    from core.regions import default_regions

    assert default_regions().parse(fold_place_text("四川省 德陽市 旌陽區")).code == "510603"


def test_look_alike_characters_come_from_four_corner_codes():
    from core.typos import homophones, look_alike

    assert look_alike("来", "耒") and look_alike("微", "徽") and look_alike("治", "冶")
    assert not look_alike("林", "农") and not homophones("林", "农")


@pytest.mark.parametrize("text, code", [
    ("浙江省杭州市下城区", "330105"),  # 2021: 下城区 merged into 拱墅区 (JioNLP's change list)
    ("杭州江干区", "330102"),  # and 江干区 into 上城区
    ("大同市城区", "140213"),  # 2018: 平城区; another 城区 elsewhere is not it
    ("天津蓟县", "120119"),  # 2016: 蓟州区
    ("北京延庆县", "110119"),  # a county that became a district keeps its name's stem
    ("上海浦东", "310115"),  # 浦东 for 浦东新区
    ("天津滨海", "120116"),
    ("江苏滨海", "320922"),  # 滨海县 is another place
    ("青岛市北区", "370203"),  # 青岛 + 市北区: the 市 belongs to the district
    ("青岛市市南区", "370202"),
    ("台湾省", "710000"),
    ("香港", "810000"),
])
def test_region_text_with_changed_and_short_names(text, code):
    from core.regions import default_regions

    assert default_regions().parse(text).code == code


@pytest.mark.parametrize("processes", [2, 3])
def test_records_prepared_in_processes_equal_one_process(monkeypatch, processes):
    """The shares prepared by forked workers, put together, are exactly the one-process records."""
    import core.records
    from core.checks import check_registry
    from core.regions import default_regions
    from core.sources import read_table
    from tests.conftest import SAMPLE

    regions = default_regions()
    clean = check_registry(read_table(SAMPLE / "registry.csv", "registry"), regions).clean
    alone = core.records.prepare_registry(clean, regions)
    monkeypatch.setattr(core.records, "PARALLEL_FROM", 0)  # the sample is below the size that forks
    pools = []

    class Pool(core.records.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(core.records, "ProcessPoolExecutor", Pool)
    shared = core.records.prepare_registry(clean, regions, processes)
    assert pools == [processes - 1]  # the shares were prepared by forked workers
    pd.testing.assert_frame_equal(shared, alone)
