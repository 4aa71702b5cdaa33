"""Rebuild only what changed: an incremental run reuses last run's canonical organizations and parents
wherever everything they were computed from is unchanged, so its result equals a full rebuild's.

- A unit's merged evidence (``build_organizations``) depends on its member records, in order, and on
  the canonical ids of the parents they declare: ``organization_inputs`` hashes exactly that.
- A unit's parent (``place_parents``) depends on its evidence, on the rows of the parents it declares,
  and on which 科协 stands at each place of its region path: units are placed again when any of these
  changed.
Province of the admin, parent changes and everything after are computed for all units: column-wise,
they take about a second each.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.lookups import member_of
from core.records import fingerprints
from core.regions import RegionTable
from hierarchy.build import build_organizations
from hierarchy.repair import AssociationIndex, place_parents, repair_parents

PLACEMENT_COLUMNS = ["parent_id", "reason", "confidence", "needs_review"]


def canonical_of(ids: np.ndarray, id_map: pd.DataFrame, source: pd.Index | None = None) -> np.ndarray:
    """The canonical id of each source id; an id the map does not know stays as it is.
    ``source``: the map's source ids as an index, when the caller already has one."""
    canonical = id_map["canonical_org_id"].to_numpy(dtype=object)
    if source is None:
        mapped = id_map["source_org_id"].to_numpy(dtype=object)
        # the duplicate stage maps the records in their own order: then no lookup is needed
        if len(mapped) == len(ids) and bool((mapped == ids).all()):
            return canonical
        source = pd.Index(mapped)
    at = source.get_indexer(ids)
    return np.where(at >= 0, canonical[np.maximum(at, 0)] if len(canonical) else ids, ids)


def organization_inputs(records: pd.DataFrame, id_map: pd.DataFrame, canonical: np.ndarray | None = None
                        ) -> pd.Series:
    """Per canonical id, a 64-bit hash of everything its merged row is built from.

    Each record contributes its fingerprint (all its raw columns), its canonical id, the canonical id
    of its declared parent, whether it is the survivor and its place among the unit's records (the
    survivor's evidence comes first, then file order); the unit sums them (modulo 2**64).
    ``canonical``: each record's canonical id, when the caller has it.
    """
    ids = records["org_id"].to_numpy(dtype=object)
    source = pd.Index(id_map["source_org_id"].to_numpy(dtype=object))
    if canonical is None:
        canonical = canonical_of(ids, id_map, source)
    parent = records["parent_id"].to_numpy(dtype=object)
    declared = parent != ""
    parent_canonical = np.full(len(parent), "", dtype=object)
    parent_canonical[declared] = canonical_of(parent[declared], id_map, source)
    survivor = ids == canonical
    # survivor first, then file order: the order build_organizations reads a unit's records in
    unit, units = pd.factorize(canonical)
    n = len(unit)
    order = np.lexsort((np.arange(n), ~survivor, unit))
    starts = np.flatnonzero(np.r_[True, unit[order][1:] != unit[order][:-1]]) if n else np.zeros(0, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    prints = records["fingerprint"] if "fingerprint" in records.columns else fingerprints(records)
    parts = pd.DataFrame({"fingerprint": prints.to_numpy(np.uint64), "canonical": canonical,
                          "parent": parent_canonical, "survivor": survivor, "order": rank})
    hashed = pd.util.hash_pandas_object(parts, index=False).to_numpy(np.uint64)
    sums = np.add.reduceat(hashed[order], starts) if n else np.zeros(0, dtype=np.uint64)
    return pd.Series(sums.astype(np.uint64), index=np.asarray(units, dtype=object)[unit[order][starts]])


def _changed_places(old: AssociationIndex, new: AssociationIndex) -> set[str]:
    keys = set(old.at.items()) ^ set(new.at.items())
    return {code for (_, code), _ in keys}


def _touches(regions: RegionTable, codes: np.ndarray, places: set[str]) -> np.ndarray:
    """Whether each region code's path (province → city → county) passes a place in ``places``."""
    if not places:
        return np.zeros(len(codes), dtype=bool)
    inverse, uniques = pd.factorize(codes)
    hit = np.array([bool(c) and any(p in places for p in regions.path(c)) for c in uniques.tolist()] + [False])
    return hit[inverse]


def _merge_sorted(previous: pd.DataFrame, keep: np.ndarray, built: pd.DataFrame) -> pd.DataFrame:
    """The rows ``keep`` of ``previous`` and all of ``built``, both sorted by ``org_id``, as one frame
    sorted by ``org_id``: a single take per column (only the few built ids are searched)."""
    keep = np.sort(keep)
    old_ids = previous["org_id"].to_numpy(dtype=object)[keep]
    new_ids = built["org_id"].to_numpy(dtype=object)
    both = pd.concat([previous[list(built.columns)], built], ignore_index=True)
    if len(old_ids) and not (old_ids[1:] > old_ids[:-1]).all():  # not sorted after all: sort it all
        rows = np.r_[keep, len(previous) + np.arange(len(built))]
        return both.take(rows).sort_values("org_id", ignore_index=True)
    slot = np.searchsorted(old_ids, new_ids)
    order = np.argsort(np.concatenate([np.arange(len(old_ids)) * 2, slot * 2 - 1]), kind="stable")
    return both.take(np.r_[keep, len(previous) + np.arange(len(built))][order]).reset_index(drop=True)


def rebuild_organizations(records: pd.DataFrame, id_map: pd.DataFrame, regions: RegionTable,
                          previous: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Canonical organizations with their parents (``build_organizations`` + ``place_parents``), and
    how many were rebuilt and placed again. ``previous`` is the last run's result with its ``inputs``
    column; without it everything is built. The result carries ``inputs`` for the next run.
    """
    canonical = canonical_of(records["org_id"].to_numpy(dtype=object), id_map)
    inputs = organization_inputs(records, id_map, canonical)
    if previous is None or previous.empty or "inputs" not in previous.columns:
        orgs = repair_parents(build_organizations(records, id_map, regions), regions)
        orgs["inputs"] = inputs.reindex(orgs["org_id"].to_numpy()).to_numpy(np.uint64)
        return orgs, {"organizations_rebuilt": len(orgs), "organizations_placed": len(orgs)}
    previous_ids = previous["org_id"].to_numpy(dtype=object)
    at = pd.Index(previous_ids).get_indexer(inputs.index)
    unchanged = (at >= 0) & (previous["inputs"].to_numpy(np.uint64)[np.maximum(at, 0)] == inputs.to_numpy())
    still = np.zeros(len(previous), dtype=bool)
    still[at[at >= 0]] = True
    dirty = inputs.index.to_numpy(dtype=object)[~unchanged]
    built = build_organizations(records[member_of(pd.Series(canonical), set(dirty.tolist())).to_numpy()], id_map,
                                regions)
    built["inputs"] = pd.Series(inputs.to_numpy()[~unchanged], index=dirty).reindex(
        built["org_id"].to_numpy(dtype=object)).to_numpy(np.uint64)
    # built units are placed below, with every unit whose parent may have moved
    built = built.assign(rebuilt=True, **{c: None for c in PLACEMENT_COLUMNS})
    orgs = _merge_sorted(previous.assign(rebuilt=False), at[unchanged], built)
    orgs = orgs.astype({"certified": bool, "members": np.int64, "region_level": np.int64})
    index, old_index = AssociationIndex(orgs), AssociationIndex(previous)
    redo = orgs.pop("rebuilt").to_numpy(dtype=bool, copy=True)
    if index.root != old_index.root:
        redo[:] = True
    else:
        moved = set(dirty.tolist()) | set(previous_ids[~still].tolist())
        redo |= np.array([not moved.isdisjoint(ps) for ps in orgs["declared_parents"].tolist()], dtype=bool)
        redo |= _touches(regions, orgs["region_code"].to_numpy(dtype=object), _changed_places(old_index, index))
    rows = np.flatnonzero(redo)
    placed = place_parents(orgs, regions, rows, index)
    for c in PLACEMENT_COLUMNS:
        values = orgs[c].to_numpy(dtype=object).copy()
        values[rows] = placed[c].to_numpy(dtype=object)
        orgs[c] = pd.Series(values).astype(placed[c].dtype)
    orgs["inputs"] = orgs.pop("inputs").to_numpy(np.uint64)
    return orgs, {"organizations_rebuilt": len(built), "organizations_placed": len(rows)}
