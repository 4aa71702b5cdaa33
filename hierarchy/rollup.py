"""Organizations and activities per subtree (province → city → county), for the platform's statistics."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from core.schema import ASSOCIATION_LEVEL

TREE_CATEGORIES = set(ASSOCIATION_LEVEL) | {"中国科协"}


def rollup(orgs: pd.DataFrame, activity_orgs: pd.Series) -> pd.DataFrame:
    """For each 科协 node: organizations and activities in its subtree.

    ``orgs`` carries the repaired ``parent_id`` (a branching); ``activity_orgs`` is the canonical org
    of each activity. Units nobody hangs under (nine in ten) are folded into their parent's own counts,
    so networkx walks the tree of 科协 only: the full graph of a million units took 18 s to build and sort.
    """
    ids = orgs["org_id"].to_numpy(dtype=object)
    parent = orgs["parent_id"].to_numpy(dtype=object)
    category = orgs["category"].to_numpy(dtype=object)
    index = pd.Index(ids)
    at = index.get_indexer(parent)
    at[parent == ""] = -1
    direct = activity_orgs[activity_orgs != ""].value_counts()
    acts = direct.reindex(index).fillna(0).to_numpy(np.int64)
    internal = np.isin(category, list(TREE_CATEGORIES))
    internal[at[at >= 0]] = True
    leaf = ~internal & (at >= 0)
    own_orgs = np.ones(len(ids), dtype=np.int64)
    own_acts = acts.copy()
    np.add.at(own_orgs, at[leaf], 1)
    np.add.at(own_acts, at[leaf], acts[leaf])
    nodes = np.flatnonzero(internal)
    tree = nx.DiGraph()
    tree.add_nodes_from(nodes.tolist())
    linked = nodes[at[nodes] >= 0]
    tree.add_edges_from(zip(at[linked].tolist(), linked.tolist()))
    orgs_below, acts_below = {}, {}
    for node in reversed(list(nx.topological_sort(tree))):
        kids = list(tree.successors(node))
        orgs_below[node] = int(own_orgs[node]) + sum(orgs_below[k] for k in kids)
        acts_below[node] = int(own_acts[node]) + sum(acts_below[k] for k in kids)
    shown = np.flatnonzero(np.isin(category, list(TREE_CATEGORIES)))
    region = orgs["region_code"].to_numpy(dtype=object)
    return pd.DataFrame({"org_id": ids[shown], "category": category[shown], "region_code": region[shown],
                         "organizations": [orgs_below[i] for i in shown.tolist()],
                         "activities": [acts_below[i] for i in shown.tolist()],
                         "activities_direct": acts[shown]},
                        columns=["org_id", "category", "region_code", "organizations", "activities",
                                 "activities_direct"])
