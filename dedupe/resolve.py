"""The duplicate stage's result and its last step (``settle_duplicates``, run by the pipeline), and the
whole stage of a full run in one call (``resolve_duplicates``: the same steps the pipeline runs, for
tests and tools). Pure."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.lookups import within
from dedupe.canonical import choose_survivors, how_merged
from dedupe.cluster import cluster_pairs
from dedupe.corroboration import HELD_NOTE, uncorroborated
from dedupe.incremental import candidate_pairs
from dedupe.scoring import score_chunk, score_pairs, split_for_scoring
from dedupe.short_forms import short_form_suggestions
from dedupe.explain import explain_pairs
from dedupe.review_queue import weigh_review
from dedupe.typos import correct_common_heads


@dataclass
class Resolution:
    id_map: pd.DataFrame  # source_org_id, canonical_org_id, how
    suggestions: pd.DataFrame  # left_org_id, right_org_id, score, explanation
    scored: pd.DataFrame  # every scored candidate pair
    stats: dict


def _decision_rids(decisions: pd.DataFrame | None, kind: str, rid_of: pd.Index) -> pd.DataFrame:
    """People's ``kind`` decisions as rid pairs (pairs with an id no longer in the registry drop out)."""
    if decisions is None or decisions.empty:
        return pd.DataFrame(columns=["rid_l", "rid_r"], dtype=np.int64)
    d = decisions[decisions["decision"] == kind]
    left, right = (rid_of.get_indexer(d[c].to_numpy(dtype=object)) for c in ("left_org_id", "right_org_id"))
    found = (left >= 0) & (right >= 0)
    return pd.DataFrame({"rid_l": left[found], "rid_r": right[found]}, dtype=np.int64)


def _held_back(scored: pd.DataFrame, touch: np.ndarray, auto_threshold: float) -> pd.DataFrame:
    """``scored`` with the ``touch`` pairs kept just under the automatic threshold (for clustering only)."""
    if not touch.any():
        return scored
    capped = np.where(touch, np.minimum(scored["score"].to_numpy(), np.nextafter(auto_threshold, 0)),
                      scored["score"].to_numpy())
    return scored.assign(score=capped)


def _touching(scored: pd.DataFrame, records: pd.DataFrame, held) -> np.ndarray:
    """Mask over ``scored``: pairs with a ``held`` id (reused for another unit)."""
    if held is None or not len(held):
        return np.zeros(len(scored), dtype=bool)
    hold = within(records["org_id"], held)
    return hold[scored["rid_l"].to_numpy(np.int64)] | hold[scored["rid_r"].to_numpy(np.int64)]


def resolve_duplicates(records: pd.DataFrame, *, auto_threshold: float, review_threshold: float,
                       max_block_size: int = 100, decisions: pd.DataFrame | None = None,
                       activity_counts: pd.Series | None = None, previous_canonical=None, returning=None,
                       held=None, evidence_places: pd.DataFrame | None = None) -> Resolution:
    """Find duplicates among prepared records; ``decisions`` are people's ``match``/``distinct`` facts.

    The steps of the pipeline's duplicate stage (``flows/pipeline.py``) on a full run, in one share.
    """
    typed = records["name_head"].to_numpy(dtype=object)
    matching = correct_common_heads(records)
    pairs, stats, _, _ = candidate_pairs(matching, max_block_size, typed_heads=typed)
    shares = split_for_scoring(matching, pairs, 1)
    scored = score_chunk(shares[0]) if shares else score_pairs(matching, pairs)
    return settle_duplicates(records, scored, stats, auto_threshold=auto_threshold,
                             review_threshold=review_threshold, decisions=decisions,
                             activity_counts=activity_counts, previous_canonical=previous_canonical,
                             returning=returning, held=held, evidence_places=evidence_places)


def rank_suggestions(suggestions: pd.DataFrame, activity_counts: pd.Series | None) -> pd.DataFrame:
    """Suggestions most activities affected first (both records' activities), then by score, so a team
    working down the queue settles first what moves the most activities.

    >>> s = pd.DataFrame({"left_org_id": ["a", "b"], "right_org_id": ["c", "d"], "score": [0.9, 0.8]})
    >>> rank_suggestions(s, pd.Series({"d": 5}))["left_org_id"].tolist()
    ['b', 'a']
    """
    if activity_counts is None or suggestions.empty:
        return suggestions
    counts = activity_counts.astype(np.int64)
    affected = (counts.reindex(suggestions["left_org_id"]).fillna(0).to_numpy()
                + counts.reindex(suggestions["right_org_id"]).fillna(0).to_numpy())
    order = np.lexsort((suggestions["right_org_id"].to_numpy(dtype=object).astype(str),
                        suggestions["left_org_id"].to_numpy(dtype=object).astype(str),
                        -suggestions["score"].to_numpy(), -affected))
    return suggestions.iloc[order].reset_index(drop=True)


def settle_duplicates(records: pd.DataFrame, scored: pd.DataFrame, stats: dict, *, auto_threshold: float,
                      review_threshold: float, decisions: pd.DataFrame | None = None,
                      activity_counts: pd.Series | None = None, previous_canonical=None, returning=None,
                      held=None, evidence_places: pd.DataFrame | None = None) -> Resolution:
    """From scored pairs to clusters, survivors, the id map and the suggestions (record ids are unique:
    ingest quarantines repeated ids). ``returning`` ids get their canonical id back (``choose_survivors``);
    pairs with a ``held`` id (reused for another unit) are never merged automatically, only suggested;
    ``evidence_places`` (``core.evidence.place_evidence``) weigh the suggestions (``dedupe.review_queue``)."""
    stats = dict(stats)
    rid_of = pd.Index(records["org_id"].to_numpy(dtype=object))
    unsure = uncorroborated(records, scored, auto_threshold)
    hold = _touching(scored, records, held) | unsure
    roots, edges, review = cluster_pairs(len(records), _held_back(scored, hold, auto_threshold),
                                         auto_threshold, review_threshold,
                                         _decision_rids(decisions, "match", rid_of),
                                         _decision_rids(decisions, "distinct", rid_of),
                                         tuple(records[c].to_numpy() for c in ("region_best", "prefecture_best",
                                                                               "province_best")))
    survivor = choose_survivors(records, roots, activity_counts, previous_canonical, returning)
    how = how_merged(len(records), edges, survivor)
    ids = records["org_id"].to_numpy()
    id_map = pd.DataFrame({"source_org_id": ids, "canonical_org_id": ids[survivor.to_numpy()], "how": how})
    # the review pairs' evidence: first narrowed by left end (a join over three million pairs took a second)
    ends = np.zeros(len(records), dtype=bool)
    ends[review["rid_l"].to_numpy(np.int64)] = True
    evidence = scored[ends[scored["rid_l"].to_numpy(np.int64)]].drop(columns=["score"])
    review = review.merge(evidence, on=["rid_l", "rid_r"], how="left").assign(score=review["score"].to_numpy())
    if hold.any() and len(review):  # a held pair is suggested with its own score, not the capped one
        own = scored.set_index(["rid_l", "rid_r"])["score"]
        review["score"] = own.reindex(pd.MultiIndex.from_frame(review[["rid_l", "rid_r"]])).fillna(
            review["score"]).to_numpy()
    review["explanation"] = explain_pairs(records, review)
    if len(review):  # strong enough to merge, held back: no second witness, or another unit fits as well
        strong = review["score"].to_numpy() >= auto_threshold
        named_only = pd.MultiIndex.from_frame(review[["rid_l", "rid_r"]]).isin(
            pd.MultiIndex.from_frame(scored.loc[unsure, ["rid_l", "rid_r"]]))
        review.loc[strong & named_only, "explanation"] += "；" + HELD_NOTE
        review.loc[strong & ~named_only, "explanation"] += "；但它与另一个不能合并的单位同样相符，未自动合并，请人工确认"
    review = weigh_review(records, evidence_places, review)
    suggestions = pd.DataFrame({"left_org_id": ids[review["rid_l"].to_numpy().astype(int)],
                                "right_org_id": ids[review["rid_r"].to_numpy().astype(int)],
                                "score": review["score"].round(4), "explanation": review["explanation"]})
    # short forms (南林科协 for 南京林业大学科协) share no blocking key: paired apart, always for a person
    short = short_form_suggestions(records, roots, review, _decision_rids(decisions, "distinct", rid_of))
    if len(short):
        suggestions = pd.concat([suggestions, short], ignore_index=True)
    suggestions = rank_suggestions(suggestions, activity_counts)
    stats.update({"auto_merged_records": int((how == "auto").sum()),
                  "reviewed_merged_records": int((how == "reviewed").sum()),
                  "canonical": int(np.unique(roots).size), "suggestions": len(suggestions),
                  "score_histogram": np.histogram(scored["score"], bins=20, range=(0, 1))[0].tolist()})
    return Resolution(id_map, suggestions, scored, stats)
