"""The GB/T 2260 division table (data/reference) and parsing of place names in free text.

Parsing is a greedy longest match over the official names, their short forms (广州市/广州,
延边朝鲜族自治州/延边州/延边) and legacy names (襄樊→襄阳), each step constrained to the
children of what was already matched, so 北京朝阳区 and 长春市朝阳区 resolve to different codes.
A hand-written matcher because no maintained library resolves names *against the 2025 table*
with hints and legacy names; it is ~100 lines over a dict.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.config import REFERENCE_DIR
from core.place_names import changed_names, short_forms

_SEPARATORS = set(" /\\-—_|,，、·.")
_TYPO_MAXLEN = 12  # 黔东南苗族侗族自治州
_COUNTY_ENDINGS = set("县区市旗")
_WORDS_AFTER_PLACES = {"市场", "区域", "县城", "市政", "市民", "区块"}  # 剑河市场监督管理局 is 剑河 + 市场…
_PROPER_NAME_HEADS = ("大学", "学院", "师范", "理工", "医科", "工业大学")


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: int  # 1 province, 2 prefecture, 3 county
    parent_code: str


@dataclass(frozen=True)
class ParsedRegion:
    code: str | None  # the deepest division resolved unambiguously, None when nothing or ambiguous
    level: int | None
    consumed: int  # characters of the text that were place names (and separators between them)
    last: str = ""  # the last place name seen, even an ambiguous one (东山, 西湖区)
    weak: bool = False  # one bare short county name, confirmed by nothing else
    candidates: tuple[str, ...] = ()  # the places an ambiguous name could mean (朝阳区: 110105, 220104 …)


class RegionTable:
    """Divisions by code, with containment tests and a parser for place names in text."""

    def __init__(self, divisions: list[Division], legacy: list[tuple[str, str, str]] = ()):
        self.by_code = {d.code: d for d in divisions}
        self._paths: dict[str, tuple[str, ...]] = {}
        self.legacy = {old_code: new_code for _, old_code, new_code in legacy if old_code and new_code in self.by_code}
        self._full: dict[str, set[str]] = {}
        self._short: dict[str, set[str]] = {}
        for d in divisions:
            self._full.setdefault(d.name, set()).add(d.code)
            for s in short_forms(d.name, d.level):
                self._short.setdefault(s, set()).add(d.code)
        current = set(self._full)
        # an old name that is still a division's name elsewhere (邢台's 桥东区, now 襄都区; 张家口 still
        # has one) means the old place only after its own parent (邢台市桥东区)
        self._shadowed: dict[str, set[str]] = {}
        for old_name, _, new_code in legacy:
            if new_code not in self.by_code:
                continue
            if old_name in current:
                self._shadowed.setdefault(old_name, set()).add(new_code)
                continue
            self._full.setdefault(old_name, set()).add(new_code)
            for s in short_forms(old_name, self.by_code[new_code].level):
                self._short.setdefault(s, set()).add(new_code)
        self._maxlen = max(map(len, list(self._full) + list(self._short)))
        # the lengths of the names starting with each two characters, longest first: most positions of a
        # name start no place name at all, and a million names were tried at every length otherwise
        starts: dict[str, set[int]] = {}
        for name in list(self._full) + list(self._short):
            if len(name) >= 2:
                starts.setdefault(name[:2], set()).add(len(name))
        self._lengths_by_start = {k: sorted(v, reverse=True) for k, v in starts.items()}
        self._masked: dict[str, list[str]] = {}
        self._masked_short: dict[str, list[str]] | None = None  # built on first use
        self._lengths_by_char: tuple[dict[str, set[int]], dict[str, set[int]]] = ({}, {})
        for name in self._full:
            if 3 <= len(name) <= _TYPO_MAXLEN:
                self._lengths_by_char[0].setdefault(name[0], set()).add(len(name))
                self._lengths_by_char[1].setdefault(name[1], set()).add(len(name))
                for i in range(len(name)):
                    self._masked.setdefault(name[:i] + "\0" + name[i + 1:], []).append(name)

    # ----------------------------------------------------------------- codes
    def resolve(self, code: str | None) -> str | None:
        """A valid current code for ``code``, else None.

        Legacy codes map to their successor; a well-formed code missing from the table (功能区 such
        as 苏州工业园区 320576, or a newer county) falls back to its prefecture, then its province.

        >>> default_regions().resolve("320599")
        '320500'
        """
        if not code:
            return None
        if code in self.by_code:
            return code
        if code in self.legacy:
            return self.legacy[code]
        if len(code) == 6 and code.isdigit():
            for parent in (code[:4] + "00", code[:2] + "0000"):
                if parent in self.by_code:
                    return parent
        return None

    def is_exact(self, code: str) -> bool:
        return code in self.by_code or code in self.legacy

    def level(self, code: str) -> int:
        return self.by_code[code].level

    def parent(self, code: str) -> str | None:
        return self.by_code[code].parent_code or None

    def path(self, code: str) -> tuple[str, ...]:
        """Codes from the province down to ``code`` (remembered: a nightly run asks millions of times)."""
        found = self._paths.get(code)
        if found is None:
            out, c = [], code
            while c:
                out.append(c)
                c = self.by_code[c].parent_code
            found = self._paths[code] = tuple(out[::-1])
        return found

    def province(self, code: str | None) -> str | None:
        return self.path(code)[0] if code in self.by_code else None

    def prefecture(self, code: str | None) -> str | None:
        if code not in self.by_code:
            return None
        p = self.path(code)
        return p[1] if len(p) > 1 and self.by_code[p[1]].level == 2 else None

    def contains(self, ancestor: str, code: str) -> bool:
        """True when ``code`` is ``ancestor`` or lies under it."""
        return code in self.by_code and ancestor in self.path(code)

    def compatible(self, a: str | None, b: str | None) -> bool:
        """True when one of the two divisions contains the other (or either is unknown)."""
        if not a or not b:
            return True
        return self.contains(a, b) or self.contains(b, a)

    def path_names(self, code: str | None) -> str:
        return "".join(self.by_code[c].name for c in self.path(code)) if code in self.by_code else ""

    def path_label(self, code: str | None) -> str:
        """The place path people read, province first, "/" between ("" for an unknown code).

        >>> default_regions().path_label("440106"), default_regions().path_label("999999")
        ('广东省/广州市/天河区', '')
        """
        return "/".join(self.by_code[c].name for c in self.path(code)) if code in self.by_code else ""

    # ----------------------------------------------------------------- parsing
    def _candidates(self, text: str, pos: int) -> tuple[int, set[str], str]:
        """``(length, codes, kind)`` of the place name at ``pos``; kind is '' (full name), 'short' or 'typo'."""
        for length in self._lengths_by_start.get(text[pos:pos + 2], ()):
            if length > len(text) - pos:
                continue
            piece = text[pos:pos + length]
            if piece in self._full:
                return length, self._full[piece], ""
            if piece in self._short:
                # 牡丹将市 is 牡丹江市 mistyped, not 牡丹(区) followed by 将市: a full name one typo away
                # and at least two characters longer outranks a short form (中卫实验小学 is 中卫 + 实验小学)
                typo = self._typo_candidates(text, pos, longer_than=length + 1)
                if typo[0]:
                    return typo
                if text[pos + length:pos + length + 1] in _COUNTY_ENDINGS and \
                        text[pos + length:pos + length + 2] not in _WORDS_AFTER_PLACES:
                    # 延庆县 is 延庆区 written before it became a district (撤县设区, 撤县设市): the ending
                    # after a short form is part of the place, whichever it is now
                    length += 1
                return length, self._short[piece], "short"
        return self._typo_candidates(text, pos)

    def _typo_in_short_form(self, text: str, pos: int, current: set[str] | None, hint: str
                            ) -> tuple[int, set[str], str]:
        """A short form with one character typed for another (成宁 → 咸宁, 横锋 → 横峰), taken only where
        the declared code confirms it: two characters leave too much to chance."""
        from core.typos import typed_alike

        if self._masked_short is None:
            self._masked_short = {}
            for name in self._short:
                if 2 <= len(name) <= 3:
                    for i in range(len(name)):
                        self._masked_short.setdefault(name[:i] + "\0" + name[i + 1:], []).append(name)

        def confirmed(code: str) -> bool:
            return ((not current or self._below({code}, current))
                    and (self.contains(code, hint) or self.contains(hint, code)))

        for length in (3, 2):
            piece = text[pos:pos + length]
            if len(piece) < length:
                continue
            found = set()
            for i in range(length):
                for name in self._masked_short.get(piece[:i] + "\0" + piece[i + 1:], ()):
                    # the places are filtered before the (slower) look-alike test: the same set either way
                    codes = {c for c in self._short[name] if confirmed(c)}
                    if codes and typed_alike(piece[i], name[i]):
                        found |= codes
            if found:
                return length, found, "typo"
        return 0, set(), ""

    def _below(self, cands: set[str], current: set[str]) -> bool:
        return any(c != k and self.contains(k, c) for k in current for c in cands)

    def _typo_candidates(self, text: str, pos: int, longer_than: int = 2) -> tuple[int, set[str], str]:
        """A full division name with one character typed for a look- or sound-alike, anywhere in it
        (浑原县 → 浑源县, 自治洲 → 自治州, 安微省 → 安徽省)."""
        return self._typo_at(text[pos:pos + _TYPO_MAXLEN], longer_than)

    @lru_cache(maxsize=1 << 16)
    def _typo_at(self, text: str, longer_than: int) -> tuple[int, set[str], str]:
        from core.typos import homophones

        # a typo at the first character leaves the second right, anywhere else the first: only lengths
        # of names starting so are tried
        lengths = self._lengths_by_char[0].get(text[:1], set()) | self._lengths_by_char[1].get(text[1:2], set())
        for length in sorted((n for n in lengths if longer_than < n <= len(text)), reverse=True):
            piece = text[:length]
            found = set()
            for i in range(length):
                for name in self._masked.get(piece[:i] + "\0" + piece[i + 1:], ()):
                    if homophones(piece[i], name[i]):
                        found |= self._full[name]
            if found:
                return length, found, "typo"  # as weak as a short form: a hint or context must agree
        return 0, set(), ""

    def parse(self, text: str, hint: str | None = None) -> ParsedRegion:
        """Place names at the start of ``text``; ``hint`` (a declared code) settles ambiguous ones.

        >>> t = default_regions()
        >>> t.parse("北京市朝阳区科学技术协会").code, t.parse("长春市朝阳区科协").code
        ('110105', '220104')
        """
        hint = self.resolve(hint)
        pos, consumed, current, last, tokens, short_first = 0, 0, None, "", 0, False
        while pos < len(text):
            while pos < len(text) and text[pos] in _SEPARATORS:
                pos += 1
            length, cands, short = self._candidates(text, pos)
            if current and text[pos - 1:pos] == "市" and not self._below(cands, current):
                # 青岛市北区 is 青岛 + 市北区: the greedy match took the 市 of the district's name
                back = self._candidates(text, pos - 1)
                if back[2] == "" and self._below(back[1], current):
                    pos, (length, cands, short) = pos - 1, back
            if not length and hint:
                length, cands, short = self._typo_in_short_form(text, pos, current, hint)
            if current and length and not short:
                cands = cands | self._shadowed.get(text[pos:pos + length], set())
            if not length:
                break
            last = text[pos:pos + length]
            if current:
                cands = {c for c in cands if c != current and any(self.contains(k, c) for k in current)}
            elif short and hint:
                cands = {c for c in cands if self.compatible(c, hint)} or (cands if len(cands) == 1 else set())
            elif len(cands) > 1 and hint:
                cands = {c for c in cands if self.compatible(c, hint)} or cands
            if hint in cands:
                cands = {hint}
            elif short == "short" and len(cands) > 1:
                # 长沙 is first the city, then 长沙县: a bare short name means the higher level
                top = min(self.by_code[c].level for c in cands)
                cands = {c for c in cands if self.by_code[c].level == top}
            if short and text.startswith(_PROPER_NAME_HEADS, pos + length):
                break  # 中山大学 is in Guangzhou, 吉林大学 in Changchun: the place is part of the proper name
            if not cands:
                break
            if current is None and short == "short" and self.by_code[next(iter(cands))].level == 3 and len(cands) > 1:
                # a bare short county name shared by several counties: not consumed, but remembered
                return ParsedRegion(None, None, 0, last, False, tuple(sorted(cands)))
            short_first = short_first or bool(current is None and short and hint not in cands
                                              and all(self.by_code[c].level == 3 for c in cands))
            tokens += 1
            current = cands
            pos += length
            consumed = pos
            if all(self.by_code[c].level == 3 for c in cands):
                break
        if not current:
            return ParsedRegion(None, None, 0, last)
        if len(current) > 1 and hint:
            current = {c for c in current if self.compatible(c, hint)} or current
        weak = short_first and tokens == 1
        if len(current) == 1:
            code = next(iter(current))
            return ParsedRegion(code, self.by_code[code].level, consumed, last, weak)
        return ParsedRegion(None, None, consumed, last, weak, tuple(sorted(current)))


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=1)
def default_regions() -> RegionTable:
    """The bundled 2025-12-31 table with legacy names (loaded once per process)."""
    divisions = [Division(r["code"], r["name"], int(r["level"]), r["parent_code"])
                 for r in _read_csv(REFERENCE_DIR / "divisions.csv")]
    extra = _read_csv(REFERENCE_DIR / "extra_divisions.csv")
    divisions += [Division(r["code"], r["name"], int(r["level"]), r["parent_code"]) for r in extra]
    legacy = [(r["old_name"], r["old_code"], r["new_code"]) for r in _read_csv(REFERENCE_DIR / "legacy_divisions.csv")]
    # extra names of functional areas resolve like renamed divisions: to their code
    legacy += [(alias, r["code"], r["code"]) for r in extra for alias in r["aliases"].split("|") if alias]
    legacy += changed_names(REFERENCE_DIR / "china_location_change.txt", divisions)
    return RegionTable(divisions, legacy)
