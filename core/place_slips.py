"""Place names typed with one slip: a character dropped, doubled or two neighbours swapped (贵港市 → 贵市,
郑州市 → 郑郑州市, 烟台市 → 台烟市), or the ending after a short form typed alike (大余县 → 大余献).

``RegionTable.parse`` already mends one character typed for a look- or sound-alike inside a full name;
these slips change the length or the order, so they are looked up in an index of every division's full
name with each slip applied. A slip is taken only where other evidence confirms it: the declared code
(or the place already parsed before it) contains the division or lies in it, or, with no code at all,
the slipped text is the whole place part of the name (a place's own 科协) and fits one division only.
"""
from __future__ import annotations

from functools import lru_cache

from core.regions import RegionTable
from core.typos import homophones

_ENDINGS = "县区市旗州盟"


def slips(name: str) -> set[str]:
    """Every string one slip away from ``name``: one character dropped (not leaving fewer than two),
    one doubled, or two neighbours swapped.

    >>> sorted(slips("大连市"))
    ['大大连市', '大市', '大市连', '大连', '大连市市', '大连连市', '连大市', '连市']
    """
    out = {name[:i + 1] + name[i:] for i in range(len(name))}
    out |= {name[:i] + name[i + 1] + name[i] + name[i + 2:] for i in range(len(name) - 1) if name[i] != name[i + 1]}
    if len(name) >= 3:
        out |= {name[:i] + name[i + 1:] for i in range(len(name))}
    out.discard(name)
    return out


@lru_cache(maxsize=4)
def _slip_index(regions: RegionTable) -> tuple[dict[str, frozenset[str]], int]:
    """Each slipped full name (of three characters or more) → the divisions it may mean; exact names and
    short forms of any division are left out (they mean what they say)."""
    names: dict[str, set[str]] = {}
    for code, d in regions.by_code.items():
        names.setdefault(d.name, set()).add(code)
    exact = set(names) | {s for d in regions.by_code.values() for s in _short(d.name, d.level)}
    index: dict[str, set[str]] = {}
    for name, codes in names.items():
        if len(name) < 3:
            continue
        for s in slips(name) - exact:
            index.setdefault(s, set()).update(codes)
    return {k: frozenset(v) for k, v in index.items()}, max(map(len, index))


def _short(name: str, level: int) -> set[str]:
    from core.place_names import short_forms

    return short_forms(name, level)


def slipped_place(regions: RegionTable, text: str, pos: int, within: str | None, rest_ok) -> tuple[int, str | None]:
    """``(end, code)`` of a slipped division name at ``text[pos:]``, or ``(pos, None)``.

    ``within``: a code the division must contain or lie in (the declared code, or the place parsed so
    far); with none, the division must be the only one the slip fits. ``rest_ok(end)`` says whether what
    follows may stand after a place found so (the caller's rule).

    >>> from core.regions import default_regions
    >>> r = default_regions()
    >>> slipped_place(r, "大市连科学技术协会", 0, None, lambda end: True)
    (3, '210200')
    >>> slipped_place(r, "贵市科学技术协会", 0, "450800", lambda end: True)
    (2, '450800')
    >>> slipped_place(r, "贵市科学技术协会", 0, None, lambda end: True)
    (0, None)
    """
    index, longest = _slip_index(regions)
    for length in range(min(longest, len(text) - pos), 1, -1):
        piece = text[pos:pos + length]
        codes = index.get(piece)
        if not codes or piece[:-1] in _codes_named(regions):
            continue  # 任丘市市场监督管理局 is 任丘市 + 市场…, not 任丘市 typed with its 市 doubled
        if within:
            codes = {c for c in codes if regions.compatible(c, within)}
        elif length < 3:
            continue  # two characters and no code to confirm them: too much is guessed
        if len(codes) == 1 and rest_ok(pos + length):
            return pos + length, next(iter(codes))
    return pos, None


def replaced_place(regions: RegionTable, text: str, pos: int, within: str | None) -> tuple[int, str | None]:
    """``(end, code)`` of a division on ``within``'s path (the declared code and the divisions holding it)
    whose full name stands at ``text[pos:]`` with one character other than its ending replaced by any
    other (重厌市 for 重庆市 declared 500000), or ``(pos, None)``. The declared code is the evidence, so
    nothing is taken without one, and text that is itself a division's name means that division (耒阳市
    is 430481 even when declared in 莱阳市 370682: two places, never one typo).

    >>> from core.regions import default_regions
    >>> r = default_regions()
    >>> replaced_place(r, "重厌市科学技术协会", 0, "500101"), replaced_place(r, "重厌市科学技术协会", 0, None)
    ((3, '500000'), (0, None))
    >>> replaced_place(r, "耒阳市科学技术协会", 0, "370682")
    (0, None)
    """
    if not within or within not in regions.by_code:
        return pos, None
    for code in reversed(regions.path(within)):
        name = regions.by_code[code].name
        if _one_replaced(regions, text[pos:pos + len(name)], name):
            return pos + len(name), code
    return pos, None


def _one_replaced(regions: RegionTable, piece: str, name: str) -> bool:
    """``piece`` is the full name ``name`` (three characters or more) with one character other than its
    ending replaced, and is no division's own name."""
    return (len(name) >= 3 and len(piece) == len(name) and piece[-1] == name[-1]
            and sum(a != b for a, b in zip(piece, name)) == 1 and piece not in _codes_named(regions))


def replaced_child(regions: RegionTable, text: str, pos: int, above: str | None) -> tuple[int, str | None]:
    """``(end, code)`` when ``text[pos:]`` holds, with one character other than its ending replaced, the
    full name of a division directly below ``above`` (the place already read from the name when no code
    was declared) and, right after it, a division of its own (广东省肇厌市封开县: 封开县 lies in 肇庆市);
    else ``(pos, None)``. With no code to confirm the typo, the next division is the evidence, and it
    must fit one division only.

    >>> from core.regions import default_regions
    >>> r = default_regions()
    >>> replaced_child(r, "广东省肇厌市封开县特殊教育学校", 3, "440000"), replaced_child(r, "广东省肇厌市特殊教育学校", 3, "440000")
    ((9, '441225'), (3, None))
    """
    if not above or above not in regions.by_code:
        return pos, None
    found = set()
    for code in _children(regions).get(above, ()):
        name = regions.by_code[code].name
        if not _one_replaced(regions, text[pos:pos + len(name)], name):
            continue
        end, below = deeper_place(regions, text, pos + len(name), code, None)
        if below != code:
            found.add((end, below))
    return next(iter(found)) if len(found) == 1 else (pos, None)


def deeper_place(regions: RegionTable, text: str, end: int, code: str, hint: str | None) -> tuple[int, str]:
    """``(end, code)`` after reading the divisions that follow a mended place and lie inside it
    (重厌市长寿区: 长寿区 of 重庆市), or the place itself; a short form read as a place before a firm's
    name (重厌市长寿电子有限公司) is not taken (``ParsedRegion.weak``).

    >>> from core.regions import default_regions
    >>> deeper_place(default_regions(), "重厌市长寿区科学技术协会", 3, "500000", "500115")
    (6, '500115')
    """
    more = regions.parse(text[end:], hint if hint and regions.contains(code, hint) else code)
    if more.code and more.consumed and not more.weak and more.code != code and regions.contains(code, more.code):
        return end + more.consumed, more.code
    return end, code


def mistyped_ending(regions: RegionTable, place: str, typed: str, within: str | None) -> str | None:
    """The division named by a short form ``place`` and one character ``typed`` for its ending
    (大余 + 献 is 大余县), confirmed by ``within`` (a code it must contain or lie in).

    >>> from core.regions import default_regions
    >>> mistyped_ending(default_regions(), "大余", "献", "360723"), mistyped_ending(default_regions(), "大余", "献", None)
    ('360723', None)
    """
    if not within or not place:
        return None
    found = set()
    for e in _ENDINGS:
        if e != typed and homophones(typed, e, loose=True):
            found |= {c for c in _codes_named(regions).get(place + e, ()) if regions.compatible(c, within)}
    return next(iter(found)) if len(found) == 1 else None


@lru_cache(maxsize=4)
def _children(regions: RegionTable) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for code, d in regions.by_code.items():
        if d.parent_code:
            out.setdefault(d.parent_code, []).append(code)
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=4)
def _codes_named(regions: RegionTable) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for code, d in regions.by_code.items():
        out.setdefault(d.name, []).append(code)
    return {k: tuple(v) for k, v in out.items()}
