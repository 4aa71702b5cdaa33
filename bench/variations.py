"""Kinds of variation an independent generator types into duplicate records, one named function each.

The project's own variants (``bench.synthetic.Generator.variant``) are the ones it was tuned on; these
are the kinds a registry made by somebody else showed (the issue's per-kind recall list): characters
dropped, doubled or swapped, look-alike and same-pinyin typos, old department names, company forms,
集团 added or dropped, a place in brackets inside a company name, a name without its 科协 suffix, an
English or pinyin name, short forms (北大, 中建八局), remarks (（已合并）, _副本) and codes that are
empty, coarser, finer or a neighbouring county's. Each function takes ``(Ctx, name)`` and returns the
varied name, or ``None`` when the kind does not apply to that name. The tables below are the
generator's own (what offices type), deliberately not the matcher's reference data.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

from core.place_names import short_forms
from core.regions import RegionTable

# old names still typed for departments renamed by the 2018 reform (the generator's own list)
OLD_DEPARTMENTS = {
    "生态环境局": ["环境保护局", "环保局"], "市场监督管理局": ["工商行政管理局", "工商局", "质量技术监督局", "食品药品监督管理局"],
    "自然资源局": ["国土资源局", "国土局"], "农业农村局": ["农业局", "农业委员会"],
    "卫生健康委员会": ["卫生和计划生育委员会", "卫生局", "卫计委"], "文化和旅游局": ["文化广电新闻出版局", "文化局", "旅游局"],
    "应急管理局": ["安全生产监督管理局", "安监局"], "医疗保障局": ["医保局"], "退役军人事务局": ["双拥办"],
}
SOES = ["中国建筑第八工程局有限公司", "中国铁路工程集团有限公司", "中国电力建设集团有限公司", "中国石油化工集团有限公司",
        "中国航天科技集团有限公司", "中国中车集团有限公司", "国家电网有限公司", "中国移动通信集团有限公司",
        "中国交通建设集团有限公司", "中国核工业集团有限公司"]
FORMS = ["有限公司", "有限责任公司", "股份有限公司"]
REMARKS = ["（已合并）", "_副本", "（停用）", "-旧", "（重复录入）", "【勿用】", "（2022）", "(老)", "——备份", "（待删除）"]
_GENERIC_EN = [("科学技术协会", "Association for Science and Technology"), ("有限责任公司", "Co., Ltd."),
               ("股份有限公司", "Co., Ltd."), ("集团有限公司", "Group Co., Ltd."), ("有限公司", "Co., Ltd."),
               ("学会", "Society"), ("协会", "Association"), ("科技馆", "Science and Technology Museum"),
               ("图书馆", "Library"), ("人民医院", "People's Hospital"), ("医院", "Hospital"), ("中学", "Middle School"),
               ("大学", "University"), ("青少年宫", "Youth Palace"), ("文化馆", "Cultural Center")]
_NUMERALS = set("一二三四五六七八九十")


@dataclass
class Ctx:
    """What a variation may look at: the random source, the division table and the unit's code."""
    rng: random.Random
    regions: RegionTable
    code: str = ""
    s2t: opencc.OpenCC = field(default_factory=lambda: opencc.OpenCC("s2t"))


@lru_cache(maxsize=1)
def _pools(regions: RegionTable) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Characters grouped by their everyday reading and by their four-corner code, from the division
    names and the generator's words: where a typist's wrong character comes from."""
    from four_corner_method import FourCornerMethod

    from bench.synthetic import BRANDS, INDUSTRIES, OTHERS, BASES, LOCAL_SOCIETIES

    chars = set("".join(d.name for d in regions.by_code.values()))
    chars |= set("".join(BRANDS + INDUSTRIES + OTHERS + BASES + LOCAL_SOCIETIES + list(OLD_DEPARTMENTS)))
    chars = sorted(c for c in chars if "\u4e00" <= c <= "\u9fff")
    by_reading: dict[str, list[str]] = {}
    for c in chars:
        by_reading.setdefault(lazy_pinyin(c, style=Style.NORMAL)[0], []).append(c)
    corners = FourCornerMethod().data
    by_shape: dict[str, list[str]] = {}
    for c in chars:
        code = corners.get(c, "")
        if len(code) >= 4:
            by_shape.setdefault(code[:4], []).append(c)
    return by_reading, by_shape


def _replace_one(ctx: Ctx, name: str, group_of) -> str | None:
    spots = [(i, [x for x in group_of(ch) if x != ch]) for i, ch in enumerate(name) if "\u4e00" <= ch <= "\u9fff"]
    spots = [(i, alts) for i, alts in spots if alts]
    if not spots:
        return None
    i, alts = ctx.rng.choice(spots)
    return name[:i] + ctx.rng.choice(alts) + name[i + 1:]


def same_pinyin_typo(ctx: Ctx, name: str) -> str | None:
    """One character replaced by another read the same (what a pinyin keyboard produces)."""
    by_reading, _ = _pools(ctx.regions)
    return _replace_one(ctx, name, lambda ch: by_reading.get(lazy_pinyin(ch, style=Style.NORMAL)[0], []))


def look_alike_typo(ctx: Ctx, name: str) -> str | None:
    """One character replaced by one written alike (same four-corner code)."""
    from four_corner_method import FourCornerMethod

    _, by_shape = _pools(ctx.regions)
    corners = FourCornerMethod().data
    return _replace_one(ctx, name, lambda ch: by_shape.get(corners.get(ch, "")[:4], []) if ch in corners else [])


def char_dropped(ctx: Ctx, name: str) -> str | None:
    """One character left out (not the first)."""
    if len(name) < 5:
        return None
    i = ctx.rng.randrange(1, len(name))
    return name[:i] + name[i + 1:]


def char_doubled(ctx: Ctx, name: str) -> str | None:
    """One character typed twice."""
    i = ctx.rng.randrange(len(name))
    return name[:i + 1] + name[i:]


def chars_swapped(ctx: Ctx, name: str) -> str | None:
    """Two neighbouring characters swapped."""
    spots = [i for i in range(len(name) - 1) if name[i] != name[i + 1]]
    if not spots:
        return None
    i = ctx.rng.choice(spots)
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def old_department(ctx: Ctx, name: str) -> str | None:
    """A department under the name it had before the 2018 reform (生态环境局 → 环保局).

    >>> old_department(Ctx(random.Random(1), None), "广州市生态环境局") in ("广州市环境保护局", "广州市环保局")
    True
    """
    for new, olds in OLD_DEPARTMENTS.items():
        if name.endswith(new):
            return name[: -len(new)] + ctx.rng.choice(olds)
    return None


def company_form(ctx: Ctx, name: str) -> str | None:
    """Another company form (有限公司 / 有限责任公司 / 股份有限公司).

    >>> company_form(Ctx(random.Random(1), None), "润辉水务有限责任公司科学技术协会") in (
    ...     "润辉水务有限公司科学技术协会", "润辉水务股份有限公司科学技术协会")
    True
    """
    for form in sorted(FORMS, key=len, reverse=True):
        i = name.find(form)
        if i > 0:
            return name[:i] + ctx.rng.choice([f for f in FORMS if f != form]) + name[i + len(form):]
    return None


def group_toggled(ctx: Ctx, name: str) -> str | None:
    """集团 added before the company form, or dropped."""
    if "集团" in name:
        return name.replace("集团", "", 1)
    for form in sorted(FORMS, key=len, reverse=True):
        i = name.find(form)
        if i > 0:
            return name[:i] + "集团" + name[i:]
    return None


def place_in_brackets(ctx: Ctx, name: str) -> str | None:
    """The company's city in brackets after its 字号 (润新（肇庆）种业有限公司)."""
    if "公司" not in name or not ctx.code or name[0] == "中":
        return None
    pref = ctx.regions.prefecture(ctx.code) or ctx.code
    full = ctx.regions.by_code[pref].name
    place = min(short_forms(full, ctx.regions.level(pref)) or {full}, key=len)
    k = 2 if len(name) > 8 else 1
    return name[:k] + f"（{place}）" + name[k:]


def without_kexie(ctx: Ctx, name: str) -> str | None:
    """A unit's 科协 typed as the unit itself (润辉水务有限公司科学技术协会 → 润辉水务有限公司)."""
    for s in ("科学技术协会", "科协"):
        if name.endswith(s) and len(name) > len(s) + 3 and not _is_place(ctx, name[: -len(s)]):
            return name[: -len(s)]
    return None


def _is_place(ctx: Ctx, text: str) -> bool:
    return ctx.regions.parse(text).consumed == len(text)


def short_form(ctx: Ctx, name: str) -> str | None:
    """The first character of each word of a well-known unit's name (北京大学 → 北大, 中国建筑第八工程局 →
    中建八局), 科协 kept; local units named after their place are not shortened this way.

    >>> from core.regions import default_regions
    >>> ctx = Ctx(random.Random(1), default_regions())
    >>> short_form(ctx, "北京大学科学技术协会"), short_form(ctx, "中国建筑第八工程局有限公司"), short_form(ctx, "广州市图书馆")
    ('北大科协', '中建八局', None)
    """
    tail = ""
    for s in ("科学技术协会", "科协"):
        if name.endswith(s):
            name, tail = name[: -len(s)], "科协"
    for form in ("集团有限公司", "有限公司"):
        if name.endswith(form):
            name = name[: -len(form)]
    if len(name) < 4 or not (name.endswith("大学") or name.startswith("中国")) or ctx.regions.parse(name).consumed:
        return None
    last = 3 if len(name) % 2 else 2
    words = [name[i:i + 2] for i in range(0, len(name) - last, 2)] + [name[-last:]]
    picked = [w[1] if w[0] == "第" and w[1] in _NUMERALS else w[0] for w in words[:-1]]
    return "".join(picked) + (words[-1][0] if words[-1] == "大学" else words[-1][-1]) + tail


def english_or_pinyin(ctx: Ctx, name: str) -> str | None:
    """The name in pinyin, its generic words in English half the time (Runhui Shuiwu Co., Ltd.)."""
    if ctx.rng.random() < 0.5:
        return " ".join(w.capitalize() for w in lazy_pinyin(name))
    for zh, en in _GENERIC_EN:
        if name.endswith(zh) and len(name) > len(zh):
            return "".join(w.capitalize() for w in lazy_pinyin(name[: -len(zh)])) + " " + en
    return None


def prefix_added(ctx: Ctx, name: str) -> str | None:
    """The province (and city) written before the name."""
    if not ctx.code:
        return None
    names = [ctx.regions.by_code[c].name for c in ctx.regions.path(ctx.code)]
    text = "".join(n for n in names if not name.startswith(n))
    stated = next((i for i in range(len(names)) if name.startswith(names[i])), None)
    if stated is not None:
        text = "".join(names[:stated])
    return text + name if text else None


def prefix_dropped(ctx: Ctx, name: str) -> str | None:
    """The place the name starts with left out."""
    parsed = ctx.regions.parse(name)
    rest = name[parsed.consumed:]
    # a place's own 科协 without its place names nothing
    return rest if parsed.consumed and len(rest) >= 3 and not rest.startswith(("科学技术协会", "科协")) else None


def whitespace(ctx: Ctx, name: str) -> str | None:
    """Spaces typed inside and around the name."""
    i = ctx.rng.randrange(1, len(name)) if len(name) > 1 else 1
    return " " + name[:i] + " " + name[i:] + " "


def traditional(ctx: Ctx, name: str) -> str | None:
    """Traditional characters."""
    out = ctx.s2t.convert(name)
    return out if out != name else None


def width(ctx: Ctx, name: str) -> str | None:
    """Full-width letters, digits and brackets."""
    out = name.translate({0x21 + i: 0xFF01 + i for i in range(94)})
    return out if out != name else None


def remark(ctx: Ctx, name: str) -> str | None:
    """A remark after the name (（已合并）, _副本)."""
    return name + ctx.rng.choice(REMARKS)


def abbreviation(ctx: Ctx, name: str) -> str | None:
    """科学技术协会 written 科协."""
    return name.replace("科学技术协会", "科协") if "科学技术协会" in name else None


# applied in this order: what changes the words first, then characters, then the surface
NAME_KINDS = {f.__name__: f for f in (
    english_or_pinyin, short_form, without_kexie, old_department, company_form, group_toggled, place_in_brackets,
    prefix_added, prefix_dropped, abbreviation, char_dropped, char_doubled, chars_swapped, same_pinyin_typo,
    look_alike_typo, remark, traditional, width, whitespace)}
# kinds that leave nothing of the others' spelling to vary
_ALONE = {"english_or_pinyin", "short_form"}
CODE_KINDS = ("code_same", "code_empty", "code_coarse", "code_finer", "code_neighbour")


def vary_name(ctx: Ctx, name: str, n_kinds: int) -> tuple[str, list[str]]:
    """``name`` with ``n_kinds`` applicable kinds of variation (fewer when fewer apply), and their names.

    Kinds are picked at random and applied in the order of ``NAME_KINDS`` (words before characters
    before the surface), a kind joining only when it still changes the name.
    """
    order = list(NAME_KINDS)
    chosen: list[str] = []
    out = name
    for kind in ctx.rng.sample(order, len(order)):
        if len(chosen) == n_kinds:
            break
        if (kind in _ALONE and chosen) or _ALONE & set(chosen):
            continue
        trial, text = sorted(chosen + [kind], key=order.index), name
        state = ctx.rng.getstate()
        for k in trial:
            text = NAME_KINDS[k](ctx, text) if text else None
        if text and text != out:
            chosen, out = trial, text
        else:
            ctx.rng.setstate(state)
    return out, chosen


@lru_cache(maxsize=1)
def _children(regions: RegionTable) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c, d in sorted(regions.by_code.items()):
        if d.parent_code:
            out.setdefault(d.parent_code, []).append(c)
    return out


def vary_code(ctx: Ctx, code: str) -> tuple[str, str]:
    """A code typed empty, coarser, finer or as a neighbouring county's: ``(code, kind)``."""
    r, rng = ctx.regions, ctx.rng
    if not code:
        return code, "code_same"
    x = rng.random()
    children = _children(r).get(code, [])
    if x < 0.55:
        return code, "code_same"
    if x < 0.67:
        return "", "code_empty"
    if x < 0.8 and r.parent(code):
        return r.parent(code), "code_coarse"
    if x < 0.9 and children:
        return rng.choice(sorted(children)), "code_finer"
    if r.level(code) == 3 and r.parent(code):
        siblings = [c for c in _children(r).get(r.parent(code), []) if c != code]
        if siblings:
            return rng.choice(siblings), "code_neighbour"
    return code, "code_same"
