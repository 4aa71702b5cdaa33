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

import bisect
import copy
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from core.overlay import OverlayOp, apply_op, editable, touched_sources
from serve.lookup import SuggestIndex

if TYPE_CHECKING:
    from core.live import LiveState
    from serve.state import Loaded, by_org_id

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


def remapped(built: SuggestIndex, positions: pd.Index, served: SuggestIndex, orgs: pd.DataFrame, canonical,
             touched: set[str], affected: set[str]) -> SuggestIndex | None:
    """``served`` (``built`` as served so far; ``positions``: its units' ids) with the indexed units
    among ``touched`` (records whose unit changed) answering as their units now; None when a unit of ``affected`` (units whose row may
    have changed) is not reachable or has a category the index does not know."""
    at = positions.get_indexer(sorted(touched))
    at = at[at >= 0]
    units = canonical.units_of(built.org_ids[at].astype(object))
    present = orgs["org_id"].isin(list(affected)).to_numpy()
    if not set(orgs["org_id"].to_numpy()[present].tolist()).issubset(units.tolist()):
        return None
    few = orgs[orgs["org_id"].isin(units.tolist())]  # a scan: a lookup by index would hash all the units
    rows = few.set_index(few["org_id"].to_numpy(dtype=object)).reindex(units)
    if rows["name"].isna().any() or not set(rows["category"]).issubset(built.category_names):
        return None
    out = copy.copy(served)
    out.__class__ = RemappedIndex
    for name, values in (("org_ids", units), ("names", rows["name"]), ("region_codes", rows["region_code"]),
                         ("provinces", rows["province_code"])):
        column = getattr(served, name).copy()
        column[at] = np.asarray(values, dtype=object)
        setattr(out, name, column)
    out.certified = served.certified.copy()
    out.certified[at] = rows["certified"].fillna(False).to_numpy().astype(bool)
    out.category_id = served.category_id.copy()
    out.category_id[at] = pd.Categorical(rows["category"], categories=built.category_names).codes
    paths = built._paths(pd.Series(rows["region_code"].to_numpy(dtype=object)))
    for name, column in (("code_num", "code"), ("pref_num", "pref"), ("prov_num", "prov")):
        values = getattr(served, name).copy()
        values[at] = paths[column].to_numpy(np.int32)
        setattr(out, name, values)
    return out


def children_after(children: dict[str, list[str]], old: pd.DataFrame, orgs: pd.DataFrame,
                   affected: set[str]) -> dict[str, list[str]]:
    """``children`` after decisions changed the rows of the units ``affected`` (``old``/``orgs``: the
    units before and after, indexed by org_id): the lists of every parent involved built again."""
    parents = set(affected)
    for frame in (old, orgs):
        parents |= set(frame.loc[frame["org_id"].isin(list(affected)).to_numpy(), "parent_id"].tolist())
    parents.discard("")
    out = dict(children)
    for p in parents:
        out.pop(p, None)
    rows = orgs[orgs["parent_id"].isin(list(parents))]
    for oid, parent in zip(rows["org_id"].tolist(), rows["parent_id"].tolist()):
        out.setdefault(parent, []).append(oid)
    return out


def records_after(records: pd.DataFrame, order: np.ndarray, canonical, touched: set[str]
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """``records`` (sorted by unit, then snapshot position ``order``) with the rows of ``touched`` under
    their units now, in the place a full sort would give them."""
    mask = records["org_id"].isin(list(touched)).to_numpy()
    if not mask.any():
        return records, order
    units = records.index.to_numpy(dtype=object).copy()
    moved = np.flatnonzero(mask)
    units[moved] = canonical.units_of(records["org_id"].to_numpy(dtype=object)[moved])
    kept = np.flatnonzero(~mask)
    kept_units, kept_order = units[kept], order[kept]
    moved = sorted(moved.tolist(), key=lambda i: (str(units[i]), order[i]))
    points = []
    for i in moved:
        lo = bisect.bisect_left(kept_units, str(units[i]))
        hi = bisect.bisect_right(kept_units, str(units[i]), lo)
        points.append(lo + bisect.bisect_left(kept_order[lo:hi].tolist(), order[i]))
    take = np.insert(kept, points, moved)
    out = records.iloc[take]
    return out.set_axis(pd.Index(units[take], name="unit", dtype=object)), order[take]


def advance(cur: "Loaded", state: "LiveState", ops: list[OverlayOp]) -> "Loaded | None":
    """``cur`` with ``ops`` (the overlay operations committed after it, on the same snapshot) applied;
    None when they need a full load (see the module's note)."""
    from serve.state import Loaded, by_org_id

    if cur.id_map is None or cur.built_index is None or cur.positions is None or \
            any(op.kind not in IN_PLACE for op in ops):
        return None
    frames = editable({"organizations": cur.orgs.reset_index(drop=True), "id_map": cur.id_map,
                       "merge_suggestions": cur.suggestions, "activity_visibility": cur.visibility})
    touched: set[str] = set()
    for op in ops:
        touched |= touched_sources(frames, op)  # read before: the records an operation may move
        frames = apply_op(frames, op, cur.canonical)  # operations never add or remove source records
    orgs, id_map = frames["organizations"], frames["id_map"]
    canonical = cur.canonical.updated(id_map[id_map["source_org_id"].isin(list(touched))])
    affected = {u for u in cur.canonical.units_of(sorted(touched)).tolist() + canonical.units_of(
        sorted(touched)).tolist() if u is not None}
    indexed = by_org_id(orgs)
    index = remapped(cur.built_index, cur.positions, cur.index, indexed, canonical, touched, affected)
    if index is None:
        return None
    records, order = records_after(cur.records, cur.record_order, canonical, touched)
    return Loaded(cur.version, indexed, canonical, index, frames["activity_visibility"], cur.rollup,
                  children_after(cur.children, cur.orgs, indexed, affected), records, cur.retired,
                  state.generation, state.label, head=max([cur.head] + [op.seq for op in ops]), id_map=id_map,
                  suggestions=frames["merge_suggestions"], built_index=cur.built_index, positions=cur.positions,
                  record_order=order,
                  index_generation=cur.index_generation)
