"""The generic words names end with: what units are (图书馆, 科学技术协会, 有限公司 …), how a typo in them is
mended, and how they are cut off a name so that its distinguishing head is left."""
from __future__ import annotations

import csv
from functools import lru_cache

from core.config import REFERENCE_DIR
from core.typos import homophones

# Longest first: a company's 科协 is 有限公司 + 科学技术协会, and both are generic.
GENERIC_SUFFIXES = sorted([
    "科学技术协会", "协会", "学会", "研究会", "联合会", "促进会", "基金会",
    "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "集团公司", "公司", "集团",
], key=len, reverse=True)
# What units are (the last word of most names). A one-character homophone typo of one of these at the
# end of a name is snapped back, because pinyin input makes homophones the commonest typo in Chinese.
UNIT_WORDS = sorted(set(GENERIC_SUFFIXES) | {
    "科技馆", "科普馆", "博物馆", "纪念馆", "图书馆", "文化馆", "美术馆", "体育馆", "天文馆", "展览馆",
    "青少年宫", "少年宫", "示范园", "科普园", "生态园", "产业园", "科技园", "植物园", "动物园", "公园",
    "活动中心", "服务中心", "服务站", "工作站", "研究所", "研究院", "研究中心", "设计院", "中学", "小学",
    "学校", "幼儿园", "医院", "中医院", "卫生院", "保健院", "教育基地", "科普基地", "委员会", "管理局",
    "监督管理局", "融媒体中心", "控制中心", "推广中心", "推广站", "气象局", "地震局", "水文站", "红十字会",
}, key=len, reverse=True)
# two-character generic words whose one-character typos are mended (公司 / 集团 typos meet 有限公司 first)
_TYPED_SHORT_WORDS = frozenset({"学会", "协会", "科协", "小学", "中学"})
@lru_cache(maxsize=1)
def _masked_unit_words() -> dict[str, list[str]]:
    masked: dict[str, list[str]] = {}
    for w in UNIT_WORDS + list(_short_generic()):
        if len(w) >= 3 or w in _TYPED_SHORT_WORDS:
            for i in range(len(w)):
                masked.setdefault(w[:i] + "\0" + w[i + 1:], []).append(w)
    return masked


def snap_unit_word(key: str) -> str:
    """Correct a one-character typo in the unit word a name ends with (图书管 → 图书馆), and in the
    generic suffixes before it (有限公斯科学技术胁会).

    The longest unit word the name ends with wins, so 科学枝术协会 is mended although it ends with
    the correct 协会; a different word that is not a typo (科技局) is left alone. The two-character
    generic words (学会, 协会, 科协) are mended only after at least two characters of name.

    >>> snap_unit_word("涟源市图书管"), snap_unit_word("光润船舶有限公斯科学枝术协会"), snap_unit_word("东安区科技局")
    ('涟源市图书馆', '光润船舶有限公司科学技术协会', '东安区科技局')
    >>> snap_unit_word("浙江省力学雪会"), snap_unit_word("林芝地区棵协"), snap_unit_word("中国职业安全健康胁会")
    ('浙江省力学学会', '林芝地区科学技术协会', '中国职业安全健康协会')
    """
    done = ""
    for _ in range(3):  # a unit word, then up to two generic suffixes before it
        key, word = _snap_tail(key)
        if not word:
            break
        key, done = key[: -len(word)], word + done
        if word not in GENERIC_SUFFIXES:
            break
    return key + done


def _snap_tail(key: str) -> tuple[str, str]:
    """``(key, the unit word it now ends with or '')`` after mending a typo in its last word."""
    cut, word = _snapped_ending(key[-_UNIT_WORD_LENGTHS[0] - 1:], min(len(key), _UNIT_WORD_LENGTHS[0] + 3))
    return (key[:len(key) - cut] + word if cut else key), word


@lru_cache(maxsize=1 << 17)
def _snapped_ending(ending: str, length_of_key: int) -> tuple[int, str]:
    """``(characters to cut, word to put instead)`` for a name's last characters (``ending``); remembered,
    because a registry repeats a few thousand endings."""
    masked = _masked_unit_words()
    # a character dropped, doubled or two swapped in a long generic word (科学术协会, 有限限公司)
    for length in range(min(len(ending), _UNIT_WORD_LENGTHS[0] + 1), 3, -1):
        word = _slipped_words().get(ending[-length:])
        if word and length_of_key > length + 1:
            return length, word
    for length in _UNIT_WORD_LENGTHS:
        tail = ending[-length:]
        if len(tail) < length or length_of_key <= length + (1 if length == 2 else 0):
            continue
        if tail in _UNIT_WORD_SET:
            return 0, tail
        for i in range(length):
            for word in masked.get(tail[:i] + "\0" + tail[i + 1:], ()):
                if homophones(tail[i], word[i], loose=True):
                    return length, _short_generic().get(word, word)
    return 0, ""


def ends_with_unit_word(text: str) -> bool:
    """True when ``text`` ends with one of the words that say what a unit is, with a name before it."""
    return any(text.endswith(w) and len(text) > len(w) for w in _UNIT_WORDS_BY_END.get(text[-1:], ()))


@lru_cache(maxsize=1)
def _slipped_words() -> dict[str, str]:
    """Each unit word of three characters or more typed with one slip: two neighbours swapped or a
    character doubled (not the first, which the name before may end with: 华中 + 中医院), or, in generic
    suffixes of five or more (科学技术协会), one dropped; slips that are words stay words."""
    out: dict[str, str] = {}
    for w in UNIT_WORDS:
        if len(w) < 3:
            continue
        slips = {w[:i + 1] + w[i:] for i in range(1, len(w))}
        slips |= {w[:i] + w[i + 1] + w[i] + w[i + 2:] for i in range(len(w) - 1)}
        if len(w) >= 5 and w in GENERIC_SUFFIXES:
            slips |= {w[:i] + w[i + 1:] for i in range(1, len(w))}
        for slip in slips - _UNIT_WORD_SET - {w}:
            out.setdefault(slip, w)
    return out


@lru_cache(maxsize=1)
def _short_generic() -> dict[str, str]:
    """The fixed short forms of unit words (科协, 科技协会 → 科学技术协会; data/reference/abbreviations.csv).
    They are expanded before typos are mended, so a typo'd one (科胁, 棵技协会, 科技胁会) is snapped
    straight to the full word here."""
    with open(REFERENCE_DIR / "abbreviations.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["variant"]: r["canonical"] for r in rows
            if r["canonical"] in _UNIT_WORD_SET and len(r["variant"]) >= 2 and r["variant"] not in _UNIT_WORD_SET}


_UNIT_WORD_SET = frozenset(UNIT_WORDS)
_UNIT_WORDS_BY_END: dict[str, list[str]] = {}
for _w in UNIT_WORDS:
    _UNIT_WORDS_BY_END.setdefault(_w[-1], []).append(_w)
_UNIT_WORD_LENGTHS = sorted({len(w) for w in UNIT_WORDS if len(w) >= 2}, reverse=True)


def split_suffix(core: str) -> tuple[str, str]:
    """Cut generic suffixes off a name without its place prefix: ``(head, suffix)``.

    >>> split_suffix("润辉水务有限公司科学技术协会")
    ('润辉水务', '有限公司科学技术协会')
    """
    suffix = ""
    for _ in range(2):
        for g in GENERIC_SUFFIXES:
            if core.endswith(g) and len(core) > len(g) - (1 if not suffix else 0) - 1:
                core, suffix = core[: -len(g)], g + suffix
                break
        else:
            break
    if "公司" in suffix and core.endswith("集团") and len(core) >= 4:
        core, suffix = core[:-2], "集团" + suffix  # 润辉水务集团股份有限公司: 集团 is generic too
    return core, suffix


_COMPANY_FORMS = ("集团有限公司", "有限责任公司", "股份有限公司", "集团公司")


def suffix_family(suffix: str) -> str:
    """A generic suffix with its company form folded, 集团 and a final 科学技术协会 left out: names whose
    suffixes differ only so (有限公司 / 股份有限公司, 集团 or not, a firm and its 科协) may be one unit.

    >>> suffix_family("集团股份有限公司科学技术协会"), suffix_family("有限责任公司"), suffix_family("学会")
    ('有限公司', '有限公司', '学会')
    """
    if suffix.endswith("科学技术协会") and len(suffix) > 6:
        suffix = suffix[:-6]
    for form in _COMPANY_FORMS:
        suffix = suffix.replace(form, "有限公司" if form.endswith("有限公司") or "有限" in form else "公司")
    return suffix.replace("集团", "")


@lru_cache(maxsize=1)
def _renames() -> tuple[tuple[str, str], ...]:
    with open(REFERENCE_DIR / "department_renames.csv", encoding="utf-8", newline="") as f:
        rows = [(r["old"], r["new"]) for r in csv.DictReader(f)]
    return tuple(sorted(rows, key=lambda r: len(r[0]), reverse=True))


def renamed_department(key: str) -> str:
    """A department named as before the 2018 reform (data/reference/department_renames.csv) under its
    name now, when something (its place) comes before it.

    >>> renamed_department("番禺区环保局"), renamed_department("工商局"), renamed_department("番禺区生态环境局")
    ('番禺区生态环境局', '工商局', '番禺区生态环境局')
    >>> renamed_department("桐城市文化和旅游局"), renamed_department("桐城市旅游局")
    ('桐城市文化和旅游局', '桐城市文化和旅游局')
    """
    for old, new in _renames():
        if key.endswith(new):
            return key  # 文化和旅游局 ends with the old 旅游局 but is already the new name
        if key.endswith(old) and len(key) > len(old):
            return key[: -len(old)] + new
    return key


