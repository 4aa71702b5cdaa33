"""The autocomplete index over a published snapshot (pure: frames in, answers out).

Every canonical unit is found by its name and by the names of the records merged into it (aliases),
all normalised with ``core.normalise`` exactly as the nightly run normalised them, so 科协 finds
科学技术协会 and traditional characters find simplified ones. Tiers, best first: the exact name, a
prefix, a substring, the rest of the name inside the place the query names, pinyin or initials from
the start of a form, from inside one, and finally one wrong character. Within a tier units keep their
static rank (certified, then larger). The data structures are in ``serve.prefix`` and ``serve.forms``,
the place-relative and one-typo fallbacks in ``serve.lookup_fallbacks``, the tiers in ``serve.tiers``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numpy.dtypes import StringDType
import pandas as pd

from core.normalise import name_key, normalise_name, split_name
from core.regions import RegionTable
from serve.forms import Texts, loose, pinyin_forms, place_rest_strings, searchable_texts
from serve.pinyin import Readings, forms
from serve.ranking import rank_order
from serve.lookup_fallbacks import FallbackSearch
from serve.prefix import Postings, PrefixIndex, intersect_walk
from serve.tiers import (MAX_QUERY, TIER_EXACT, TIER_NAMES, TIER_PINYIN, TIER_PINYIN_INNER,  # noqa: F401
                         TIER_PINYIN_OFFICIAL, TIER_PREFIX, TIER_SUBSTRING)

_ASCII_QUERY = re.compile(r"^[A-Za-z' ]+$")
KEY_WIDTH = 48  # characters of a name kept for vectorised checks; longer ones are checked in Python
CHAR_BITS = 16


@dataclass(frozen=True)
class Hit:
    org: int
    tier: int
    text: int
    field: str


def _fixed(strings, width: int, kind: str) -> np.ndarray:
    longest = max(map(len, strings), default=1)
    return np.array(strings, dtype=f"{kind}{max(min(longest, width), 1)}")


class SuggestIndex(FallbackSearch):
    def __init__(self, orgs: pd.DataFrame, records: pd.DataFrame, id_map: pd.DataFrame, regions: RegionTable,
                 activity_counts: pd.Series | None = None, rollup: pd.DataFrame | None = None,
                 max_scan: int = 20000):
        self.regions = regions
        self.max_scan = max_scan
        # static rank (serve.ranking): higher administrative level, then bigger subtree and more activities
        orgs = orgs.iloc[rank_order(orgs, activity_counts, rollup)].reset_index(drop=True)
        strings = StringDType()  # compact, and only read one at a time for answers
        self.org_ids = orgs["org_id"].to_numpy(dtype=strings)
        self.names = orgs["name"].to_numpy(dtype=strings)
        self.region_codes = orgs["region_code"].to_numpy(dtype=strings)
        self.provinces = orgs["province_code"].to_numpy(dtype=strings)
        self.certified = orgs["certified"].to_numpy().astype(bool)
        self.category_names = sorted(set(orgs["category"].unique()))
        self.category_id = pd.Categorical(orgs["category"], categories=self.category_names).codes.astype(np.int16)
        paths = self._paths(pd.Series(self.region_codes))
        self.code_num, self.pref_num, self.prov_num = (paths[c].to_numpy(np.int32) for c in ("code", "pref", "prov"))
        self._build(searchable_texts(orgs, records, id_map))

    def _paths(self, codes: pd.Series) -> pd.DataFrame:
        """Numeric county/prefecture/province codes of region codes (0 when unknown), once per distinct code."""
        rows = {}
        for c in pd.unique(codes):
            ok = c in self.regions.by_code
            rows[c] = (int(c) if ok else 0, int(self.regions.prefecture(c) or 0) if ok else 0,
                       int(self.regions.province(c) or 0) if ok else 0)
        table = pd.DataFrame.from_dict(rows, orient="index", columns=["code", "pref", "prov"])
        return table.reindex(codes.to_numpy()).reset_index(drop=True)

    # ------------------------------------------------------------------ build
    def _build(self, texts: Texts) -> None:
        keys = texts.key.tolist()
        self.text_org = texts.org.astype(np.int32)
        self.text_is_name = texts.is_name
        self.text_raw = texts.raw.astype(StringDType())
        self.text_prefix = texts.prefix.astype(np.int16)
        self.text_len = np.fromiter((len(k) for k in keys), dtype=np.int16, count=len(keys))
        self.text_key = _fixed(keys, KEY_WIDTH, "U")
        self.long_keys = {int(t): keys[t] for t in np.flatnonzero(self.text_len > self.text_key.itemsize // 4)}
        owners = np.arange(len(keys), dtype=np.int32)
        self.keys = PrefixIndex(_fixed(keys, 16, "U"), owners)
        strings, owner = place_rest_strings(texts)
        self.place_rest = PrefixIndex(_fixed(strings, 16, "U"), owner)
        self._build_bigrams(keys)
        # regions: a unit is found under its county, its prefecture and its province
        orgs = self.text_org
        self.in_region = Postings(np.concatenate([self.code_num[orgs], self.pref_num[orgs], self.prov_num[orgs]]),
                                  np.concatenate([owners] * 3))
        start, inner = pinyin_forms(texts, self.regions, Readings(self.char_id))
        # as wide as the longest query accepted, so a prefix match never needs checking against the full form;
        # forms the name states itself (广州市… as gzkx) apart from those with added official place names
        # (贵州省贵阳市… as gz…), which rank after them
        own, official = start.where(~start.official), start.where(start.official)
        self.pinyin = PrefixIndex(_fixed(own.pinyin, MAX_QUERY, "S"), own.owner)
        self.initials = PrefixIndex(_fixed(own.initials, MAX_QUERY, "S"), own.owner)
        self.official_pinyin = PrefixIndex(_fixed(official.pinyin, MAX_QUERY, "S"), official.owner)
        self.official_initials = PrefixIndex(_fixed(official.initials, MAX_QUERY, "S"), official.owner)
        self.inner_pinyin = PrefixIndex(_fixed(inner.pinyin, MAX_QUERY, "S"), inner.owner)
        self.inner_initials = PrefixIndex(_fixed(inner.initials, MAX_QUERY, "S"), inner.owner)

    def _build_bigrams(self, keys: list[str]) -> None:
        chars = sorted(set("".join(set(keys))))
        self.char_id = {c: i + 1 for i, c in enumerate(chars)}  # 0 pads
        if len(chars) >= (1 << CHAR_BITS):
            raise ValueError("too many distinct characters for the bigram index")
        width = int(self.text_len.max()) if len(keys) else 1
        table = np.zeros(0x110000, dtype=np.int32)
        table[[ord(c) for c in chars]] = np.arange(1, len(chars) + 1)
        grams, owners, firsts = [], [], []
        for start in range(0, len(keys), 200_000):  # in slices: a million names at once would need gigabytes
            part = keys[start:start + 200_000]
            codes = table[np.array(part, dtype=f"U{width}").view(np.uint32).reshape(len(part), width)]
            pair = codes[:, :-1].astype(np.int64) * (1 << CHAR_BITS) + codes[:, 1:]
            valid = (codes[:, :-1] > 0) & (codes[:, 1:] > 0)
            grams.append(pair[valid])
            owners.append(np.nonzero(valid)[0].astype(np.int32) + start)
            firsts.append(codes[:, 0])
        self.bigrams = Postings(np.concatenate(grams), np.concatenate(owners))
        self.firsts = Postings(np.concatenate(firsts), np.arange(len(keys)))

    def _bigram(self, g: str) -> np.ndarray | None:
        a, b = self.char_id.get(g[0]), self.char_id.get(g[1])
        if not a or not b:
            return None
        return self.bigrams.get(a * (1 << CHAR_BITS) + b)

    # ------------------------------------------------------------------ filters and checks
    def _acceptor(self, category: str | None, region: str | None):
        """A vectorised filter of text ids by their unit's category and region, or None for no filter;
        ``False`` when the filter can match nothing."""
        if not category and not region:
            return None
        checks = []
        if category:
            if category not in self.category_names:
                return False
            cat = self.category_names.index(category)
            checks.append(lambda t: self.category_id[self.text_org[t]] == cat)
        if region:
            level = self.regions.level(region) if region in self.regions.by_code else 0
            table = {1: self.prov_num, 2: self.pref_num, 3: self.code_num}.get(level)
            if table is None:
                return False
            num = int(region)
            checks.append(lambda t: table[self.text_org[t]] == num)
        if len(checks) == 1:
            return checks[0]
        return lambda t: checks[0](t) & checks[1](t)

    def _contains(self, texts: np.ndarray, s: str) -> np.ndarray:
        ok = np.strings.find(self.text_key[texts], s) >= 0
        return self._fix_long(texts, ok, lambda k: s in k)

    def _fix_long(self, texts: np.ndarray, ok: np.ndarray, check) -> np.ndarray:
        if self.long_keys:
            for i, t in enumerate(texts.tolist()):
                if t in self.long_keys:
                    ok[i] = check(self.long_keys[t])
        return ok

    def key_of(self, t: int) -> str:
        return self.long_keys.get(t) or str(self.text_key[t])

    # ------------------------------------------------------------------ queries
    def search(self, q: str, category: str | None = None, region: str | None = None, limit: int = 10) -> list[Hit]:
        q = (q or "").strip()
        if not q:
            return []
        accept = self._acceptor(category, region)
        if accept is False:
            return []
        want = max(limit * 4, 40)
        hits: dict[int, Hit] = {}

        def add(texts, tier, field=None):
            for t in np.asarray(texts).tolist():
                org = int(self.text_org[t])
                best = hits.get(org)
                if best is None or tier < best.tier:
                    hits[org] = Hit(org, tier, t, field or ("name" if self.text_is_name[t] else "alias"))

        if _ASCII_QUERY.match(q):
            self._pinyin(q.lower().replace(" ", "").replace("'", ""), want, accept, add)
        else:
            key = name_key(normalise_name(q))
            if not key:
                return []
            self._by_name(key, want, accept, add)
            parts = split_name(key) if len(hits) < limit else None  # the place words, parsed once
            if parts is not None:
                self._by_place(key, parts, want, accept, region, add)
            if not hits:  # a typo: the same sounds, or one character off
                full, _ = forms(key, len(parts.region_text))
                self._pinyin(full, want, accept, add, initials=False)
            if not hits:
                self._fuzzy(key, want, accept, add, parts)
        return sorted(hits.values(), key=lambda h: (h.tier, h.org))[:limit]

    def _by_name(self, key: str, want: int, accept, add) -> None:
        lo, eq, hi = self.keys.range(key)
        found = self.keys.best(lo, hi, want, self.text_org, accept)
        if len(key) > self.keys.width:
            found = found[self._fix_long(found, np.strings.startswith(self.text_key[found], key),
                                         lambda k: k.startswith(key))]
        exact = np.array([self.key_of(t) == key for t in found.tolist()], dtype=bool)
        add(found[exact], TIER_EXACT)
        add(found[~exact], TIER_PREFIX)
        if len(found) >= want:
            return
        if len(key) == 1:
            lists = [self.firsts.get(self.char_id.get(key, -1))]
        else:
            lists = [self._bigram(key[i:i + 2]) for i in range(len(key) - 1)]
        if any(x is None for x in lists):
            return  # a character pair no name has
        lists = sorted({id(x): x for x in lists}.values(), key=len)[:3]
        verify = (lambda t: self._contains(t, key)) if accept is None else (lambda t: accept(t) & self._contains(t, key))
        add(intersect_walk(lists, want, verify, self.text_org, self.max_scan), TIER_SUBSTRING)

    def _pinyin(self, q: str, want: int, accept, add, initials: bool = True) -> None:
        if not q:
            return
        found = 0
        for index, field, tier in ((self.pinyin, "pinyin", TIER_PINYIN), (self.initials, "initials", TIER_PINYIN),
                                   (self.official_pinyin, "pinyin", TIER_PINYIN_OFFICIAL),
                                   (self.official_initials, "initials", TIER_PINYIN_OFFICIAL),
                                   (self.inner_pinyin, "pinyin", TIER_PINYIN_INNER),
                                   (self.inner_initials, "initials", TIER_PINYIN_INNER)):
            if field == "initials" and not initials:
                continue
            if tier != TIER_PINYIN and found >= want:
                break
            lo, _, hi = index.range(q)
            texts = index.best(lo, hi, want, self.text_org, accept)
            add(texts, tier, field)
            found += len(texts)

    def suggest(self, q: str, category: str | None = None, region: str | None = None, limit: int = 10) -> list[dict]:
        out = []
        for h in self.search(q, category, region, limit):
            code = self.region_codes[h.org]
            out.append({
                "org_id": str(self.org_ids[h.org]), "name": str(self.names[h.org]),
                "category": self.category_names[self.category_id[h.org]],
                "region_path": self.regions.path_label(code),
                "province_code": str(self.provinces[h.org]), "certified": bool(self.certified[h.org]),
                "matched": {"field": h.field, "text": str(self.text_raw[h.text]), "how": TIER_NAMES[h.tier]},
            })
        return out
