"""The autocomplete benchmark's query set (``bench/suggest.py``): every kind of query people type, built
for a sample of units of a registry with its truth."""
from __future__ import annotations

import random

import pandas as pd

KINDS = ["exact", "abbreviation", "no_prefix", "pinyin", "initials", "typo", "traditional", "alias"]


def homophone_table(names) -> dict[str, list[str]]:
    from core.typos import _readings

    by_reading: dict[str, list[str]] = {}
    for ch in sorted({c for n in names for c in n if "\u4e00" <= c <= "\u9fff"}):
        for r in _readings(ch):
            by_reading.setdefault(r, []).append(ch)
    return {ch: [c for r in _readings(ch) for c in by_reading.get(r, []) if c != ch]
            for ch in {c for n in names for c in n if "\u4e00" <= c <= "\u9fff"}}


def build_queries(entities: pd.DataFrame, records: pd.DataFrame, n: int, seed: int = 5) -> pd.DataFrame:
    """``query, kind, entity_id`` — every kind for a sample of units."""
    import opencc

    from core.normalise import split_name
    from serve.pinyin import forms

    from core.regions import default_regions

    regions = default_regions()
    rng = random.Random(seed)
    s2t = opencc.OpenCC("s2t")
    homophones = homophone_table(entities["name"])
    aliases = records.groupby("entity_id")["name"].apply(list).to_dict()
    rows = []
    entities = entities[entities["entity_id"].isin(set(records["entity_id"]))]  # units with a record
    for e in entities.sample(n=min(n, len(entities)), random_state=seed).itertuples():
        name = e.name
        short = name.replace("科学技术协会", "科协")
        parts = split_name(name)
        add = lambda q, kind: rows.append((q[:50], kind, e.entity_id))  # noqa: E731
        add(name, "exact")
        if short != name:
            add(short, "abbreviation")
        # typed without the province (and city) above the unit's own place: 白云区科协 for 广东省广州市白云区科协
        path = [regions.by_code[c].name for c in regions.path(e.region_code)] if e.region_code in regions.by_code else []
        dropped = name
        for higher in path[:-1]:
            dropped = dropped.removeprefix(higher)
        if dropped != name and len(dropped) >= 4:
            add(dropped, "no_prefix")
        full, initials = forms(short, len(parts.region_text))
        add(full, "pinyin")
        if len(initials) >= 3:
            add(initials, "initials")
        spots = [i for i, c in enumerate(name) if homophones.get(c) and i >= len(parts.region_text)]
        if spots:
            i = rng.choice(spots)
            add(name[:i] + rng.choice(homophones[name[i]]) + name[i + 1:], "typo")
        trad = s2t.convert(name)
        if trad != name:
            add(trad, "traditional")
        others = [a.strip() for a in aliases.get(e.entity_id, []) if a.strip() and a.strip() != name]
        if others:
            add(rng.choice(others), "alias")
    return pd.DataFrame(rows, columns=["query", "kind", "entity_id"])
