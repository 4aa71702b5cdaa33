"""Which characters people type for each other: homophones (the pinyin keyboard's typo) and
characters of similar shape (the four-corner codes of the ``four-corner-method`` package, plus
data/reference/similar_shapes.csv for pairs whose codes differ)."""
from __future__ import annotations

import csv
from functools import lru_cache

from core.config import REFERENCE_DIR


@lru_cache(maxsize=65536)
def _readings(ch: str) -> frozenset[str]:
    from pypinyin import Style, pinyin

    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


@lru_cache(maxsize=65536)
def _main_reading(ch: str) -> str:
    from pypinyin import Style, pinyin

    return pinyin(ch, style=Style.NORMAL)[0][0]


def typed_alike(a: str, b: str) -> bool:
    """Stricter than ``homophones``: the same everyday reading (no rare one: 能 is also read tái) or
    the same four-corner code; for words too short to confirm a typo otherwise.

    >>> typed_alike("宁", "凝"), typed_alike("能", "泰"), homophones("能", "泰")
    (True, False, True)
    """
    return a == b or _main_reading(a) == _main_reading(b) or look_alike(a, b)


@lru_cache(maxsize=1)
def _four_corner() -> dict[str, str]:
    from four_corner_method import FourCornerMethod

    return FourCornerMethod().data


@lru_cache(maxsize=65536)
def _corners(ch: str) -> str:
    """The four corner digits of a character ('' when unknown); the fifth digit (附角) is left out,
    because characters written alike share the four corners (来/耒, 微/徽, 治/冶) but not always it."""
    code = _four_corner().get(ch, "")
    return code[:4] if len(code) >= 4 else ""


@lru_cache(maxsize=1)
def _similar_shapes() -> frozenset[tuple[str, str]]:
    with open(REFERENCE_DIR / "similar_shapes.csv", encoding="utf-8", newline="") as f:
        pairs = [(r["a"], r["b"]) for r in csv.DictReader(f)]
    return frozenset(pairs + [(b, a) for a, b in pairs])


def look_alike(a: str, b: str, loose: bool = False) -> bool:
    """True when two characters are written alike: the same four-corner code, or (``loose``, for the
    few words of a fixed vocabulary such as place names and generic suffixes) codes one corner apart.

    >>> look_alike("来", "耒"), look_alike("来", "贵"), look_alike("来", "贵", loose=True)
    (True, False, True)
    """
    if (a, b) in _similar_shapes():
        return True
    ca, cb = _corners(a), _corners(b)
    if not ca or not cb:
        return False
    return ca == cb or (loose and sum(x != y for x, y in zip(ca, cb)) == 1)


def homophones(a: str, b: str, loose: bool = False) -> bool:
    """True when two characters are typed for each other: read alike (辉/晖, 馆/管) or written alike
    (宫/官, 来/耒); ``loose`` as in ``look_alike``.

    >>> homophones("辉", "晖"), homophones("宫", "官"), homophones("林", "农")
    (True, True, False)
    """
    return a == b or bool(_readings(a) & _readings(b)) or look_alike(a, b, loose)


def alike_characters(chars: set[str], of: set[str]) -> dict[str, set[str]]:
    """For each character in ``of``: the other characters of ``chars`` typed for it (``homophones``).

    Grouped by reading and by four-corner code, so a registry's few thousand characters are read
    once, not compared pairwise.

    >>> sorted(alike_characters({"辉", "晖", "灰", "林", "宫", "官"}, {"辉", "宫"})["辉"])
    ['晖', '灰']
    """
    by_reading: dict[str, set[str]] = {}
    by_corners: dict[str, set[str]] = {}
    for ch in chars:
        for r in _readings(ch):
            by_reading.setdefault(r, set()).add(ch)
        if _corners(ch):
            by_corners.setdefault(_corners(ch), set()).add(ch)
    shapes: dict[str, set[str]] = {}
    for a, b in _similar_shapes():
        if b in chars:
            shapes.setdefault(a, set()).add(b)
    out = {}
    for ch in of:
        found = set().union(*(by_reading.get(r, set()) for r in _readings(ch))) | shapes.get(ch, set())
        if _corners(ch):
            found |= by_corners.get(_corners(ch), set())
        out[ch] = found - {ch}
    return out
