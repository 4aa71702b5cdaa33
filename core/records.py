"""Typed, normalised record frames built from checked exports (what every later stage reads)."""
from __future__ import annotations

import pandas as pd

from core.normalise import split_name
from core.regions import RegionTable
from core.schema import NATIONAL_CATEGORIES
from core.sources import parse_certified, parse_dates


def best_region(regions: RegionTable, name_code: str | None, text_code: str | None,
                declared: str | None) -> str | None:
    """The most specific place the evidence agrees on; the name outranks the region text and the code.

    >>> from core.regions import default_regions
    >>> best_region(default_regions(), None, "440100", "440111")
    '440111'
    """
    best = None
    for code in (name_code, text_code, declared):
        if not code:
            continue
        if best is None:
            best = code
        elif regions.contains(best, code):
            best = code  # refine: same place, more precise
    return best


_NATIONAL_PREFIXES = ("中国", "中华", "国家", "国务院")


def _national(category: str, parts) -> bool:
    """A national unit (部委, 全国学会, 中国科协) whose name names no place; universities excluded."""
    if parts.region_code or "大学" in parts.key or "学院" in parts.key:
        return False
    return category in NATIONAL_CATEGORIES or parts.key.startswith(_NATIONAL_PREFIXES)


def prepare_registry(clean: pd.DataFrame, regions: RegionTable) -> pd.DataFrame:
    """Normalised registry records: one row per valid source record."""
    f = clean.copy()
    f["region_code"] = [regions.resolve(c) or "" for c in f["region_code"]]
    text_cache: dict[tuple[str, str], str | None] = {}
    text_codes = []
    for text, hint in zip(f["region"], f["region_code"]):
        key = (text, hint)
        if key not in text_cache:
            text_cache[key] = regions.parse(text, hint or None).code if text else None
        text_codes.append(text_cache[key])
    parts = [split_name(n, h or t, regions) for n, h, t in zip(f["name"], f["region_code"], text_codes)]
    f["name_norm"] = [p.norm for p in parts]
    f["name_key"] = [p.key for p in parts]
    f["name_head"] = [p.head for p in parts]
    f["name_suffix"] = [p.suffix for p in parts]
    f["name_region_code"] = [p.region_code or "" for p in parts]
    f["name_region_level"] = [p.region_level or 0 for p in parts]
    f["region_text"] = [p.region_text for p in parts]
    f["place_token"] = [p.place_token for p in parts]
    f["place_candidates"] = ["|".join(p.place_candidates) for p in parts]
    f["name_province"] = [regions.province(p.region_code) or "" for p in parts]
    f["name_prefecture"] = [regions.prefecture(p.region_code) or "" for p in parts]
    f["region_text_code"] = [c or "" for c in text_codes]
    national = [_national(c, p) for c, p in zip(f["category"], parts)]
    # a national unit's code is its office's district in Beijing, not a place it belongs to
    best = [None if nat else best_region(regions, p.region_code, t, d or None)
            for nat, p, t, d in zip(national, parts, text_codes, f["region_code"])]
    f["national"] = national
    f["region_best"] = [b or "" for b in best]
    f["region_level"] = [regions.level(b) if b else 0 for b in best]
    f["province_best"] = [regions.province(b) or "" if b else "" for b in best]
    f["prefecture_best"] = [regions.prefecture(b) or "" if b else "" for b in best]
    f["certified"] = parse_certified(f["certified"])
    f["created_at"] = parse_dates(f["created_at"])
    f["updated_at"] = parse_dates(f["updated_at"])
    return f.reset_index(drop=True)


def prepare_activities(clean: pd.DataFrame, regions: RegionTable) -> pd.DataFrame:
    f = clean.copy()
    f["region_code"] = [regions.resolve(c) or "" for c in f["region_code"]]
    f["start_date"] = parse_dates(f["start_date"])
    return f.reset_index(drop=True)
