"""The autocomplete index over a published snapshot (pure: frames in, answers out).

Every canonical unit is found by its name and by the names of the records merged into it (aliases),
all normalised with ``core.normalise`` exactly as the nightly run normalised them, so 科协 finds
科学技术协会 and traditional characters find simplified ones. Postings of character bigrams (and of
pinyin syllables and initials trigrams) are ordered by the units' static rank, so a query walks them
best-first and stops as soon as it has enough; ``max_scan`` bounds the work of any one query.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from core.normalise import name_key, normalise_name, split_name, split_suffix
from core.regions import RegionTable
from serve.pinyin import forms, phrase_syllables, syllables

_ASCII_QUERY = re.compile(r"^[A-Za-z' ]+$")
TIER_EXACT, TIER_PREFIX, TIER_SUBSTRING, TIER_PLACE, TIER_PINYIN, TIER_PINYIN_INNER, TIER_FUZZY = range(7)
TIER_NAMES = {TIER_EXACT: "exact", TIER_PREFIX: "prefix", TIER_SUBSTRING: "substring", TIER_PLACE: "place",
              TIER_PINYIN: "pinyin", TIER_PINYIN_INNER: "pinyin", TIER_FUZZY: "fuzzy"}


def _starts_a_form(forms: str, q: str) -> bool:
    """Whether ``q`` begins one of the ``|``-separated forms (gzkx begins 广州科协, not 贵州科协's middle)."""
    return forms.startswith(q) or ("|" + q) in forms


@dataclass(frozen=True)
class Hit:
    org: int
    tier: int
    text: int
    field: str


_PLACE_SUFFIX = re.compile(r"(特别行政区|自治区|自治州|自治县|自治旗|地区|省|市|盟|县|区|旗)")


def _loose(key: str, prefix: int) -> str:
    """A name as people shorten it: place words without 省/市/县/区, and 科协 for 科学技术协会.

    >>> _loose("广东省广州市科学技术协会", 6)
    '广东广州科协'
    """
    return _PLACE_SUFFIX.sub("", key[:prefix]) + key[prefix:].replace("科学技术协会", "科协")


def _postings(lists: dict) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.int32) for k, v in lists.items()}


class SuggestIndex:
    def __init__(self, orgs: pd.DataFrame, records: pd.DataFrame, id_map: pd.DataFrame, regions: RegionTable,
                 activity_counts: pd.Series | None = None, max_scan: int = 20000):
        self.regions = regions
        self.max_scan = max_scan
        acts = activity_counts if activity_counts is not None else pd.Series(dtype="int64")
        orgs = orgs.assign(activities=orgs["org_id"].map(acts).fillna(0).astype("int64"))
        # static rank: certified first, then larger units (more records, more activities)
        orgs = orgs.sort_values(["certified", "members", "activities", "org_id"],
                                ascending=[False, False, False, True], ignore_index=True)
        self.org_ids = orgs["org_id"].to_numpy()
        self.names = orgs["name"].to_numpy()
        self.categories = orgs["category"].to_numpy()
        self.region_codes = orgs["region_code"].to_numpy()
        self.provinces = orgs["province_code"].to_numpy()
        self.certified = orgs["certified"].to_numpy().astype(bool)
        self.position = {o: i for i, o in enumerate(self.org_ids)}
        self.category_names = sorted(set(self.categories))
        cat_id = {c: i for i, c in enumerate(self.category_names)}
        self.category_id = np.array([cat_id[c] for c in self.categories], dtype=np.int16)
        known = [c if c in regions.by_code else "" for c in self.region_codes]
        self.code_num = np.array([int(c) if c else 0 for c in known], dtype=np.int32)
        self.pref_num = np.array([int(regions.prefecture(c) or 0) if c else 0 for c in known], dtype=np.int32)
        self.prov_num = np.array([int(regions.province(c) or 0) if c else 0 for c in known], dtype=np.int32)
        self.canonical = dict(zip(id_map["source_org_id"], id_map["canonical_org_id"]))
        self._build_texts(orgs, records)

    # ------------------------------------------------------------------ build
    def _build_texts(self, orgs: pd.DataFrame, records: pd.DataFrame) -> None:
        pos = self.position
        rec = records.assign(org=records["org_id"].map(self.canonical).map(pos))
        rec = rec[rec["org"].notna()]
        aliases = pd.DataFrame({"org": rec["org"].astype(int).to_numpy(), "key": rec["name_key"].to_numpy(),
                                "raw": rec["name"].str.strip().to_numpy(),
                                "prefix": rec["region_text"].str.len().to_numpy(),
                                "place": rec["name_region_code"].to_numpy()})
        # the display name is normally the survivor's own key; only the others need parsing here
        keys = [name_key(normalise_name(n)) for n in orgs["name"]]
        known = set(zip(aliases["org"], aliases["key"]))
        extra = [(i, k, n) for i, (k, n) in enumerate(zip(keys, orgs["name"])) if (i, k) not in known]
        parsed = [split_name(k) for _, k, _ in extra]
        display = pd.DataFrame({"org": [i for i, _, _ in extra], "key": [k for _, k, _ in extra],
                                "raw": [n for _, _, n in extra], "prefix": [len(p.region_text) for p in parsed],
                                "place": [p.region_code or "" for p in parsed]})
        first = pd.DataFrame({"org": np.arange(len(orgs)), "key": keys})
        texts = pd.concat([display, aliases], ignore_index=True)
        # the unit's display name first among its texts
        texts["is_name"] = pd.MultiIndex.from_frame(texts[["org", "key"]]).isin(
            pd.MultiIndex.from_frame(first[["org", "key"]]))
        texts = texts.sort_values(["org", "is_name"], ascending=[True, False], kind="stable")
        texts = texts[texts["key"] != ""].drop_duplicates(["org", "key"]).reset_index(drop=True)
        self.text_org = texts["org"].to_numpy().astype(np.int32)
        self.text_key = texts["key"].tolist()
        self.text_raw = texts["raw"].tolist()
        self.text_is_name = texts["is_name"].to_numpy()
        bigrams, firsts = defaultdict(list), defaultdict(list)
        syl_post, ini_post = defaultdict(list), defaultdict(list)
        self.exact: dict[str, list[int]] = defaultdict(list)
        self._formal: dict[str, list[str]] = {}
        self.text_pinyin, self.text_initials = [], []
        prefixes = texts["prefix"].astype(int).tolist()
        for t, (key, prefix, code) in enumerate(zip(self.text_key, prefixes, texts["place"].tolist())):
            self.exact[key].append(t)
            firsts[key[0]].append(t)
            for g in {key[i:i + 2] for i in range(len(key) - 1)}:
                bigrams[g].append(t)
            # pinyin of the name as written and of its loose short form (广州科协 for 广州市科学技术协会),
            # because people type either; both are searched as one string
            place, rest = key[:prefix], key[prefix:]
            place_syl = list(phrase_syllables(place)) if prefix else []
            rest_syl = syllables(rest)
            forms_ = [place_syl + rest_syl]
            short = rest.replace("科学技术协会", "科协")
            short_syl = syllables(short) if short != rest else rest_syl
            if short != rest:
                forms_.append(place_syl + short_syl)
            loose_place = _PLACE_SUFFIX.sub("", place)
            if loose_place != place or short != rest:
                forms_.append(list(phrase_syllables(loose_place)) + short_syl)
            if code:  # the official names of the place: 济宁造纸学会 is found as jiningshizaozhixuehui
                formal = self._formal.get(code)
                if formal is None:
                    formal = self._formal[code] = list(phrase_syllables(self.regions.path_names(code)))
                forms_.append(formal + short_syl)
            full = "|".join(dict.fromkeys("".join(f) for f in forms_))
            initials = "|".join(dict.fromkeys("".join(x[0] for x in f) for f in forms_))
            self.text_pinyin.append(full)
            self.text_initials.append(initials)
            for s in {x for f in forms_ for x in f}:
                syl_post[s].append(t)
            for g in {initials[i:i + 3] for i in range(max(len(initials) - 2, 0))} - {""} or {initials}:
                ini_post[g].append(t)
        self.place_exact: dict[tuple[str, str], list[int]] = defaultdict(list)
        for t, (key, prefix, code) in enumerate(zip(self.text_key, texts["prefix"].astype(int), texts["place"])):
            if code and prefix and key[prefix:]:
                self.place_exact[(code, key[prefix:])].append(t)
        self.bigrams, self.firsts = _postings(bigrams), _postings(firsts)
        self.syllable_postings, self.initial_postings = _postings(syl_post), _postings(ini_post)

    # ------------------------------------------------------------------ filters
    def _filter(self, texts: np.ndarray, category: str | None, region: str | None) -> np.ndarray:
        """Texts whose unit passes the category and region filters (vectorised)."""
        if not category and not region:
            return texts
        orgs = self.text_org[texts]
        mask = np.ones(len(texts), dtype=bool)
        if category:
            if category not in self.category_names:
                return texts[:0]
            mask &= self.category_id[orgs] == self.category_names.index(category)
        if region:
            level = self.regions.level(region) if region in self.regions.by_code else 0
            table = {1: self.prov_num, 2: self.pref_num, 3: self.code_num}.get(level)
            if table is None:
                return texts[:0]
            mask &= table[orgs] == int(region)
        return texts[mask]

    def _scan(self, postings: np.ndarray | None, accept, limit: int, category, region) -> list[int]:
        found, seen_orgs = [], set()
        if postings is None:
            return found
        for t in self._filter(postings, category, region)[: self.max_scan]:
            t = int(t)
            org = int(self.text_org[t])
            if org in seen_orgs or not accept(t):
                continue
            seen_orgs.add(org)
            found.append(t)
            if len(found) >= limit:
                break
        return found

    def _rarest(self, table: dict[str, np.ndarray], keys) -> np.ndarray | None:
        """Texts having the rarest keys (the two rarest intersected: postings are sorted)."""
        lists = [table.get(k) for k in keys]
        if any(x is None for x in lists):
            return None  # a key nobody has: no text contains the query
        if not lists:
            return None
        lists.sort(key=len)
        if len(lists) > 1 and len(lists[0]) > 64:
            return np.intersect1d(lists[0], lists[1], assume_unique=True)
        return lists[0]

    # ------------------------------------------------------------------ queries
    def search(self, q: str, category: str | None = None, region: str | None = None, limit: int = 10) -> list[Hit]:
        q = (q or "").strip()
        if not q:
            return []
        want = max(limit * 4, 40)
        hits: dict[int, Hit] = {}

        def add(texts, tier, field):
            for t in texts:
                org = int(self.text_org[t])
                best = hits.get(org)
                if best is None or tier < best.tier:
                    hits[org] = Hit(org, tier, t, field)

        if _ASCII_QUERY.match(q):
            self._pinyin(q.lower().replace(" ", "").replace("'", ""), want, category, region, add)
        else:
            key = name_key(normalise_name(q))
            if not key:
                return []
            for t in self._filter(np.asarray(self.exact.get(key, []), dtype=np.int32), category, region):
                add([int(t)], TIER_EXACT, "name" if self.text_is_name[t] else "alias")
            if len(key) == 1:
                found = self._scan(self.firsts.get(key), lambda t: True, want, category, region)
                add(found, TIER_PREFIX, "name")
            else:
                grams = {key[i:i + 2] for i in range(len(key) - 1)}
                found = self._scan(self._rarest(self.bigrams, grams), lambda t: key in self.text_key[t], want,
                                   category, region)
                for t in found:
                    tier = TIER_PREFIX if self.text_key[t].startswith(key) else TIER_SUBSTRING
                    add([t], tier, "name" if self.text_is_name[t] else "alias")
            if len(hits) < limit:
                self._by_place(key, want, category, region, add)
            if not hits:  # a typo: the same sounds, or one character off
                full, _ = forms(key, len(split_name(key).region_text))
                self._pinyin(full, want, category, region, add, initials=False)
            if not hits:
                self._fuzzy(key, want, category, region, add)
        ranked = sorted(hits.values(), key=lambda h: (h.tier, h.org))
        return ranked[:limit]

    def _by_place(self, key: str, want: int, category, region, add) -> None:
        """广州科协: the place named in the query, then the rest of the name inside that place."""
        parts = split_name(key)
        rest = key[len(parts.region_text):]
        if not parts.region_code or not rest:
            return
        place = parts.region_code
        if region and not (self.regions.contains(region, place) or self.regions.contains(place, region)):
            return
        exact = self._filter(np.asarray(self.place_exact.get((place, rest), []), dtype=np.int32), category, region)
        add(exact.tolist(), TIER_EXACT, "name")
        if len(exact) >= want:
            return
        grams = {rest[i:i + 2] for i in range(len(rest) - 1)} or {rest}
        postings = self._rarest(self.bigrams, grams) if len(rest) > 1 else self.firsts.get(rest)

        inner = region if region and self.regions.contains(place, region) else place
        found = self._scan(postings, lambda t: rest in self.text_key[t], want, category, inner)
        # the unit of exactly that place comes first (广州科协 → 广州市科学技术协会, not a district's)
        found.sort(key=lambda t: self.region_codes[self.text_org[t]] != place)
        add(found[:want], TIER_PLACE, "name")

    def _pinyin(self, q: str, want: int, category, region, add, initials: bool = True) -> None:
        if not q:
            return
        pools = []
        for complete, rest in self._segmentations(q):
            if complete and (not rest or len(complete) > 1):
                keys = complete if not rest else complete[:-1]
                postings = self._rarest(self.syllable_postings, set(keys))
                if postings is not None:
                    pools.append(postings)
        if pools:
            postings = pools[0] if len(pools) == 1 else np.union1d(*pools[:2]).astype(np.int32)
            found = self._scan(postings, lambda t: q in self.text_pinyin[t], want, category, region)
            add([t for t in found if _starts_a_form(self.text_pinyin[t], q)], TIER_PINYIN, "pinyin")
            add(found, TIER_PINYIN_INNER, "pinyin")
        if initials:
            grams = {q[i:i + 3] for i in range(len(q) - 2)} if len(q) >= 3 else set()
            postings = self._rarest(self.initial_postings, grams) if grams else None
            if postings is not None:
                found = self._scan(postings, lambda t: q in self.text_initials[t], want, category, region)
                add([t for t in found if _starts_a_form(self.text_initials[t], q)], TIER_PINYIN, "initials")
                add(found, TIER_PINYIN_INNER, "initials")

    def _segmentations(self, q: str) -> list[tuple[list[str], str]]:
        """Splits of the longest syllable-covered prefix of ``q``: the fewest syllables (zhen an) and the
        most (ji an shi), since pinyin without apostrophes is ambiguous (镇安 zhenan, 吉安 jian)."""
        out = []
        for fewest in (True, False):
            best = {0: []}
            for i in range(len(q)):
                if i not in best:
                    continue
                for n in range(6, 0, -1):
                    s = q[i:i + n]
                    if len(s) != n or s not in self.syllable_postings:
                        continue
                    cand = best[i] + [s]
                    old = best.get(i + n)
                    if old is None or (len(cand) < len(old) if fewest else len(cand) > len(old)):
                        best[i + n] = cand
            end = max(best)
            out.append((best[end], q[end:]))
        return out

    def _fuzzy(self, key: str, want: int, category, region, add) -> None:
        """One wrong character: a homophone (candidates share the query's rarest pinyin syllables) or a
        look-alike (candidates share a bigram of the distinguishing part), kept when rapidfuzz finds them close."""
        head = split_suffix(key)[0] or key
        syl = [s for s in dict.fromkeys(syllables(key)) if s in self.syllable_postings]
        lists = sorted((self.syllable_postings[s] for s in syl), key=len)[:2]
        pools = []
        if len(lists) == 2:
            pools.append(np.intersect1d(lists[0][: self.max_scan], lists[1][: self.max_scan]))
        grams = {head[i:i + 2] for i in range(len(head) - 1)}
        pools += [p[: self.max_scan // 4] for p in sorted((self.bigrams[g] for g in grams if g in self.bigrams),
                                                          key=len)[:3]]
        if not pools:
            return
        candidates = self._filter(np.unique(np.concatenate(pools)), category, region)[: self.max_scan // 8]
        qpy = "".join(syllables(key))
        scored = []
        for t in candidates:
            t = int(t)
            text = self.text_key[t]
            score = max(fuzz.ratio(key, text), fuzz.ratio(qpy, self.text_pinyin[t]) - 5)
            if score >= 85:
                scored.append((score, t))
        add([t for _, t in sorted(scored, key=lambda x: (-x[0], x[1]))[:want]], TIER_FUZZY, "fuzzy")

    # ------------------------------------------------------------------ answers
    def suggest(self, q: str, category: str | None = None, region: str | None = None, limit: int = 10) -> list[dict]:
        out = []
        for h in self.search(q, category, region, limit):
            code = self.region_codes[h.org]
            out.append({
                "org_id": str(self.org_ids[h.org]), "name": str(self.names[h.org]),
                "category": str(self.categories[h.org]),
                "region_path": "/".join(self.regions.by_code[c].name for c in self.regions.path(code))
                if code in self.regions.by_code else "",
                "province_code": str(self.provinces[h.org]), "certified": bool(self.certified[h.org]),
                "matched": {"field": h.field, "text": self.text_raw[h.text], "how": TIER_NAMES[h.tier]},
            })
        return out
