"""An incremental hierarchy rebuild must equal a full one, whatever changed in between."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.checks import check_registry
from core.sources import RawTable
from core.records import fingerprints, prepare_changed
from dedupe.resolve import resolve_duplicates
from hierarchy.incremental import organization_inputs, rebuild_organizations


def _resolved(raw: pd.DataFrame, regions):
    raw = raw.assign(_row=np.arange(1, len(raw) + 1))
    records, _ = prepare_changed(check_registry(RawTable(raw, Path("r"), "utf-8", "", []),
                                                regions).clean, regions, None)
    return records, resolve_duplicates(records, auto_threshold=0.92, review_threshold=0.7).id_map


def _comparable(orgs: pd.DataFrame) -> pd.DataFrame:
    out = orgs.sort_values("org_id", ignore_index=True).copy()
    for c in ("declared_parents", "raw_parents"):
        out[c] = [list(x) for x in out[c]]
    for c in out.columns:
        if out[c].dtype != bool and c not in ("declared_parents", "raw_parents", "members", "region_level",
                                              "confidence", "inputs"):
            out[c] = out[c].astype(object)
    return out


def _edits(raw: pd.DataFrame, kind: str, rng) -> pd.DataFrame:
    raw = raw.copy()
    rows = rng.choice(len(raw), 60, replace=False)
    assoc = np.flatnonzero(raw["category"].isin(["省级科协", "市级科协", "县级科协"]).to_numpy())
    if kind == "renamed":
        raw.loc[rows, "name"] = raw.loc[rows, "name"] + "（新）"
    elif kind == "moved":
        raw.loc[rows, "region_code"] = ""
    elif kind == "reparented":
        raw.loc[rows, "parent_id"] = raw["org_id"].to_numpy()[rng.choice(len(raw), len(rows))]
    elif kind == "associations":  # which 科协 stands at a place changes: units below must move
        pick = rng.choice(assoc, 5, replace=False)
        raw.loc[pick, "region_code"] = ""
        raw = raw.drop(index=rng.choice(assoc, 3, replace=False))
    elif kind == "root":
        raw = raw[raw["category"] != "中国科协"]
    elif kind == "reordered":
        raw = raw.sample(frac=1.0, random_state=3)
    elif kind == "new ids":
        raw.loc[rows, "org_id"] = raw.loc[rows, "org_id"] + "9"
    elif kind == "retyped":  # names of other units: records leave their blocks and join others
        raw.loc[rows, "name"] = raw["name"].to_numpy()[rng.choice(len(raw), len(rows))]
    elif kind == "relocated":  # places of other units: pairs cross counties, blocks split differently
        raw.loc[rows, "region_code"] = raw["region_code"].to_numpy()[rng.choice(len(raw), len(rows))]
    elif kind == "removed":
        raw = raw.drop(index=rows)
    elif kind == "added":  # copies under new ids: blocks grow past their limit
        raw = pd.concat([raw, raw.loc[rows].assign(org_id=lambda d: d["org_id"] + "8")])
    return raw.reset_index(drop=True)


@pytest.mark.parametrize("kind", ["nothing", "renamed", "moved", "reparented", "associations", "root", "reordered", "new ids",
                                  "retyped", "relocated", "removed", "added"])
def test_incremental_rebuild_equals_a_full_rebuild(regions, sample_raw, kind):
    records, id_map = _resolved(sample_raw, regions)
    before, _ = rebuild_organizations(records, id_map, regions)
    records2, id_map2 = _resolved(_edits(sample_raw, kind, np.random.default_rng(7)), regions)
    full, _ = rebuild_organizations(records2, id_map2, regions)
    # through parquet, as the next run reads it
    previous = pd.read_parquet(_roundtrip(before))
    incremental, stats = rebuild_organizations(records2, id_map2, regions, previous)
    pd.testing.assert_frame_equal(_comparable(incremental), _comparable(full))
    if kind in ("renamed", "moved", "reparented", "new ids"):
        assert stats["organizations_rebuilt"] < len(full) / 5  # it did reuse, not rebuild everything
    if kind == "root":
        assert stats["organizations_placed"] == len(full)
    if kind == "nothing":
        assert stats == {"organizations_rebuilt": 0, "organizations_placed": 0}


def _roundtrip(frame: pd.DataFrame):
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    buf.seek(0)
    return buf


def test_inputs_change_with_a_member_its_order_or_a_parent_merge_and_nothing_else(regions, prepared):
    rows = [{"org_id": "a", "name": "广州市科协", "region_code": "440100"},
            {"org_id": "b", "name": "广州市科学技术协会", "region_code": "440100"},
            {"org_id": "c", "name": "润辉水务有限公司科协", "region_code": "440111", "parent_id": "b"},
            {"org_id": "d", "name": "广东省广州市科学技术协会", "region_code": ""}]
    records = prepared(rows)
    records["fingerprint"] = fingerprints(records).to_numpy()
    id_map = pd.DataFrame({"source_org_id": list("abcd"), "canonical_org_id": list("aaca")})
    base = organization_inputs(records, id_map)
    # the survivor comes first whatever the file says; the others are read in file order
    assert organization_inputs(records.iloc[[1, 0, 2, 3]].reset_index(drop=True), id_map).equals(base)
    swapped = organization_inputs(records.iloc[[0, 3, 2, 1]].reset_index(drop=True), id_map)
    assert swapped["a"] != base["a"] and swapped["c"] == base["c"]
    prints = records["fingerprint"].to_numpy().copy()
    prints[3] += np.uint64(1)  # d was edited
    renamed = organization_inputs(records.assign(fingerprint=prints), id_map)
    assert renamed["a"] != base["a"] and renamed["c"] == base["c"]
    split = pd.DataFrame({"source_org_id": list("abcd"), "canonical_org_id": list("abca")})
    moved = organization_inputs(records, split)
    assert moved["c"] != base["c"] and moved["a"] != base["a"]  # c's declared parent b no longer maps to a
