import pandas as pd
from sqlalchemy import text
import pytest

from core.sources import InputRejected
from core.store import open_store
from core.config import load_settings
from flows.nightly import nightly
from tests.conftest import SAMPLE
from tests.flows.conftest import run

pytestmark = pytest.mark.flow


def test_the_sample_runs_end_to_end(first_run):
    home, result = first_run
    assert result["status"] == "succeeded" and result["snapshot_version"] == 1
    c = result["counts"]
    assert c["registry_kept"] + c["registry_quarantined"] == c["registry_rows"] == 3556
    assert c["auto_merged"] > 300 and c["canonical_orgs"] < 3521
    report = (home / "runs" / "00001" / "report.html").read_text(encoding="utf-8")
    for words in ("组织库夜间清洗报告", "成功，已发布", "各省管理员可见的活动", "Data Docs", "scores.png"):
        assert words in report
    for suite in ("registry_raw", "activities_raw", "snapshot"):  # each suite's Data Docs, linked from the report
        assert (home / "runs" / "00001" / "data_docs" / suite / "index.html").exists()
        assert f'href="data_docs/{suite}/index.html"' in report
    assert (home / "runs" / "00001" / "quarantine.csv").exists()
    run_row = open_store(load_settings(home=home)).recent_runs(5)[-1]
    assert len(run_row["inputs"]["registry_sha256"]) == 64 and run_row["inputs"]["registry_rows"] == 3556


def test_artifacts_are_published(first_run):
    from prefect.artifacts import Artifact

    summary = Artifact.get("nightly-summary")
    assert summary is not None and "canonical_orgs" in summary.data
    assert Artifact.get("nightly-report") is not None


def test_the_snapshot_is_live_and_exports(first_run, tmp_path):
    from core.snapshot import write_export

    home, result = first_run
    snap = open_store(load_settings(home=home)).live_snapshot()
    frames = {n: snap.frame(n) for n in ("organizations", "id_map", "merge_suggestions", "activity_visibility")}
    write_export(frames, tmp_path)
    id_map = pd.read_csv(tmp_path / "id_map.csv", dtype=str)
    assert len(id_map) == 3556 and set(id_map["how"]) <= {"same", "auto", "reviewed"}


def test_same_input_gives_the_same_snapshot(first_run, home):
    result = first_run[1]
    again = run(home)
    store = open_store(load_settings(home=home))
    live = store.live_snapshot()
    assert again["snapshot_version"] == live.version == result["snapshot_version"] + 1
    first = open_store(load_settings(home=first_run[0])).live_snapshot().frame("id_map")
    pd.testing.assert_frame_equal(first, live.frame("id_map"))


STAGES = [("ingest", "flows.pipeline.read_table"), ("validate_input", "flows.pipeline.check_registry"),
          ("normalise", "flows.pipeline.prepare_changed"), ("duplicates", "flows.pipeline.settle_duplicates"),
          ("hierarchy", "flows.pipeline.rebuild_organizations"), ("visibility", "flows.pipeline.assign_activities"),
          ("validate_result", "flows.tasks.validate_snapshot"), ("publish", "core.store.Store.publish")]


@pytest.mark.parametrize("stage, target", STAGES, ids=[s for s, _ in STAGES])
def test_a_failure_in_any_stage_publishes_nothing(home, tmp_path, monkeypatch, stage, target):
    store = open_store(load_settings(home=home))
    before = store.live_snapshot().version

    def boom(*a, **k):
        raise RuntimeError(f"注入的故障：{stage}")

    monkeypatch.setattr(target, boom)
    with pytest.raises(Exception, match="注入的故障"):
        run(home)
    assert store.live_snapshot().version == before
    last = store.recent_runs(1)[0]
    assert last["status"] == "failed" and stage in last["error"]
    assert "失败，未发布" in (home / "runs" / f"{last['id']:05d}" / "report.html").read_text(encoding="utf-8")
    # nor does the failed run leave its parent changes on record
    with store.engine.connect() as c:
        assert c.execute(text("select count(*) from parent_changes where run_id = :r"), {"r": last["id"]}).scalar() == 0
    assert not (home / "runs" / f"{last['id']:05d}" / "parent_changes.csv").exists()


def test_rejected_input_says_why_and_keeps_the_snapshot(home, tmp_path):
    bad = tmp_path / "registry.csv"
    bad.write_text("组织名称,组织类别\n广州市科协,市级科协\n", encoding="utf-8")
    with pytest.raises(InputRejected, match="缺少必需的列 org_id"):
        run(home, registry=bad)
    store = open_store(load_settings(home=home))
    assert store.recent_runs(1)[0]["status"] == "rejected" and store.live_snapshot() is not None


def test_an_incremental_run_equals_a_full_run(home, tmp_path):
    registry = pd.read_csv(SAMPLE / "registry.csv", dtype=str, keep_default_na=False)
    changed = registry.sample(frac=0.03, random_state=1).index
    registry.loc[changed[:40], "name"] = registry.loc[changed[:40], "name"] + "（新）"
    expected = 40 + int((registry.loc[changed[40:80], "region_code"] != "").sum()) + 10
    registry.loc[changed[40:80], "region_code"] = ""
    registry = pd.concat([registry.drop(changed[80:90]), registry.loc[changed[80:90]].assign(
        org_id=lambda d: d["org_id"] + "9")]).sample(frac=1.0, random_state=2)  # new ids, rows reordered
    path = tmp_path / "registry.csv"
    registry.to_csv(path, index=False)
    incremental = run(home, registry=path)
    store = open_store(load_settings(home=home))
    inc = store.live_snapshot()
    assert inc.cache_meta()["incremental"] and incremental["dedupe"]["pairs_reused"] > 0
    assert incremental["dedupe"]["changed_records"] == expected
    full = nightly(registry=str(path), activities=str(SAMPLE / "activities.csv"), home=str(home), full=True)
    assert full["dedupe"]["pairs_reused"] == 0
    whole = store.live_snapshot()
    for name in ("id_map", "organizations", "merge_suggestions", "activity_visibility"):
        a, b = inc.frame(name), whole.frame(name)
        key = a.columns[0]
        pd.testing.assert_frame_equal(a.sort_values(key, ignore_index=True), b.sort_values(key, ignore_index=True))
