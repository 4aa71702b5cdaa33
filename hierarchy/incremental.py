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

from core.checks import member_of
from core.records import fingerprints
from core.regions import RegionTable
from hierarchy.build import build_organizations
from hierarchy.repair import AssociationIndex, place_parents, repair_parents

PLACEMENT_COLUMNS = ["parent_id", "reason", "confidence", "needs_review"]


def canonical_of(ids: np.ndarray, id_map: pd.DataFrame, source: pd.Index | None = None) -> np.ndarray:
    """The canonical id of each source id; an id the map does not know stays as it is.
    ``source``: the map's source ids as an index, when the caller already has one."""
    if source is None:
        source = pd.Index(id_map["source_org_id"].to_numpy(dtype=object))
    at = source.get_indexer(ids)
    canonical = id_map["canonical_org_id"].to_numpy(dtype=object)
    return np.where(at >= 0, canonical[np.maximum(at, 0)] if len(canonical) else ids, ids)


def organization_inputs(records: pd.DataFrame, id_map: pd.DataFrame) -> pd.Series:
    """Per canonical id, a 64-bit hash of everything its merged row is built from.

    Each record contributes its fingerprint (all its raw columns), its canonical id, the canonical id
    of its declared parent, whether it is the survivor and its place among the unit's records (the
    survivor's evidence comes first, then file order); the unit sums them.
    """
    ids = records["org_id"].to_numpy(dtype=object)
    source = pd.Index(id_map["source_org_id"].to_numpy(dtype=object))
    canonical = canonical_of(ids, id_map, source)
    parent = records["parent_id"].to_numpy(dtype=object)
    parent_canonical = np.where(parent == "", "", canonical_of(parent, id_map, source))
    survivor = ids == canonical
    frame = pd.DataFrame({"canonical": canonical, "survivor": survivor})
    # survivor first, then file order: the order build_organizations reads a unit's records in
    rank = frame.assign(pos=np.arange(len(frame))).sort_values(["canonical", "survivor", "pos"],
                                                                ascending=[True, False, True], kind="stable")
    order = np.empty(len(frame), dtype=np.int64)
    order[rank.index.to_numpy()] = rank.groupby("canonical", sort=False).cumcount().to_numpy()
    prints = records["fingerprint"] if "fingerprint" in records.columns else fingerprints(records)
    parts = pd.DataFrame({"fingerprint": prints.to_numpy(np.uint64), "canonical": canonical,
                          "parent": parent_canonical, "survivor": survivor, "order": order})
    hashed = pd.util.hash_pandas_object(parts, index=False).to_numpy(np.uint64)
    return pd.Series(hashed, index=canonical).groupby(level=0, sort=False).sum().astype(np.uint64)


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


def _merge_sorted(kept: pd.DataFrame, built: pd.DataFrame) -> pd.DataFrame:
    """Both frames sorted by ``org_id``, as one sorted frame (only the few built ids are searched)."""
    old_ids = kept["org_id"].to_numpy(dtype=object)
    new_ids = built["org_id"].to_numpy(dtype=object)
    if len(old_ids) and not (old_ids[1:] > old_ids[:-1]).all():  # not sorted after all: sort it all
        return pd.concat([kept, built], ignore_index=True).sort_values("org_id", ignore_index=True)
    slot = np.searchsorted(old_ids, new_ids)
    key = np.concatenate([np.arange(len(old_ids)) * 2, slot * 2 - 1])
    return pd.concat([kept, built], ignore_index=True).iloc[np.argsort(key, kind="stable")].reset_index(drop=True)


def rebuild_organizations(records: pd.DataFrame, id_map: pd.DataFrame, regions: RegionTable,
                          previous: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """Canonical organizations with their parents (``build_organizations`` + ``place_parents``), and
    how many were rebuilt and placed again. ``previous`` is the last run's result with its ``inputs``
    column; without it everything is built. The result carries ``inputs`` for the next run.
    """
    inputs = organization_inputs(records, id_map)
    if previous is None or previous.empty or "inputs" not in previous.columns:
        orgs = repair_parents(build_organizations(records, id_map, regions), regions)
        orgs["inputs"] = inputs.reindex(orgs["org_id"].to_numpy()).to_numpy(np.uint64)
        return orgs, {"organizations_rebuilt": len(orgs), "organizations_placed": len(orgs)}
    prev = previous.set_index("org_id", drop=False)
    old_inputs = prev["inputs"].reindex(inputs.index).to_numpy()
    unchanged = pd.notna(old_inputs) & (old_inputs == inputs.to_numpy())
    dirty = set(inputs.index[~unchanged].tolist())
    gone = set(prev.index.difference(inputs.index).tolist())
    canonical = canonical_of(records["org_id"].to_numpy(dtype=object), id_map)
    # hash lookups: numpy's isin compares object arrays element by element against each wanted id
    built = build_organizations(records[pd.Index(canonical).isin(dirty)], id_map, regions)
    clean = set(inputs.index[unchanged].tolist())
    kept = previous[member_of(previous["org_id"], clean).to_numpy()]
    kept = kept[list(built.columns) + PLACEMENT_COLUMNS].reset_index(drop=True)
    orgs = _merge_sorted(kept, built)
    orgs = orgs.astype({"certified": bool, "members": np.int64, "region_level": np.int64})
    index, old_index = AssociationIndex(orgs), AssociationIndex(previous)
    ids = orgs["org_id"].to_numpy(dtype=object)
    if index.root != old_index.root:
        redo = np.ones(len(orgs), dtype=bool)
    else:
        moved = dirty | gone
        redo = pd.Index(ids).isin(dirty)
        redo |= np.array([any(p in moved for p in ps) for ps in orgs["declared_parents"].tolist()], dtype=bool)
        redo |= _touches(regions, orgs["region_code"].to_numpy(dtype=object), _changed_places(old_index, index))
    rows = np.flatnonzero(redo)
    placed = place_parents(orgs, regions, rows, index)
    for c in PLACEMENT_COLUMNS:
        values = orgs[c].to_numpy(dtype=object).copy()
        values[rows] = placed[c].to_numpy(dtype=object)
        orgs[c] = pd.Series(values).astype(placed[c].dtype)
    orgs["inputs"] = inputs.reindex(ids).to_numpy(np.uint64)
    return orgs, {"organizations_rebuilt": len(built), "organizations_placed": len(rows)}
