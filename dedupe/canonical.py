"""Choose each cluster's surviving record and map every source id to it."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.lookups import within
from core.proposals import is_proposal_id
from dedupe.cluster import components

COMPLETENESS_COLUMNS = ["category", "region_code", "region", "parent_id"]


def choose_survivors(records: pd.DataFrame, roots: np.ndarray, activity_counts: pd.Series | None = None,
                     previous_canonical=None, returning=None) -> pd.Series:
    """The surviving rid of each record's cluster.

    Rules, in order: a registry record before a 组织入驻 one (when the export catches up with a
    proposed unit, the export's id becomes canonical); certified first; then an id that was its unit's canonical id when it left the
    registry and is back (``returning``: a survivor missing for a night gets its id back); then the
    id that was canonical in the last snapshot (so ids stay stable run to run); then the one most activities point at; then the most complete; then the
    oldest; then the smallest id, so the choice never depends on row order.
    """
    roots = np.asarray(roots)
    survivor = np.arange(len(records))
    # a record alone in its cluster survives itself (most of a registry): only clusters are ranked
    multi = np.flatnonzero(np.bincount(roots, minlength=len(records))[roots] > 1)
    if not len(multi):
        return pd.Series(survivor)
    records = records.iloc[multi]
    f = pd.DataFrame({"rid": multi, "root": roots[multi], "org_id": records["org_id"].to_numpy()})
    f["certified"] = records["certified"].to_numpy().astype(bool)
    f["proposed"] = f["org_id"].map(is_proposal_id).astype(bool)
    f["was_canonical"] = within(f["org_id"], previous_canonical) if previous_canonical is not None else False
    f["returning"] = within(f["org_id"], returning) if returning is not None else False
    counts = activity_counts if activity_counts is not None else pd.Series(dtype="int64")
    f["activities"] = f["org_id"].map(counts).fillna(0).astype("int64")
    f["complete"] = sum((records[c].astype(str) != "").to_numpy().astype(int) for c in COMPLETENESS_COLUMNS)
    created = pd.to_datetime(records["created_at"], errors="coerce").astype("datetime64[us]")
    f["created"] = created.fillna(pd.Timestamp("2262-01-01")).to_numpy()
    order = f.sort_values(["root", "proposed", "certified", "returning", "was_canonical", "activities", "complete", "created",
                           "org_id"], ascending=[True, True, False, False, False, False, False, True, True])
    survivor_of_root = order.drop_duplicates("root").set_index("root")["rid"]
    survivor[multi] = survivor_of_root.reindex(roots[multi]).to_numpy()
    return pd.Series(survivor)


def how_merged(n_records: int, edges: pd.DataFrame, survivor: pd.Series) -> np.ndarray:
    """``same`` for survivors, ``auto`` where automatic edges alone reach the survivor, else ``reviewed``."""
    component = components(n_records, [edges[edges["how"] == "auto"]])
    surv = survivor.to_numpy()
    out = np.where(np.arange(n_records) == surv, "same", "reviewed").astype(object)
    out[(out == "reviewed") & (component == component[surv])] = "auto"
    return out
