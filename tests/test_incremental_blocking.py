"""Blocking only the changed records must give exactly the candidate pairs of blocking them all, and
reuse every last-run score that still holds, with the pair it belongs to."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.checks import check_registry
from core.sources import RawTable
from core.records import prepare_changed, previous_positions
from dedupe.blocking import blocked_pairs
from dedupe.incremental import candidate_pairs, fresh_records, incremental_pairs, previous_rows
from dedupe.typos import correct_common_heads
from tests.test_incremental_hierarchy import _edits


def _prepared(raw: pd.DataFrame, regions, previous=None):
    raw = raw.assign(_row=np.arange(1, len(raw) + 1))
    table = RawTable(raw, Path("r"), "utf-8", "", [])
    return prepare_changed(check_registry(table, regions).clean, regions, previous)


def _tagged(pairs: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Pairs as a snapshot stores them, with a ``tag`` naming the pair in place of the scores."""
    ids = records["org_id"].to_numpy(dtype=object)
    left, right = ids[pairs["rid_l"]], ids[pairs["rid_r"]]
    return pairs.assign(org_id_l=left, org_id_r=right,
                        tag=[f"{min(a, b)}|{max(a, b)}" for a, b in zip(left.tolist(), right.tolist())])


@pytest.mark.parametrize("max_block", [100, 3])  # 3: most blocks are split by prefecture and province
@pytest.mark.parametrize("kind", ["renamed", "moved", "reparented", "associations", "reordered", "new ids", "retyped",
                                  "relocated", "removed", "added"])
def test_blocking_only_what_changed_equals_blocking_everything(regions, sample_raw, kind, max_block):
    typed0, _ = _prepared(sample_raw, regions)
    records0 = correct_common_heads(typed0)
    pairs0, _, keys0 = blocked_pairs(records0, max_block)
    scored0 = _tagged(pairs0, records0)

    typed1, changed = _prepared(_edits(sample_raw, kind, np.random.default_rng(7)), regions, typed0)
    records1 = correct_common_heads(typed1)
    typed_heads = typed1["name_head"].to_numpy(dtype=object)
    now_of = previous_rows(records1, typed0)
    # the same, turned round from normalisation's lookup of each record's row last run
    at = previous_positions(records1["org_id"], typed0)
    assert (previous_rows(records1, typed0, at) == now_of).all()
    fresh = fresh_records(records1, changed, typed0, typed_heads, now_of)
    # comparing only what changed finds the heads comparing every record finds
    assert (fresh == fresh_records(records1, changed, typed0, typed_heads)).all()
    assert fresh.sum() < len(records1)
    todo, got_stats, keys1, reused = incremental_pairs(records1, max_block, fresh, keys0, scored0, now_of)
    want, want_stats, want_keys = blocked_pairs(records1, max_block)
    got = list(zip(todo["rid_l"], todo["rid_r"])) + list(zip(reused["rid_l"], reused["rid_r"]))
    assert len(got) == len(set(got)) and sorted(got) == sorted(zip(want["rid_l"], want["rid_r"]))
    assert got_stats == want_stats
    # a reused score is last run's score of that very pair, and only pairs without a fresh end reuse
    ids = records1["org_id"].to_numpy(dtype=object)
    assert list(reused["tag"]) == [f"{min(a, b)}|{max(a, b)}" for a, b in zip(ids[reused["rid_l"]], ids[reused["rid_r"]])]
    assert not (fresh[reused["rid_l"]] | fresh[reused["rid_r"]]).any()
    # and every such pair scored last run is reused
    ids0 = set(scored0["tag"])
    rescored = [(a, b) for a, b in zip(todo["rid_l"], todo["rid_r"])
                if not fresh[a] and not fresh[b] and f"{min(ids[a], ids[b])}|{max(ids[a], ids[b])}" in ids0]
    assert rescored == []
    # what the next run will start from: the keys and blocks of every record, as a full run stores them
    assert sorted(keys1.itertuples(index=False)) == sorted(want_keys.itertuples(index=False))


def _named(heads, places, ids):
    n = len(heads)
    return pd.DataFrame({"org_id": ids, "name_head": heads, "name_suffix": [""] * n, "place_token": [""] * n,
                         "name_region_code": [""] * n, "region_text": [""] * n, "region_best": places,
                         "prefecture_best": [p[:4] + "00" for p in places], "province_best": [p[:2] + "0000" for p in places]})


def test_reused_scores_follow_their_records_whatever_the_row_order_and_never_a_changed_record():
    before = _named(["星辰计算研究所"] * 4, ["110101"] * 4, ["D", "C", "B", "A"])
    pairs, _, _, keys = candidate_pairs(before, 100)
    scored = _tagged(pairs, before)
    now = before.iloc[[3, 2, 1, 0]].reset_index(drop=True)  # A, B, C, D: every row moved
    changed = np.array([False, False, False, True])  # D changed (same name, so still in the block)
    todo, stats, reused, _ = candidate_pairs(now, 100, changed, before, scored, keys, now["name_head"].to_numpy())
    assert sorted(reused["tag"]) == ["A|B", "A|C", "B|C"]
    ids = now["org_id"].to_numpy()
    assert sorted(f"{ids[a]}|{ids[b]}" for a, b in zip(reused["rid_l"], reused["rid_r"])) == ["A|B", "A|C", "B|C"]
    assert sorted(zip(todo["rid_l"], todo["rid_r"])) == [(0, 3), (1, 3), (2, 3)]
    assert stats["pairs_reused"] == 3 and stats["pairs_scored"] == 3
    # the head now found in another place: whether it is ambiguous changed, so every pair is scored again
    grown = pd.concat([now, _named(["星辰计算研究所"], ["120101"], ["E"])], ignore_index=True)
    todo, _, reused, _ = candidate_pairs(grown, 100, np.array([False] * 4 + [True]), before, scored, keys,
                                         grown["name_head"].to_numpy())
    assert len(reused) == 0 and len(todo) == 6


def test_a_record_whose_typed_head_changed_places_is_fresh_even_if_its_corrected_head_did_not():
    # A typed 青少年官 (corrected to 青少年宫); last run A's typed head was the only one at that place
    records = _named(["青少年宫"] * 3, ["110101", "110102", "110101"], ["A", "B", "D"])
    previous = records.assign(name_head=["青少年官", "青少年宫", "青少年宫"])
    unchanged = np.zeros(3, dtype=bool)
    now_of = previous_rows(records, previous)
    assert not fresh_records(records, unchanged, previous).any()  # by corrected heads alone nothing moved
    typed = np.array(["青少年官", "青少年宫", "青少年宫"], dtype=object)
    for where in (None, now_of):
        assert fresh_records(records, unchanged, previous, typed, where).tolist() == [True, False, False]


def test_repeated_ids_block_everything_again():
    before = _named(["星辰计算研究所"] * 2, ["110101"] * 2, ["A", "B"])
    pairs, _, _, keys = candidate_pairs(before, 100)
    now = _named(["星辰计算研究所"] * 3, ["110101"] * 3, ["A", "B", "B"])
    todo, _, reused, _ = candidate_pairs(now, 100, np.zeros(3, dtype=bool), before, _tagged(pairs, before), keys)
    assert len(reused) == 0 and len(todo) == 3
