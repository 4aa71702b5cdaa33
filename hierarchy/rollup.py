"""Organizations and activities per subtree (province → city → county), for the platform's statistics."""
from __future__ import annotations

import networkx as nx
import pandas as pd

from core.schema import ASSOCIATION_LEVEL


def rollup(graph: nx.DiGraph, activity_orgs: pd.Series) -> pd.DataFrame:
    """For each 科协 node: organizations and activities in its subtree.

    ``graph`` is the parent → child branching; ``activity_orgs`` the canonical org of each activity.
    """
    direct = activity_orgs[activity_orgs != ""].value_counts().to_dict()
    orgs_below = {}
    acts_below = {}
    for node in reversed(list(nx.topological_sort(graph))):
        kids = list(graph.successors(node))
        orgs_below[node] = 1 + sum(orgs_below[k] for k in kids)
        acts_below[node] = direct.get(node, 0) + sum(acts_below[k] for k in kids)
    rows = [{"org_id": n, "category": d.get("category", ""), "region_code": d.get("region_code", ""),
             "organizations": orgs_below[n], "activities": acts_below[n], "activities_direct": direct.get(n, 0)}
            for n, d in graph.nodes(data=True) if d.get("category") in ASSOCIATION_LEVEL or d.get("category") == "中国科协"]
    return pd.DataFrame(rows, columns=["org_id", "category", "region_code", "organizations", "activities",
                                       "activities_direct"])
