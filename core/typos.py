"""Which characters people type for each other: homophones (the pinyin keyboard's typo) and
characters of similar shape (data/reference/similar_shapes.csv)."""
from __future__ import annotations

import csv
from functools import lru_cache

from core.config import REFERENCE_DIR


@lru_cache(maxsize=65536)
def _readings(ch: str) -> frozenset[str]:
    from pypinyin import Style, pinyin

    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


@lru_cache(maxsize=1)
def _similar_shapes() -> frozenset[tuple[str, str]]:
    with open(REFERENCE_DIR / "similar_shapes.csv", encoding="utf-8", newline="") as f:
        pairs = [(r["a"], r["b"]) for r in csv.DictReader(f)]
    return frozenset(pairs + [(b, a) for a, b in pairs])


def homophones(a: str, b: str) -> bool:
    """True when two characters are typed for each other: read alike (辉/晖, 馆/管) or written alike (宫/官).

    >>> homophones("辉", "晖"), homophones("宫", "官"), homophones("林", "农")
    (True, True, False)
    """
    return a == b or bool(_readings(a) & _readings(b)) or (a, b) in _similar_shapes()


def alike_characters(chars: set[str], of: set[str]) -> dict[str, set[str]]:
    """For each character in ``of``: the other characters of ``chars`` typed for it (``homophones``).

    Grouped by reading, so a registry's few thousand characters are read once, not compared pairwise.

    >>> sorted(alike_characters({"辉", "晖", "灰", "林", "宫", "官"}, {"辉", "宫"})["辉"])
    ['晖', '灰']
    """
    by_reading: dict[str, set[str]] = {}
    for ch in chars:
        for r in _readings(ch):
            by_reading.setdefault(r, set()).add(ch)
    shapes: dict[str, set[str]] = {}
    for a, b in _similar_shapes():
        if b in chars:
            shapes.setdefault(a, set()).add(b)
    out = {}
    for ch in of:
        found = set().union(*(by_reading.get(r, set()) for r in _readings(ch))) | shapes.get(ch, set())
        out[ch] = found - {ch}
    return out
