"""Typed, normalised record frames built from checked exports (what every later stage reads)."""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from itertools import chain

import numpy as np
import pandas as pd

from core.lookups import per_distinct
from core.normalise import fold_place_text, split_name
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


CORRECTABLE = ("name", "category", "region_code")


def apply_corrections(clean: pd.DataFrame, corrections: pd.DataFrame) -> pd.DataFrame:
    """The checked registry with reviewers' corrections (``org_id, field, value``) put in its rows;
    corrections of ids not in the registry are left out.

    >>> reg = pd.DataFrame({"org_id": ["1", "2"], "name": ["广州科协", "x"], "category": ["", "其他"]})
    >>> apply_corrections(reg, pd.DataFrame({"org_id": ["1"], "field": ["category"], "value": ["市级科协"]}))["category"].tolist()
    ['市级科协', '其他']
    """
    if corrections is None or corrections.empty:
        return clean
    out = clean.copy()
    row = pd.Index(out["org_id"]).get_indexer(corrections["org_id"])
    for field in CORRECTABLE:
        mine = (corrections["field"] == field).to_numpy() & (row >= 0)
        if mine.any() and field in out.columns:
            out.iloc[row[mine], out.columns.get_loc(field)] = corrections.loc[mine, "value"].to_numpy()
    return out


DERIVED = ("name_norm", "name_key", "name_head", "name_suffix", "name_region_code", "name_region_level", "region_text",
           "place_token", "place_candidates", "name_province", "name_prefecture", "region_text_code", "national",
           "region_best", "region_level", "province_best", "prefecture_best")


def derived_fields(name: str, category: str, code: str, text_code: str | None, regions: RegionTable) -> tuple:
    """The ``DERIVED`` columns of one record from its name, category, resolved code and the code its
    region text names: the one rule the nightly run and a typed name (new-unit check) both use."""
    p = split_name(name, code or text_code, regions)
    national = _national(category, p)
    # a national unit's code is its office's district in Beijing, not a place it belongs to
    best = None if national else best_region(regions, p.region_code, text_code, code or None)
    return (p.norm, p.key, p.head, p.suffix, p.region_code or "", p.region_level or 0, p.region_text, p.place_token,
            "|".join(p.place_candidates), regions.province(p.region_code) or "",
            regions.prefecture(p.region_code) or "", text_code or "", national, best or "",
            regions.level(best) if best else 0, regions.province(best) or "" if best else "",
            regions.prefecture(best) or "" if best else "")


def prepare_record(name: str, category: str, region_code: str, region: str, regions: RegionTable) -> dict:
    """One typed record prepared as ``prepare_registry`` prepares a row, without building a frame
    (a frame of one row costs tens of milliseconds; this a fraction of one).

    >>> from core.regions import default_regions
    >>> r = prepare_record("广州市科协", "", "", "", default_regions())
    >>> r["name_region_code"], r["region_best"], r["name_suffix"]
    ('440100', '440100', '科学技术协会')
    """
    code = regions.resolve(region_code) or ""
    text_code = regions.parse(fold_place_text(region), code or None).code if region else None
    rec = {"name": name, "category": category, "region_code": code, "region": region}
    rec.update(zip(DERIVED, derived_fields(name, category, code, text_code, regions)))
    return rec


def _derived_columns(names: list, categories: list, codes: list, texts: list, regions: RegionTable) -> list[list]:
    """The ``DERIVED`` columns (one list each) of records given as lists of resolved codes and region texts."""
    text_cache: dict[tuple[str, str], str | None] = {}
    text_codes = []
    for text, hint in zip(texts, codes):
        key = (text, hint)
        if key not in text_cache:
            text_cache[key] = regions.parse(fold_place_text(text), hint or None).code if text else None
        text_codes.append(text_cache[key])
    rows = [derived_fields(n, c, h, t, regions) for n, c, h, t in zip(names, categories, codes, text_codes)]
    return [list(values) for values in zip(*rows)] if rows else [[] for _ in DERIVED]


# what forked workers read: set just before the fork, so the lists are inherited instead of pickled
_FORKED: tuple = ()
PARALLEL_FROM = 20_000  # fewer records are prepared in one process: a fork costs more than it saves


def _forked_share(bounds: tuple[int, int]) -> list[list]:
    *columns, regions = _FORKED
    return _derived_columns(*(c[bounds[0]:bounds[1]] for c in columns), regions)


def _derived_in_processes(columns: list[list], regions: RegionTable, processes: int) -> list[list]:
    """``_derived_columns`` of contiguous shares in ``processes`` processes (this one and forked workers):
    every record is prepared on its own, so the shares put together equal one process's columns."""
    global _FORKED
    n = len(columns[0])
    if processes <= 1 or n < PARALLEL_FROM or "fork" not in mp.get_all_start_methods():
        return _derived_columns(*columns, regions)
    import core.typos  # noqa: F401  imported before the fork, so no worker imports it on its own
    bounds = np.linspace(0, n, processes + 1).astype(int)
    _FORKED = (*columns, regions)
    try:
        with ProcessPoolExecutor(processes - 1, mp_context=mp.get_context("fork")) as pool:
            others = pool.map(_forked_share, list(zip(bounds[1:-1], bounds[2:])))
            first = _derived_columns(*(c[:bounds[1]] for c in columns), regions)
            shares = [first, *others]
    finally:
        _FORKED = ()
    return [list(chain.from_iterable(share[i] for share in shares)) for i in range(len(DERIVED))]


def prepare_registry(clean: pd.DataFrame, regions: RegionTable, processes: int = 1) -> pd.DataFrame:
    """Normalised registry records: one row per valid source record (in ``processes`` processes: the
    names are prepared one by one in Python, a million of them take minutes on one core)."""
    f = clean.copy()
    f["region_code"] = [regions.resolve(c) or "" for c in f["region_code"]]
    columns = _derived_in_processes([f["name"].tolist(), f["category"].tolist(), f["region_code"].tolist(),
                                     f["region"].tolist()], regions, processes)
    for column, values in zip(DERIVED, columns):
        f[column] = values
    del columns
    f["certified"] = parse_certified(f["certified"])
    f["created_at"] = parse_dates(f["created_at"])
    f["updated_at"] = parse_dates(f["updated_at"])
    return f.reset_index(drop=True)


def prepare_activities(clean: pd.DataFrame, regions: RegionTable) -> pd.DataFrame:
    f = clean.copy()
    # exports repeat the same few thousand codes and dates: each is parsed once
    f["region_code"] = per_distinct(f["region_code"], lambda cs: [regions.resolve(c) or "" for c in cs], "").astype("str")
    inverse, uniques = pd.factorize(f["start_date"])
    dates = parse_dates(pd.Series(np.asarray(uniques, dtype=object), dtype="str"))
    f["start_date"] = pd.Series(np.append(dates.to_numpy(), np.datetime64("NaT"))[inverse], index=f.index)
    return f.reset_index(drop=True)


FINGERPRINT_COLUMNS = ["org_id", "name", "category", "region_code", "region", "parent_id", "certified", "created_at",
                       "updated_at"]


def fingerprints(clean: pd.DataFrame) -> pd.Series:
    """A hash of each raw record's contract columns: equal means nothing about the record changed."""
    return pd.util.hash_pandas_object(clean[FINGERPRINT_COLUMNS], index=False).astype("uint64")


def pipeline_fingerprint() -> str:
    """What prepared records and pair scores depend on besides the input: the reference data and the
    code that normalises and compares. A snapshot made by another version is not reused."""
    import hashlib
    from pathlib import Path

    from core.config import PROJECT_ROOT, REFERENCE_DIR

    # every module of the pure stages and every reference file: a hand-kept list went stale (place_names,
    # unit_words and the word lists were missing), and a stale fingerprint reuses results of other rules
    files = sorted(f for f in REFERENCE_DIR.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    for package in ("core", "dedupe", "hierarchy"):
        files += sorted((PROJECT_ROOT / package).rglob("*.py"))
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(PROJECT_ROOT) if f.is_relative_to(PROJECT_ROOT) else f.name).encode())
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]


def previous_positions(ids, previous: pd.DataFrame | None) -> np.ndarray | None:
    """Each id's row in last run's records (-1: new); None without usable last records (none, or an id
    repeated in them)."""
    if previous is None or previous.empty or "fingerprint" not in previous.columns:
        return None
    index = pd.Index(previous["org_id"].to_numpy(dtype=object))
    return index.get_indexer(np.asarray(ids, dtype=object)) if index.is_unique else None


def prepare_changed(clean: pd.DataFrame, regions: RegionTable, previous: pd.DataFrame | None,
                    at: np.ndarray | None = None, processes: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Prepared records for ``clean``, reusing ``previous`` prepared rows whose fingerprint is unchanged.

    Returns the records (in ``clean``'s order) and a mask of the rows that are new or changed.
    ``at``: ``previous_positions`` of ``clean``'s ids, when the caller has them.
    """
    prints = fingerprints(clean)
    if at is None:
        at = previous_positions(clean["org_id"], previous)
    if at is None:
        out = prepare_registry(clean, regions, processes)
        out["fingerprint"] = prints.to_numpy()
        return out, np.ones(len(out), dtype=bool)
    same = (at >= 0) & (previous["fingerprint"].to_numpy(np.uint64)[np.maximum(at, 0)] == prints.to_numpy(np.uint64))
    fresh = prepare_registry(clean[~same], regions, processes)
    fresh["fingerprint"] = prints[~same].to_numpy()
    columns = [c for c in fresh.columns if c in previous.columns]
    # one take per column: last run's rows where unchanged, the freshly prepared ones elsewhere
    take = np.empty(len(clean), dtype=np.int64)
    take[same] = at[same]
    take[~same] = len(previous) + np.arange(int((~same).sum()))
    both = pd.concat([previous[columns], fresh[columns]], ignore_index=True)
    return both.take(take).reset_index(drop=True), ~same
