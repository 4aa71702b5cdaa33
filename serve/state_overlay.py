"""New decisions applied to the served state in place, instead of a full load.

A decision adds a few overlay operations to the live state (``core.overlay``). Loading it again would
read every frame, apply the whole overlay and rebuild the autocomplete index: seconds at 100,000
records, during which every request waits for the interpreter. Instead the operations committed since
the served state are applied to its frames (the same ``apply_op`` a full load runs, in the same order,
so the frames come out equal), and the index built at the last full load is kept with its per-unit
columns re-pointed: each indexed unit answers as the unit it belongs to now (a merged unit's names find
the survivor; an undone merge finds both again). Only the static rank stays that of the last full
load until the service is quiet (``serve.state.SnapshotHolder``) or a new snapshot is published.

A unit the kept index does not know (an undo of a merge the index was built after), a split and a
correction (new names to search) need a full load: ``advance`` says so by returning None.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from core.overlay import OverlayOp, apply_op, editable
from serve.lookup import SuggestIndex

if TYPE_CHECKING:
    from core.live import LiveState
    from serve.state import Loaded

IN_PLACE = ("match", "distinct", "restore")  # what advance applies; unmerge and correct load in full


class RemappedIndex(SuggestIndex):
    """A ``SuggestIndex`` built on an earlier state whose units answer as the units they belong to now."""

    def suggest(self, q: str, category: str | None = None, region: str | None = None, limit: int = 10) -> list[dict]:
        """As ``SuggestIndex.suggest``, each unit once (a merged unit and its survivor are one answer)."""
        seen, out = set(), []
        for hit in super().suggest(q, category, region, limit * 2):
            if hit["org_id"] not in seen:
                seen.add(hit["org_id"])
                out.append(hit)
        return out[:limit]


def remapped(built: SuggestIndex, orgs: pd.DataFrame, units: np.ndarray) -> SuggestIndex | None:
    """``built`` answering for the units of ``orgs`` (indexed by org_id) now: ``units`` is the current
    unit of each of its indexed units; None when a unit of ``orgs`` is not reachable or a category is new."""
    if not set(orgs.index).issubset(units.tolist()):
        return None
    rows = orgs.reindex(units)
    if rows["name"].isna().any() or not set(rows["category"]).issubset(built.category_names):
        return None
    out = copy.copy(built)
    out.__class__ = RemappedIndex
    strings = StringDType()
    out.org_ids = units.astype(strings)
    out.names = rows["name"].to_numpy(dtype=strings)
    out.region_codes = rows["region_code"].to_numpy(dtype=strings)
    out.provinces = rows["province_code"].to_numpy(dtype=strings)
    out.certified = rows["certified"].fillna(False).to_numpy().astype(bool)
    out.category_id = pd.Categorical(rows["category"], categories=built.category_names).codes.astype(np.int16)
    paths = built._paths(pd.Series(out.region_codes))
    out.code_num, out.pref_num, out.prov_num = (paths[c].to_numpy(np.int32) for c in ("code", "pref", "prov"))
    return out


def advance(cur: "Loaded", state: "LiveState", ops: list[OverlayOp]) -> "Loaded | None":
    """``cur`` with ``ops`` (the overlay operations committed after it, on the same snapshot) applied;
    None when they need a full load (see the module's note)."""
    from serve.state import Loaded, by_unit, children_of

    if cur.id_map is None or cur.built_index is None or any(op.kind not in IN_PLACE for op in ops):
        return None
    frames = editable({"organizations": cur.orgs.reset_index(drop=True), "id_map": cur.id_map,
                       "merge_suggestions": cur.suggestions, "activity_visibility": cur.visibility})
    for op in ops:
        frames = apply_op(frames, op, cur.canonical)  # operations never add or remove source records
    orgs, id_map = frames["organizations"], frames["id_map"]
    canonical = cur.canonical.with_units(id_map)
    indexed = orgs.set_index("org_id", drop=False)
    index = remapped(cur.built_index, indexed, canonical.units_of(cur.built_index.org_ids.astype(object)))
    if index is None:
        return None
    records, order = by_unit(cur.records.iloc[np.argsort(cur.record_order)], canonical)
    return Loaded(cur.version, indexed, canonical, index, frames["activity_visibility"], cur.rollup,
                  children_of(orgs), records, cur.retired, state.generation, state.label,
                  head=max([cur.head] + [op.seq for op in ops]), id_map=id_map,
                  suggestions=frames["merge_suggestions"], built_index=cur.built_index, record_order=order,
                  index_generation=cur.index_generation)
