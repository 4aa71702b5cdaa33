"""The autocomplete's fallbacks when a query's name is not found as written (a mixin of
``serve.lookup.SuggestIndex``, using its arrays): the rest of the name inside the place the query names
(广州科协 → 广州市科学技术协会), and one wrong character that sounds different (a look-alike)."""
from __future__ import annotations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from core.normalise import split_suffix
from serve.prefix import first_per_org, intersect_walk, sorted_unique
from serve.tiers import TIER_EXACT, TIER_FUZZY, TIER_PLACE

FUZZY_PLACE_SCAN = 5000  # texts of one place compared with a typo'd query's rest (best ranked first)


class FallbackSearch:
    """Place-relative and one-typo search over ``SuggestIndex``'s arrays."""

    def _by_place(self, key: str, parts, want: int, accept, region: str | None, add) -> None:
        """广州科协: the place named in the query (``parts`` of ``split_name``), then the rest of the name
        inside that place."""
        rest = key[len(parts.region_text):]
        places = [parts.region_code] if parts.region_code else list(parts.place_candidates)
        if not rest or not places or not parts.region_text:
            return
        for place in places:
            if region and not (self.regions.contains(region, place) or self.regions.contains(place, region)):
                continue
            lo, eq, hi = self.place_rest.range(place + rest)
            exact = self.place_rest.best(lo, eq, want, self.text_org, accept)
            exact = exact[[self.key_of(t).endswith(rest) and self.text_len[t] - self.text_prefix[t] == len(rest)
                           for t in exact.tolist()]] if len(exact) else exact
            add(exact, TIER_EXACT, "name")
            inner = region if region and self.regions.contains(place, region) else place
            level = self.regions.level(inner)
            table = {1: self.prov_num, 2: self.pref_num, 3: self.code_num}[level]
            num = int(inner)
            lists = [self.in_region.get(num)]
            if lists[0] is None:
                continue
            grams = [self._bigram(rest[i:i + 2]) for i in range(len(rest) - 1)]
            if len(rest) > 1 and any(g is None for g in grams):
                continue
            lists += sorted((g for g in grams if g is not None), key=len)[:2]

            def verify(t, num=num, table=table):
                ok = (table[self.text_org[t]] == num) & self._contains(t, rest)
                return ok if accept is None else ok & accept(t)

            found = intersect_walk(lists, want, verify, self.text_org, self.max_scan)
            # the unit of exactly that place comes first (广州科协 → 广州市科学技术协会, not a district's)
            own = self.code_num[self.text_org[found]] == int(place)
            add(np.concatenate([found[own], found[~own]]), TIER_PLACE, "name")


    def _fuzzy(self, key: str, want: int, accept, add, parts=None) -> None:
        """One wrong character that sounds different (a look-alike): candidates share a bigram of the
        distinguishing part, and rapidfuzz keeps those within one edit of the query — of the whole name,
        or of the rest after a place both name alike (运城市科学奇术局 for 运城科学技术局)."""
        head = split_suffix(key)[0] or key
        lists = [x for x in (self._bigram(head[i:i + 2]) for i in range(len(head) - 1)) if x is not None]
        if not lists:
            return
        # one wrong character leaves most bigrams intact: texts sharing two of the rarest come first
        cat = np.sort(np.concatenate([x[:2000] for x in sorted(lists, key=len)[:4]]))
        twice = cat[1:][cat[1:] == cat[:-1]]
        pool = sorted_unique(twice) if len(twice) else sorted_unique(cat)[:1500]
        if accept is not None:
            pool = pool[accept(pool)]
        pool = pool[np.abs(self.text_len[pool] - len(key)) <= 1]
        near = set()
        if len(pool):
            choices = [self.key_of(t) for t in pool.tolist()]
            near = {int(pool[i]) for _, _, i in process.extract(key, choices, scorer=Levenshtein.distance,
                                                                  score_cutoff=1, limit=None)}
        written = parts.region_text if parts is not None else ""
        places = ([parts.region_code] if parts.region_code else list(parts.place_candidates)[:3]) if written else []
        rest = key[len(written):]
        for place in places if len(rest) >= 2 else []:
            # the rest after the place, among the units of that place (however their names write it)
            inside = self.in_region.get(int(place)) if place in self.regions.by_code else None
            if inside is None:
                continue
            inside = inside[:FUZZY_PLACE_SCAN]
            inside = inside[np.abs(self.text_len[inside] - self.text_prefix[inside] - len(rest)) <= 1]
            if accept is not None:
                inside = inside[accept(inside)]
            rests = [k[p:] for k, p in zip(map(self.key_of, inside.tolist()), self.text_prefix[inside].tolist())]
            near.update(int(inside[i]) for _, _, i in process.extract(rest, rests, scorer=Levenshtein.distance,
                                                                      score_cutoff=1, limit=None))
        if near:
            add(first_per_org(np.array(sorted(near), dtype=np.int32), self.text_org), TIER_FUZZY, "fuzzy")

    # ------------------------------------------------------------------ answers
