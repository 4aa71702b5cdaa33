"""What the autocomplete searches: every unit's names and aliases, and the forms people type them in.

A *text* is one distinct normalised name of a unit (its display name or the name of a record merged
into it). Its *forms* are the strings a query may begin: the pinyin and initials of the name as
written, with 科协 for 科学技术协会, with its place words loosened (广州 for 广州市), with the official
names of its place, and — as inner forms — without the province or city above its own place.
Everything is built column-wise (translate tables, per-place caches), since this runs for a million
units whenever a snapshot is published.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.normalise import name_key, normalise_name, split_name
from core.regions import RegionTable
from serve.pinyin import Readings, phrase_syllables

PLACE_SUFFIX = re.compile(r"(特别行政区|自治区|自治州|自治县|自治旗|地区|省|市|盟|县|区|旗)")
FULL_WORD, SHORT_WORD = "科学技术协会", "科协"


def loose(place: str) -> str:
    """Place words as people shorten them: 广东省广州市 → 广东广州."""
    return PLACE_SUFFIX.sub("", place)


def _objects(column: pd.Series) -> list:
    """A column as Python strings (pandas' Arrow strings are slow to walk one by one)."""
    return column.to_numpy(dtype=object, na_value="").tolist()


@dataclass
class Texts:
    """Column arrays, one row per text, in rank order of their units (display name first)."""
    org: np.ndarray  # row position of the unit in rank order
    key: np.ndarray  # normalised name (object)
    raw: np.ndarray  # as written (object)
    prefix: np.ndarray  # length of the place words the name starts with
    place: np.ndarray  # region code of those place words, or "" (object)
    is_name: np.ndarray  # the unit's display name, not an alias

    def __len__(self) -> int:
        return len(self.org)

    def take(self, rows: np.ndarray) -> "Texts":
        return Texts(*(getattr(self, f)[rows] for f in ("org", "key", "raw", "prefix", "place", "is_name")))


def searchable_texts(orgs: pd.DataFrame, records: pd.DataFrame, id_map: pd.DataFrame) -> Texts:
    """Every distinct name of every unit (``orgs`` in rank order; a text's ``org`` is its row there)."""
    rank = {o: i for i, o in enumerate(_objects(orgs["org_id"]))}
    canonical = dict(zip(_objects(id_map["source_org_id"]), _objects(id_map["canonical_org_id"])))
    org = np.fromiter((rank.get(canonical.get(r, ""), -1) for r in _objects(records["org_id"])), dtype=np.int64,
                      count=len(records))
    kept = np.flatnonzero(org >= 0)
    key = np.array(_objects(records["name_key"]), dtype=object)[kept]
    raw = np.array([n.strip() for n in _objects(records["name"])], dtype=object)[kept]
    prefix = records["region_text"].str.len().fillna(0).to_numpy(dtype=np.int64)[kept]
    place = np.array(_objects(records["name_region_code"]), dtype=object)[kept]
    org = org[kept]
    # the display name is normally one of the unit's own records: only other names need parsing
    names = [n.strip() for n in _objects(orgs["name"])]
    own = dict(zip(raw.tolist(), key.tolist()))
    display_key = np.array([own.get(n) or name_key(normalise_name(n)) for n in names], dtype=object)
    is_name = key == display_key[org]
    has_name = np.zeros(len(names), dtype=bool)
    has_name[org[is_name]] = True
    missing = np.flatnonzero(~has_name)
    parsed = [split_name(k) for k in display_key[missing]]
    texts = Texts(np.r_[missing, org], np.r_[display_key[missing], key],
                  np.r_[np.array([names[i] for i in missing], dtype=object), raw],
                  np.r_[np.array([len(p.region_text) for p in parsed], dtype=np.int64), prefix],
                  np.r_[np.array([p.region_code or "" for p in parsed], dtype=object), place],
                  np.r_[np.ones(len(missing), dtype=bool), is_name])
    order = np.lexsort((~texts.is_name, texts.org))
    texts = texts.take(order[texts.key[order] != ""])
    # one text per distinct (unit, name): the first, which is the display name where it is one
    codes = pd.factorize(texts.key)[0].astype(np.int64)
    _, first = np.unique(texts.org * (codes.max(initial=0) + 1) + codes, return_index=True)
    return texts.take(np.sort(first))


@dataclass
class Forms:
    """Strings and their owner texts (text ids ascending), ready for ``PrefixIndex``; ``official``
    marks forms that start with official place names the text itself does not state."""
    pinyin: list[str]
    initials: list[str]
    owner: np.ndarray
    official: np.ndarray

    def where(self, keep: np.ndarray) -> "Forms":
        rows = np.flatnonzero(keep)
        return Forms([self.pinyin[i] for i in rows], [self.initials[i] for i in rows], self.owner[rows],
                     self.official[rows])


def _place_variants(written: str, code: str, regions: RegionTable) -> tuple[list[tuple[str, bool, bool]], list[str]]:
    """Place words to put before the name's rest: ``(start variants as (place, rest shortened, official),
    inner variants)``. Start: as written (with the full and the short rest), loosened, official — the
    official names are what the name does not say itself (贵州省 before 贵阳市), so they rank after.
    Inner: the official names without the levels above (白云区 for 广东省广州市白云区), loosened too."""
    start: list[tuple[str, bool, bool]] = [(written, False, False), (written, True, False)]
    inner: list[str] = []
    if written:
        start.append((loose(written), True, False))
        inner.append("")  # the rest alone
    if code and code in regions.by_code:
        names = [regions.by_code[c].name for c in regions.path(code)]
        start.append(("".join(names), True, True))
        for k in range(1, len(names)):
            inner += ["".join(names[k:]), loose("".join(names[k:]))]
    return start, inner


def _syl(text: str) -> tuple[str, str]:
    s = phrase_syllables(text) if text else ()
    return "".join(s), "".join(x[0] for x in s)


def _slot(variants: list[list[tuple]], j: int, field: int, default, groups: np.ndarray) -> np.ndarray:
    """Per text, ``field`` of the ``j``-th variant of its place group (``default`` where it has fewer)."""
    table = np.array([v[j][field] if j < len(v) else default for v in variants] + [default], dtype=object)
    return table[groups]


def _combine(slots: list[tuple]) -> Forms:
    """Forms from ``(place pinyin, place initials, rest pinyin, rest initials, official)`` slots, the
    repeats of a text's earlier forms left out, ordered by owner text."""
    pinyin, initials, owners, previous, flags = [], [], [], [], []
    for v_py, v_ini, r_py, r_ini, official in slots:
        present = np.not_equal(v_py, None)
        form = np.where(present, v_py, "") + r_py
        keep = present.copy()
        for earlier in previous:
            keep &= form != earlier
        previous.append(np.where(present, form, None))
        rows = np.flatnonzero(keep)
        pinyin.append(form[rows])
        initials.append((np.where(present, v_ini, "") + r_ini)[rows])
        owners.append(rows)
        flags.append(np.asarray(official, dtype=bool)[rows])
    owner = np.concatenate(owners) if owners else np.empty(0, dtype=np.int64)
    order = np.argsort(owner, kind="stable")
    join = (lambda parts: np.concatenate(parts)[order].tolist()) if owners else (lambda parts: [])
    official = np.concatenate(flags)[order] if owners else np.empty(0, dtype=bool)
    return Forms(join(pinyin), join(initials), owner[order].astype(np.int32), official)


def pinyin_forms(texts: Texts, regions: RegionTable, readings: Readings) -> tuple[Forms, Forms]:
    """``(start forms, inner forms)`` of every text, pinyin and initials alike."""
    keys, prefixes = texts.key.tolist(), texts.prefix.tolist()
    written = [k[:p] for k, p in zip(keys, prefixes)]
    rest = [k[p:] for k, p in zip(keys, prefixes)]
    short = [r.replace(FULL_WORD, SHORT_WORD) for r in rest]
    # readings of each distinct rest once (many units share 科学技术协会, 第一中学 …)
    py = {x: readings.pinyin(x) for x in set(rest) | set(short)}
    ini = {x: readings.initials(x) for x in py}
    rest_py, rest_ini = (np.array([d[x] for x in rest], dtype=object) for d in (py, ini))
    short_py, short_ini = (np.array([d[x] for x in short], dtype=object) for d in (py, ini))
    groups, places = pd.factorize(np.array([w + "|" + c for w, c in zip(written, texts.place.tolist())], dtype=object))
    start_v, inner_v = [], []
    for w, code in (p.split("|") for p in places):
        s, i = _place_variants(w, code, regions)
        first = {}  # a variant met twice keeps its first (least official) flag
        for v, sh, official in s:
            first.setdefault((v, sh), official)
        start_v.append([(*_syl(v), sh, official) for (v, sh), official in first.items()])
        inner_v.append([_syl(v) for v in dict.fromkeys(i)])
    differs = rest_py != short_py
    start_slots = []
    for j in range(max(map(len, start_v), default=0)):
        shortened = _slot(start_v, j, 2, False, groups).astype(bool)
        v_py = _slot(start_v, j, 0, None, groups)
        v_py[~(shortened | differs)] = None  # name as written with the full rest: only when 科协 shortens it
        start_slots.append((v_py, _slot(start_v, j, 1, "", groups), np.where(shortened, short_py, rest_py),
                            np.where(shortened, short_ini, rest_ini),
                            _slot(start_v, j, 3, False, groups).astype(bool)))
    inner_slots = [(_slot(inner_v, j, 0, None, groups), _slot(inner_v, j, 1, "", groups), short_py, short_ini,
                    np.zeros(len(groups), dtype=bool)) for j in range(max(map(len, inner_v), default=0))]
    return _combine(start_slots), _combine(inner_slots)


def place_rest_strings(texts: Texts) -> tuple[list[str], np.ndarray]:
    """``code + rest`` of every text whose name states a known place (广州科协 → 440100科学技术协会)."""
    rows = np.flatnonzero((texts.place != "") & (texts.prefix > 0))
    strings = [c + k[p:] for c, k, p in zip(texts.place[rows].tolist(), texts.key[rows].tolist(),
                                            texts.prefix[rows].tolist())]
    return strings, rows.astype(np.int32)
