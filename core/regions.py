"""The GB/T 2260 division table (data/reference) and parsing of place names in free text.

Parsing is a greedy longest match over the official names, their short forms (广州市/广州,
延边朝鲜族自治州/延边州/延边) and legacy names (襄樊→襄阳), each step constrained to the
children of what was already matched, so 北京朝阳区 and 长春市朝阳区 resolve to different codes.
A hand-written matcher because no maintained library resolves names *against the 2025 table*
with hints and legacy names; it is ~100 lines over a dict.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.config import REFERENCE_DIR

_SUFFIX = re.compile(r"(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|自治州|自治县|自治旗|林区|地区|省|市|盟|县|区|旗)$")
# The 55 minority names that appear inside autonomous division names.
_ETHNIC = ("蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|高山|拉祜|水|东乡|纳西|景颇|"
           "柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|乌孜别克|俄罗斯|鄂温克|德昂|保安|"
           "裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺")
# 伊犁哈萨克自治州 and 博尔塔拉蒙古自治州 drop the 族 of multi-character names; 隆林各族自治县 says 各族.
_ETHNIC_TAIL = re.compile(rf"(?:(?:{_ETHNIC}|各)族|(?:{'|'.join(e for e in _ETHNIC.split('|') if len(e) > 1)}))+$")
_SEPARATORS = set(" /\\-—_|,，、·.")
_TYPO_MAXLEN = 12  # 黔东南苗族侗族自治州
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


def short_forms(name: str, level: int) -> set[str]:
    """Short names people type for a division.

    >>> sorted(short_forms("延边朝鲜族自治州", 2))
    ['延边', '延边州', '延边朝鲜族州']
    """
    forms = set()
    m = _SUFFIX.search(name)
    if m and m.group(1) == "林区" and m.start() < 2:
        m = re.search("(区)$", name)  # 新林区 is 新林 + 区, 神农架林区 is 神农架 + 林区
    if m:
        full_stem = name[: m.start()]
        stem = _ETHNIC_TAIL.sub("", full_stem)
        if len(stem) < 2:  # 内蒙古 keeps its 蒙古; 鄂温克族自治旗 is 鄂温克
            stem = full_stem[:-1] if full_stem.endswith("族") and len(full_stem) > 2 else full_stem
        if len(stem) >= 2:
            forms.add(stem)
            kind = {"自治州": "州", "自治县": "县", "自治旗": "旗"}.get(m.group(1))
            if kind:
                forms.update({stem + kind, full_stem + kind})
    forms.discard(name)
    return forms


class RegionTable:
    """Divisions by code, with containment tests and a parser for place names in text."""

    def __init__(self, divisions: list[Division], legacy: list[tuple[str, str, str]] = ()):
        self.by_code = {d.code: d for d in divisions}
        self._paths: dict[str, tuple[str, ...]] = {}
        self.legacy = {old_code: new_code for _, old_code, new_code in legacy if new_code in self.by_code}
        self._full: dict[str, set[str]] = {}
        self._short: dict[str, set[str]] = {}
        for d in divisions:
            self._full.setdefault(d.name, set()).add(d.code)
            for s in short_forms(d.name, d.level):
                self._short.setdefault(s, set()).add(d.code)
        for old_name, _, new_code in legacy:
            if new_code in self.by_code:
                self._full.setdefault(old_name, set()).add(new_code)
                for s in short_forms(old_name, self.by_code[new_code].level):
                    self._short.setdefault(s, set()).add(new_code)
        self._maxlen = max(map(len, list(self._full) + list(self._short)))
        self._masked: dict[str, list[str]] = {}
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
        for length in range(min(self._maxlen, len(text) - pos), 1, -1):
            piece = text[pos:pos + length]
            if piece in self._full:
                return length, self._full[piece], ""
            if piece in self._short:
                # 牡丹将市 is 牡丹江市 mistyped, not 牡丹(区) followed by 将市: a full name one typo away
                # and at least two characters longer outranks a short form (中卫实验小学 is 中卫 + 实验小学)
                typo = self._typo_candidates(text, pos, longer_than=length + 1)
                return typo if typo[0] else (length, self._short[piece], "short")
        return self._typo_candidates(text, pos)

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
            short_first = short_first or (current is None and short and hint not in cands
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
    return RegionTable(divisions, legacy)
