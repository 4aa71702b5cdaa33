"""Chinese name normalisation, one function for matching and autocomplete alike.

``normalise_name`` folds what people vary when typing the same name (width, traditional
characters, spaces, punctuation, bracket styles, fixed abbreviations). ``split_name`` then cuts
a normalised name into the place prefix, the distinguishing *head* and the generic *suffix*
(科学技术协会, 学会, 有限公司 …), because the head carries the identity and the suffix little.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc

from core.brackets import bracketed_alias
from core.config import REFERENCE_DIR
from core.place_names import short_forms
from core.place_slips import deeper_place, mistyped_ending, replaced_child, replaced_place, slipped_place
from core.regions import RegionTable, default_regions
from core.typos import homophones
from core.unit_words import ends_with_unit_word, renamed_department, snap_unit_word, split_suffix

_T2S = opencc.OpenCC("t2s")
_OPEN = "(（[【〔［｛{<《〈「『"
_CLOSE = ")）]】〕］｝}>》〉」』"
_BRACKETS = str.maketrans({**{c: "（" for c in _OPEN}, **{c: "）" for c in _CLOSE}})
# Everything that is not a letter, digit, CJK ideograph, bracket or a joining mark is noise in a name.
_NOISE = re.compile(r"[^0-9A-Za-z\u3400-\u9fff\uf900-\ufaff（）·&]+")
_EDGE_NOISE = re.compile(r"^[·&]+|[·&]+$")
# Remarks people add in brackets that do not change which unit is meant; anything else in brackets
# (中国地质大学（北京）, 中国石油大学（华东）) is part of the name and is kept.
REMARKS = ("重复", "机关", "筹", "筹备", "新", "旧", "原", "本级", "已认证", "未认证", "秘书处", "科普日", "试用", "测试",
           "临时", "停用", "作废", "总部", "已合并", "合并", "副本", "备份", "旧版", "新版", "注销", "已注销", "撤销",
           "待审核", "已审核", "审核中", "勿用", "重复录入", "已删除", "删除", "待删除", "正式", "主账号", "专用")
REMARK = re.compile(r"（(?:" + "|".join(sorted(REMARKS, key=len, reverse=True)) +
                    r"|[0-9]{4}(?:年度?|版)?|[A-Za-z&·.\- ]+)?）")
_BRACKETED = re.compile(r"（([^（）]{2,6})）")
# Remarks written without brackets at the end of a name: 四川省科学技术协会2023版, …副本
_TAIL_NOTE = re.compile(r"(?<=[\u3400-\u9fff])(?:[0-9]{4}(?:年度?|版)|副本|备份|拷贝)$")
# a short note typed after a dash or underscore (…协会-旧, …中学_副本): bracketed, so name_key may treat it as one
_SEPARATED_TAIL = re.compile(r"(?<=[\u3400-\u9fff])\s*[-_—~－]+\s*([\u3400-\u9fff0-9A-Za-z]{1,4})\s*$")
# a short bracketed note at the very end, after a complete unit word: （老）, （旧）; not a place, nor a sub-unit
_END_NOTE = re.compile(r"（([^（）]{1,4})）$")
_SUB_UNIT = re.compile(r"[院校区部分站所馆局会司厂店处室心队组]")
_LATIN_EDGE = re.compile(r"^[A-Za-z]{2,}(?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff])[A-Za-z]{2,}$")
_OFFICE_TAIL = re.compile(r"(协会|学会|委员会|研究会|联合会|部|局)(机关|本级|秘书处)$")
_STATE_PREFIX = re.compile(r"^中华人民共和国(?=.)")
# a place as typed with its level (广州市, 天河区, 延边州): a bare short form (金华) may be a firm's 字号
_DIVISION_END = re.compile(r"[省市县区州盟旗]$")
NUMERALS = set("0123456789〇零一二三四五六七八九十百")
_ORDINALNUMERALS = re.compile(r"第([1-9][0-9]?)(?![0-9])")
# 七中 / 三小 at the end of a name are 第七中学 / 第三小学
_SHORT_SCHOOL = re.compile(r"(?<![第一二三四五六七八九十])([一二三四五六七八九十]{1,3})(中|小)$")


@lru_cache(maxsize=1)
def _abbreviations() -> tuple[re.Pattern, re.Pattern, dict[str, str]]:
    with open(REFERENCE_DIR / "abbreviations.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    table = {r["variant"]: r["canonical"] for r in rows}

    def alternation(words):
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

    # University short names (北师大, 重大) are ordinary words elsewhere (重大项目, 人大常委会): they
    # are expanded only as the whole name or right before 科协.
    schools = [r["variant"] for r in rows if r["note"] == "高校简称"]
    others = [r["variant"] for r in rows if r["note"] != "高校简称"]
    return (re.compile(alternation(others)),
            re.compile(rf"^({alternation(schools)})(?=科学技术协会|科协|$)"), table)


@lru_cache(maxsize=1)
def _protected_places() -> tuple[re.Pattern, dict[str, str]]:
    """Place names that traditional→simplified conversion damages (乾安县 → 干安县), mapped back."""
    regions = default_regions()
    originals = {}
    for d in regions.by_code.values():
        for n in {d.name} | short_forms(d.name, d.level):
            converted = _T2S.convert(n)
            if converted != n:
                originals[converted] = n
    pattern = "|".join(re.escape(k) for k in sorted(originals, key=len, reverse=True)) or "(?!)"
    return re.compile(pattern), originals


def normalise_name(name: str | None) -> str:
    """The canonical spelling of a name; idempotent.

    >>> normalise_name(" 廣州市 科協（機關）、")
    '广州市科学技术协会（机关）'
    """
    if not name:
        return ""
    s = unicodedata.normalize("NFKC", str(name))
    s = _T2S.convert(s)
    protected, originals = _protected_places()
    if originals:
        s = protected.sub(lambda m: originals[m.group(0)], s)
    s = s.translate(_BRACKETS)
    s = _SEPARATED_TAIL.sub(r"（\1）", s)
    s = _NOISE.sub("", s)
    s = _EDGE_NOISE.sub("", s)
    while "（）" in s:
        s = s.replace("（）", "")
    general, schools, table = _abbreviations()
    s = schools.sub(lambda m: table[m.group(0)], s)
    s = general.sub(lambda m: table[m.group(0)], s)
    s = _ORDINALNUMERALS.sub(lambda m: "第" + _chinese_number(int(m.group(1))), s)
    return _SHORT_SCHOOL.sub(lambda m: f"第{m.group(1)}{m.group(2)}学", s)


def fold_place_text(text: str | None) -> str:
    """The ``region`` text with width and traditional characters folded, place names protected.

    >>> fold_place_text("四川省 德陽市")
    '四川省 德阳市'
    """
    if not text:
        return ""
    s = _T2S.convert(unicodedata.normalize("NFKC", str(text)))
    protected, originals = _protected_places()
    return protected.sub(lambda m: originals[m.group(0)], s) if originals else s


def _chinese_number(n: int) -> str:
    """1..99 as schools and units write them (第8中学 → 第八中学)."""
    digits = "〇一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def name_key(norm: str) -> str:
    """A normalised name without notes: bracketed remarks, acronyms, 机关/本级 tails, 中华人民共和国.

    >>> name_key("中国数学会（CMS）（重复）")
    '中国数学会'
    """
    prev = None
    s = _BRACKETED.sub(_typed_remark, bracketed_alias(norm))
    s = _END_NOTE.sub(_end_note, s)
    while prev != s:
        prev = s
        s = REMARK.sub("", s)
        s = _TAIL_NOTE.sub("", s)
        s = s.replace("（", "").replace("）", "")  # what is left in brackets is part of the name
        s = _LATIN_EDGE.sub("", s)
        s = _OFFICE_TAIL.sub(r"\1", s)
        s = _STATE_PREFIX.sub("", s)
    s = snap_unit_word(_SHORT_SCHOOL.sub(lambda m: f"第{m.group(1)}{m.group(2)}学", s))
    # a university's short name is expanded only before 科协: once a typo'd 科协 (北师大科胁) is mended
    _, schools, table = _abbreviations()
    return renamed_department(schools.sub(lambda m: table[m.group(0)], s))


def _end_note(m: re.Match) -> str:
    """A note after a name that is complete without it (梧州市疾病预防控制中心（老）): not part of the name.

    >>> name_key("武都区实验中学（旧）"), name_key("某某医院（东院）"), name_key("中国石油大学（华东）")
    ('武都区实验中学', '某某医院东院', '中国石油大学华东')
    """
    inner, before = m.group(1), m.string[: m.start()]
    if _SUB_UNIT.search(inner) or not ends_with_unit_word(before):
        return m.group(0)
    return "" if default_regions().parse(inner).consumed < len(inner) else m.group(0)


def _typed_remark(m: re.Match) -> str:
    """A bracketed remark typed with one wrong character (（科谱日）, （秘书外）) is the remark; a place in
    brackets inside a company's name (润新（肇庆）种业有限公司) names the company's place, not another firm."""
    inner = m.group(1)
    for word in REMARKS:
        if len(word) == len(inner) >= 2:
            diff = [i for i, (x, y) in enumerate(zip(word, inner)) if x != y]
            if len(diff) == 1 and homophones(word[diff[0]], inner[diff[0]], loose=True):
                return "（" + word + "）"
    if "公司" in m.string[m.end():] and default_regions().parse(inner).consumed == len(inner):
        return ""
    return m.group(0)


@dataclass(frozen=True)
class NameParts:
    norm: str  # normalise_name
    key: str  # name_key: the name without notes
    head: str  # distinguishing part: no place prefix, no generic suffix
    suffix: str  # generic suffix chain, e.g. 科学技术协会
    region_code: str | None  # the place the name itself names, if unambiguous
    region_level: int | None
    region_text: str  # the place prefix as written
    place_token: str  # short form of the last place name in the name, even an ambiguous one (东山)
    place_candidates: tuple[str, ...] = ()  # what an ambiguous place name could mean


def place_token(name: str) -> str:
    """A place name without its 省/市/县/区 suffix, so 西湖区 and 西湖 meet.

    >>> place_token("西湖区"), place_token("东山")
    ('西湖', '东山')
    """
    if not name:
        return ""
    forms = short_forms(name, 3)
    return min(forms, key=len) if forms else name


def split_name(name: str, hint: str | None = None, regions: RegionTable | None = None) -> NameParts:
    """All parts of a name; ``hint`` is a declared region code that settles ambiguous places.

    >>> p = split_name("廣東省廣州市科協")
    >>> (p.key, p.head, p.suffix, p.region_code)
    ('广东省广州市科学技术协会', '', '科学技术协会', '440100')
    """
    regions = regions or default_regions()
    norm = normalise_name(name)
    key = name_key(norm)
    parsed = regions.parse(key, hint)
    consumed, code, level = parsed.consumed, parsed.code, parsed.level
    if parsed.weak and "公司" in key[consumed:]:
        consumed, code, level = 0, None, None  # 新龙水务有限公司 is a company name, not a place in 新龙县
    elif code and "公司" in key[consumed:] and not _DIVISION_END.search(key[:consumed]) and \
            regions.province(regions.resolve(hint)) not in (None, regions.province(code)):
        # 金华建材有限公司 declared in 广西: a 字号 that reads as a place the record's own code contradicts
        consumed, code, level = 0, None, None
    head, suffix = split_suffix(key[consumed:])
    if head:
        consumed, code, level, head, suffix = _mend_place(key, consumed, code, level, head, suffix, parsed.last,
                                                          regions.resolve(hint), regions)
    # the token of the place as officially named, so 蓟洲区 (a typo) and 蓟州区 meet in blocking
    token = place_token(regions.by_code[code].name if code and consumed else parsed.last)
    return NameParts(norm, key, head, suffix, code, level, key[:consumed], token,
                     parsed.candidates if not code else ())


def _mend_place(key: str, consumed: int, code: str | None, level: int | None, head: str, suffix: str, last: str,
                hint: str | None, regions: RegionTable) -> tuple:
    """``(consumed, code, level, head, suffix)`` with a place name typed with one slip taken as that place
    (``core.place_slips``): 台烟市科协 is 烟台市科协, 大余献科协 大余县科协, 郑州市科科学技术协会 郑州市科协.

    >>> split_name("西广壮族自治区科学技术协会").region_code, split_name("贵市科协", "450800").head
    ('450000', '')
    """
    if consumed and len(head) == 1 and suffix == "科学技术协会":
        # only a place's own 科协 is its place and suffix alone: 裕安医学会 is 裕安 + 医学会, not 裕安区学会
        if head == suffix[0]:  # 科科学技术协会: the suffix's first character typed twice
            return consumed, code, level, "", suffix
        mended = mistyped_ending(regions, last, head, code or hint)
        if mended:
            return consumed + 1, mended, regions.level(mended), "", suffix
    for pos, within in ((0, hint), (consumed, code or hint)):
        def rest_ok(end: int, pos: int = pos, within: str | None = within) -> bool:
            # a short slip, or one no code confirms, is taken only as the whole place part of the name
            return split_suffix(key[end:])[0] == "" or (bool(within) and end - pos >= 3)

        end, found = slipped_place(regions, key, pos, within, rest_ok)
        if found and end > consumed:
            return _mended(key, *deeper_place(regions, key, end, found, hint), regions)
    for pos in dict.fromkeys((0, consumed)):
        end, found = replaced_place(regions, key, pos, hint)
        if found and end > consumed and regions.compatible(found, code):
            return _mended(key, *deeper_place(regions, key, end, found, hint), regions)
    if consumed and code and not hint:
        end, found = replaced_child(regions, key, consumed, code)
        if found:
            return _mended(key, end, found, regions)
    return consumed, code, level, head, suffix


def _mended(key: str, end: int, code: str, regions: RegionTable) -> tuple:
    head, suffix = split_suffix(key[end:])
    return end, code, regions.level(code), head, suffix


def has_numeral_difference(a: str, b: str) -> bool:
    """True when two heads differ in a numeral (第一中学 / 第二中学 are different schools)."""
    return {c for c in a if c in NUMERALS} != {c for c in b if c in NUMERALS}
