import subprocess
import sys

import pandas as pd
import pytest

from core.schema import EXPORT_COLUMNS
from core.snapshot import suggestions_with_status, write_export
from core.store import SERVED_FRAMES, IncompleteSnapshot, Store
from tests.conftest import ROOT


def frames(tag: str) -> dict:
    return {"organizations": pd.DataFrame({"org_id": [tag], "name": ["x"], "category": ["其他"], "region_code": [""],
                                           "parent_id": [""], "province_code": [""], "aliases": [""]}),
            "id_map": pd.DataFrame({"source_org_id": [tag], "canonical_org_id": [tag], "how": ["same"]}),
            "records": pd.DataFrame({"org_id": [tag], "name": ["x"]}),
            "activity_visibility": pd.DataFrame({"activity_id": [], "canonical_org_id": [], "province_code": []}),
            "rollup": pd.DataFrame({"org_id": [tag], "organizations": [1], "activities": [0]}),
            "merge_suggestions": pd.DataFrame({"left_org_id": [], "right_org_id": [], "score": []})}


def test_publish_rollback_and_prune(tmp_path):
    store = Store(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert store.live_snapshot() is None
    for tag in "abc":
        store.publish(frames(tag), None, {"n": 1})
    assert store.live_snapshot().version == 3
    assert store.rollback().version == 2
    assert store.live_snapshot().frame("id_map")["source_org_id"][0] == "b"
    store.publish(frames("d"), None, {})
    removed = store.prune(keep=2)
    assert len(removed) == 2 and store.live_snapshot().frame("id_map")["source_org_id"][0] == "d"


def test_a_failing_publish_leaves_the_last_snapshot_live(tmp_path):
    store = Store(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.publish(frames("good"), None, {})
    bad = frames("bad")
    bad["broken"] = object()  # not a DataFrame: writing it fails half-way through the folder
    with pytest.raises(AttributeError):
        store.publish(bad, None, {})
    assert store.live_snapshot().frame("id_map")["source_org_id"][0] == "good"
    assert not [p for p in (tmp_path / "snapshots").iterdir() if p.name.startswith(".tmp")]


def test_a_snapshot_without_a_frame_the_service_reads_is_never_made_live(tmp_path):
    store = Store(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.publish(frames("good"), None, {})
    for name in SERVED_FRAMES:
        partial = {k: v for k, v in frames("bad").items() if k != name}
        with pytest.raises(IncompleteSnapshot, match=f"快照缺少 {name}"):
            store.publish(partial, None, {})
    assert store.live_snapshot().version == 1
    assert [p.name for p in (tmp_path / "snapshots").iterdir()] == ["v00001"]
    # a frame left out but present in the snapshot it is based on is linked from there
    assert store.publish({"id_map": frames("next")["id_map"]}, None, {},
                         unchanged_from=store.live_snapshot()).missing_frames() == []


def test_a_publish_killed_before_commit_leaves_a_consistent_state(tmp_path):
    # the child writes a snapshot folder and dies (SIGKILL) before the live pointer moves
    db = tmp_path / "db.sqlite"
    Store(tmp_path, f"sqlite:///{db}").publish(frames("good"), None, {})
    code = f"""
import os, signal, pandas as pd
from core.store import Store
import core.live as s
from tests.test_store import frames
store = Store({str(tmp_path)!r}, "sqlite:///{db}")
s._fsync_dir = lambda path: os.kill(os.getpid(), signal.SIGKILL)
store.publish(frames("bad"), None, {{}})
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT)
    assert proc.returncode == -9
    store = Store(tmp_path, f"sqlite:///{db}")
    assert store.live_snapshot().frame("id_map")["source_org_id"][0] == "good"
    store.prune(keep=5)
    assert [p.name for p in (tmp_path / "snapshots").iterdir()] == ["v00001"]
    store.publish(frames("next"), None, {})
    assert store.live_snapshot().version == 2


def test_export_writes_the_contract_columns_exactly(tmp_path):
    f = {"organizations": pd.DataFrame({c: ["1"] for c in EXPORT_COLUMNS["organizations.csv"]}).assign(extra=1),
         "id_map": pd.DataFrame({"source_org_id": ["1"], "canonical_org_id": ["1"], "how": ["same"]}),
         "merge_suggestions": pd.DataFrame({"left_org_id": ["1"], "right_org_id": ["2"], "score": [0.8],
                                            "status": ["pending"], "explanation": ["x"]}),
         "activity_visibility": pd.DataFrame({"activity_id": ["a"], "canonical_org_id": ["1"],
                                              "province_code": ["440000"], "basis": ["x"]})}
    write_export(f, tmp_path)
    for name, cols in EXPORT_COLUMNS.items():
        assert pd.read_csv(tmp_path / name, dtype=str).columns.tolist() == cols


def test_decided_pairs_replace_pending_ones():
    sugg = pd.DataFrame({"left_org_id": ["1", "3"], "right_org_id": ["2", "4"], "score": [0.8, 0.75],
                         "explanation": ["", ""]})
    dec = pd.DataFrame({"left_org_id": ["2"], "right_org_id": ["1"], "decision": ["distinct"]})
    out = suggestions_with_status(sugg, dec)
    assert sorted(zip(out["left_org_id"], out["status"])) == [("2", "rejected"), ("3", "pending")]
