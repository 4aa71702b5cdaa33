"""Pinyin of names, fast enough for a million of them.

pypinyin's phrase-aware conversion (重庆 chongqing, 长沙 changsha, 厦门 xiamen, 蚌埠 bengbu) is used for
the place prefix of a name, whose distinct values are few and cached; the rest of the name is read
character by character with each character's usual reading. For the index build those readings are
``str.translate`` tables, so a million names are converted in C rather than a Python loop per character.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def _char(ch: str) -> str:
    if ch.isascii():
        return ch.lower()
    readings = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
    return readings[0].lower() if readings else ""


@lru_cache(maxsize=262144)
def phrase_syllables(text: str) -> tuple[str, ...]:
    """Syllables of a short phrase with pypinyin's phrase dictionary (for place names)."""
    return tuple(s.lower() for s in lazy_pinyin(text, style=Style.NORMAL, errors="ignore") if s)


def syllables(text: str, prefix_len: int = 0) -> list[str]:
    """Syllables of ``text``; its first ``prefix_len`` characters (a place name) are read as a phrase.

    >>> syllables("重庆市科学技术协会", 3)[:3]
    ['chong', 'qing', 'shi']
    """
    out = list(phrase_syllables(text[:prefix_len])) if prefix_len else []
    out.extend(s for s in (_char(c) for c in text[prefix_len:]) if s)
    return out


def forms(text: str, prefix_len: int = 0) -> tuple[str, str]:
    """``(full pinyin, initials)`` without separators.

    >>> forms("广州市科协", 3)
    ('guangzhoushikexie', 'gzskx')
    """
    syl = syllables(text, prefix_len)
    return "".join(syl), "".join(s[0] for s in syl)


class Readings:
    """Translate tables from characters to their pinyin and to their initials.

    >>> r = Readings("广州科协")
    >>> r.pinyin("广州科协"), r.initials("广州科协")
    ('guangzhoukexie', 'gzkx')
    """

    def __init__(self, chars: Iterable[str]):
        syl = {c: _char(c) for c in set(chars) if not c.isascii()}
        self._pinyin = str.maketrans({c: s for c, s in syl.items()})
        self._initials = str.maketrans({c: s[:1] for c, s in syl.items()})

    def pinyin(self, text: str) -> str:
        return text.lower().translate(self._pinyin)

    def initials(self, text: str) -> str:
        return text.lower().translate(self._initials)
