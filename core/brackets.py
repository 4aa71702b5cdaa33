"""A name followed by another name of the same unit in brackets (pure string rules, used by
``core.normalise.name_key``)."""
from __future__ import annotations

import re

_TRAILING = re.compile(r"^(.+?)（([^（）]+)）$")


def _within(short: str, long: str) -> bool:
    """Every character of ``short`` appears in ``long`` in order (科协 within 科学技术协会)."""
    it = iter(long)
    return all(c in it for c in short)


def bracketed_alias(norm: str) -> str:
    """A name followed by another name of the same unit in brackets is that unit's one name: an
    abbreviation inside (中国科学技术协会（中国科协）) or the full name inside (中国科协（中国科学技术协会）)
    adds nothing. A bracket that says something the name does not (中国地质大学（北京）) stays.

    >>> bracketed_alias("中国科学技术协会（中国科学技术协会）"), bracketed_alias("武汉大学（武大）")
    ('中国科学技术协会', '武汉大学')
    >>> bracketed_alias("中国地质大学（北京）"), bracketed_alias("科协（湖北省科学技术协会）")
    ('中国地质大学（北京）', '湖北省科学技术协会')
    """
    m = _TRAILING.match(norm)
    if m is None:
        return norm
    outer, inner = m.groups()
    if len(inner) >= 2 and _within(inner, outer):
        return outer
    if len(outer) >= 2 and _within(outer, inner):
        return inner
    return norm
