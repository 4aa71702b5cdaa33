"""Ids that keep resolving across nightly runs of the bundled sample: a removed unit, a removed merged id,
a survivor missing for a night, an id reused for another unit."""

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from core.config import load_settings
from core.store import open_store
from tests.conftest import SAMPLE
from tests.flows.conftest import run

pytestmark = pytest.mark.flow


def _registry():
    return pd.read_csv(SAMPLE / "registry.csv", dtype=str, keep_default_na=False)


def _publish(home, tmp_path, registry, name):
    path = tmp_path / f"{name}.csv"
    registry.to_csv(path, index=False)
    return run(home, registry=path)


def _client(home):
    from serve.app import create_app

    settings = load_settings(home=home)
    return TestClient(create_app(settings, open_store(settings), poll_seconds=0.2, min_reload_seconds=0))


def test_removed_ids_keep_answering_and_activities_keep_their_unit(home, tmp_path):
    store = open_store(load_settings(home=home))
    id_map = store.live_snapshot().frame("id_map")
    orgs = store.live_snapshot().frame("organizations").set_index("org_id")
    acts = pd.read_csv(SAMPLE / "activities.csv", dtype=str, keep_default_na=False)
    sizes = id_map["canonical_org_id"].value_counts()
    # a unit of one record that activities point at: removed entirely
    alone = [u for u in sizes[sizes == 1].index if u in set(acts["org_id"]) and orgs.at[u, "province_code"]][0]
    # a merged (non-surviving) record of a unit of two or more: removed, its unit stays
    merged = id_map[(id_map["how"] != "same") & id_map["canonical_org_id"].ne(alone)].iloc[0]
    registry = _registry()
    result = _publish(home, tmp_path, registry[~registry["org_id"].isin([alone, merged["source_org_id"]])], "cut")
    run_id = result["run_id"]
    live = store.live_snapshot()
    retired = live.frame("retired_ids").set_index("source_org_id")
    assert retired.loc[alone, "retired_in_run"] == run_id and retired.loc[alone, "now_canonical_org_id"] == ""
    assert retired.loc[merged["source_org_id"], "now_canonical_org_id"] == merged["canonical_org_id"]
    with _client(home) as client:
        gone = client.get(f"/api/orgs/{alone}").json()
        assert gone["retired"] and gone["retired_in_run"] == run_id and gone["name"] == orgs.at[alone, "name"]
        assert "已停用" in gone["note"]
        unit = client.get(f"/api/orgs/{merged['source_org_id']}").json()
        assert unit["org_id"] == merged["canonical_org_id"] and unit["retired"] and unit["merged"]
        assert client.get("/api/orgs/never-published").status_code == 404
    # its activities keep the last unit and province, flagged
    vis = live.frame("activity_visibility")
    mine = vis[vis["org_id"] == alone]
    assert len(mine) and (mine["canonical_org_id"] == alone).all()
    assert (mine["province_code"] == orgs.at[alone, "province_code"]).all()
    assert mine["basis"].str.startswith("归口单位已从组织库移除").all()
    # retired_ids.csv sits beside the contract files; id_map.csv lists only this run's records
    from core.snapshot import write_export

    frames = {n: live.frame(n) for n in ("organizations", "id_map", "merge_suggestions", "activity_visibility",
                                         "retired_ids")}
    write_export(frames, tmp_path / "export")
    exported = pd.read_csv(tmp_path / "export" / "retired_ids.csv", dtype=str)
    assert list(exported.columns) == ["source_org_id", "last_canonical_org_id", "retired_in_run"]
    assert alone in set(exported["source_org_id"])
    assert alone not in set(pd.read_csv(tmp_path / "export" / "id_map.csv", dtype=str)["source_org_id"])


def test_a_survivor_missing_for_a_night_gets_its_canonical_id_back(home, tmp_path):
    store = open_store(load_settings(home=home))
    id_map = store.live_snapshot().frame("id_map")
    registry = _registry()
    certified = set(registry.loc[registry["certified"].isin(["是", "1", "true"]), "org_id"])
    members = id_map[id_map["how"] == "auto"]
    # a unit whose members are not certified (certified outranks everything)
    unit = next(u for u in members["canonical_org_id"]
                if not (set(id_map.loc[id_map["canonical_org_id"] == u, "source_org_id"]) & certified))
    _publish(home, tmp_path, registry[registry["org_id"] != unit], "night2")
    moved = store.live_snapshot().frame("id_map").set_index("source_org_id")
    others = id_map.loc[id_map["canonical_org_id"] == unit, "source_org_id"].drop(
        id_map.index[id_map["source_org_id"] == unit])
    assert (moved.loc[others, "canonical_org_id"] != unit).all()  # the night it is missing
    _publish(home, tmp_path, registry, "night3")
    back = store.live_snapshot().frame("id_map").set_index("source_org_id")
    assert (back.loc[list(others) + [unit], "canonical_org_id"] == unit).all()


def test_an_id_reused_for_another_unit_is_flagged_and_not_merged_automatically(home, tmp_path):
    store = open_store(load_settings(home=home))
    id_map = store.live_snapshot().frame("id_map")
    registry = _registry()
    lone = id_map["canonical_org_id"].value_counts()
    twin = id_map[id_map["how"] == "auto"].iloc[0]  # a record merged automatically into a unit
    target = registry.set_index("org_id").loc[twin["canonical_org_id"]]
    victim = [u for u in lone[lone == 1].index if u != twin["canonical_org_id"]][0]
    old_name = registry.loc[registry["org_id"] == victim, "name"].iloc[0]
    # the victim's id is reused for a copy of the twin's unit, which would otherwise merge automatically
    registry.loc[registry["org_id"] == victim, ["name", "category", "region_code", "region", "parent_id"]] = \
        target[["name", "category", "region_code", "region", "parent_id"]].to_numpy()
    result = _publish(home, tmp_path, registry, "reused")
    live = store.live_snapshot()
    flagged = live.frame("reused_ids")
    assert flagged["org_id"].tolist() == [victim] and flagged["last_name"].tolist() == [old_name]
    assert result["counts"]["reused_ids"] == 1
    now = live.frame("id_map").set_index("source_org_id")
    assert now.at[victim, "canonical_org_id"] == victim  # kept out of the automatic merge ...
    pending = live.frame("merge_suggestions")
    pending = pending[pending["status"] == "pending"]
    assert ((pending["left_org_id"] == victim) | (pending["right_org_id"] == victim)).any()  # ... and suggested
    report = (home / "runs" / f"{result['run_id']:05d}" / "report.html").read_text(encoding="utf-8")
    assert "ID 被重新使用" in report and old_name in report
