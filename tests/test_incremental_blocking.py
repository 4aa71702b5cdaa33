"""Blocking only the changed records must give exactly the candidate pairs of blocking them all."""
import numpy as np
import pandas as pd
import pytest

from core.checks import check_registry
from core.records import prepare_changed
from dedupe.blocking import block_pairs, record_keys
from dedupe.incremental import fresh_records, incremental_pairs, keys_of
from dedupe.typos import correct_common_heads
from tests.test_incremental_hierarchy import _edits


def _prepared(raw: pd.DataFrame, regions, previous=None):
    raw = raw.assign(_row=np.arange(1, len(raw) + 1))
    table = type("T", (), {"frame": raw, "path": "r", "unparsable": []})()
    return prepare_changed(check_registry(table, regions).clean, regions, previous)


@pytest.mark.parametrize("max_block", [100, 3])  # 3: most blocks are split by prefecture and province
@pytest.mark.parametrize("kind", ["renamed", "moved", "reparented", "associations", "reordered", "new ids", "retyped",
                                  "relocated", "removed", "added"])
def test_blocking_only_what_changed_equals_blocking_everything(regions, sample_raw, kind, max_block):
    typed0, _ = _prepared(sample_raw, regions)
    records0 = correct_common_heads(typed0)
    long0 = record_keys(records0)
    pairs0, _ = block_pairs(records0, max_block, long0)
    ids0 = records0["org_id"].to_numpy(dtype=object)
    scored0 = pd.DataFrame({"org_id_l": ids0[pairs0["rid_l"]], "org_id_r": ids0[pairs0["rid_r"]]})

    typed1, changed = _prepared(_edits(sample_raw, kind, np.random.default_rng(7)), regions, typed0)
    records1 = correct_common_heads(typed1)
    fresh = fresh_records(records1, changed, typed0, typed1["name_head"].to_numpy(dtype=object))
    assert fresh.sum() < len(records1)
    got, got_stats, long1 = incremental_pairs(records1, max_block, fresh, keys_of(long0, records0), typed0, scored0)
    want, want_stats = block_pairs(records1, max_block)
    assert sorted(zip(got["rid_l"], got["rid_r"])) == sorted(zip(want["rid_l"], want["rid_r"]))
    assert got_stats == want_stats
    # what the next run will start from: the keys of every record, as a full run would store them
    a, b = keys_of(long1, records1), keys_of(record_keys(records1), records1)
    assert sorted(zip(a["key"], a["org"])) == sorted(zip(b["key"], b["org"]))
