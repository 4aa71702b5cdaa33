"""The tiers of an autocomplete answer, best first, and the longest query (shared by ``serve.lookup`` and
``serve.lookup_fallbacks``)."""
(TIER_EXACT, TIER_PREFIX, TIER_SUBSTRING, TIER_PLACE, TIER_PINYIN, TIER_PINYIN_OFFICIAL, TIER_PINYIN_INNER,
 TIER_FUZZY) = range(8)
TIER_NAMES = {TIER_EXACT: "exact", TIER_PREFIX: "prefix", TIER_SUBSTRING: "substring", TIER_PLACE: "place",
              TIER_PINYIN: "pinyin", TIER_PINYIN_OFFICIAL: "pinyin", TIER_PINYIN_INNER: "pinyin",
              TIER_FUZZY: "fuzzy"}
MAX_QUERY = 50  # longest query accepted (characters, pinyin letters or initials)
