"""The live state: compare-and-swap publishes, atomic decisions on an overlay, idempotent retries, leases
and retention. Every test runs on SQLite and on PostgreSQL (``db_url``)."""
import pandas as pd
import pytest

from core.decisions import Fact
from core.live import LiveMoved
from core.overlay import OverlayOp
from core.store import DecisionConflict, Store


def frames(*units: str) -> dict:
    """Two source records per unit (``a`` → a1, a2, the first the survivor... unless merged); one activity each."""
    ids = [u + "1" for u in units] + [u + "2" for u in units]
    return {
        "organizations": pd.DataFrame({"org_id": ids, "name": ids, "category": "其他", "region_code": "440100",
                                       "parent_id": "", "province_code": "440000", "aliases": "", "certified": False,
                                       "members": 1, "reason": "", "confidence": 1.0, "needs_review": False}),
        "id_map": pd.DataFrame({"source_org_id": ids, "canonical_org_id": ids, "how": "same"}),
        "merge_suggestions": pd.DataFrame({"left_org_id": [u + "1" for u in units],
                                           "right_org_id": [u + "2" for u in units], "score": 0.8,
                                           "explanation": "", "status": "pending"}),
        "activity_visibility": pd.DataFrame({"activity_id": ["act-" + i for i in ids], "canonical_org_id": ids,
                                             "province_code": "440000", "org_id": ids}),
        "records": pd.DataFrame({"org_id": ids, "name": ids}),
        "rollup": pd.DataFrame({"org_id": ids, "organizations": 1, "activities": 1}),
        "parent_changes": pd.DataFrame({"org_id": [], "old_parent": [], "new_parent": []}),
    }


@pytest.fixture
def store(tmp_path, db_url):
    s = Store(tmp_path / "home", db_url)
    yield s
    s.engine.dispose()


def canonical(store, source: str) -> str:
    return store.live_snapshot().frame("id_map").set_index("source_org_id").loc[source, "canonical_org_id"]


def status_of(store, left: str, right: str) -> str:
    s = store.live_snapshot().frame("merge_suggestions")
    return s[(s["left_org_id"] == left) & (s["right_org_id"] == right)]["status"].iloc[0]


def test_a_decision_is_an_overlay_applied_on_load_not_a_copy(store):
    store.publish(frames("a", "b"), 1, {})
    before = sorted(p.name for p in store.snapshots_dir.iterdir())
    receipt = store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")])
    assert sorted(p.name for p in store.snapshots_dir.iterdir()) == before  # no new snapshot folder
    assert canonical(store, "a2") == "a1" and status_of(store, "a1", "a2") == "accepted"
    assert store.live_snapshot().base_frame("id_map").set_index("source_org_id").loc["a2", "canonical_org_id"] == "a2"
    state = store.live_state()
    assert receipt.generation == state.generation == 2 and state.label == "v1+1"


def test_fact_audit_and_live_state_commit_together_or_not_at_all(store, monkeypatch):
    store.publish(frames("a"), 1, {})

    def crash(*args, **kwargs):
        raise OSError("磁盘已满")

    monkeypatch.setattr(Store, "bump_live", crash)
    with pytest.raises(OSError):
        store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")])
    monkeypatch.undo()
    assert store.decisions_frame().empty and store.audit_entries() == [] and store.overlay_ops() == []
    assert canonical(store, "a2") == "a2" and store.live_state().generation == 1
    # the retry after the failure goes through (no 409 for a decision that never happened)
    store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")])
    assert canonical(store, "a2") == "a1" and len(store.audit_entries()) == 1


def test_retries_are_idempotent(store):
    store.publish(frames("a", "b"), 1, {})
    first = store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")], request_key="k-1",
                                  result={"id": "a1-a2"})
    again = store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")], request_key="k-1",
                                  result={"id": "a1-a2"})
    assert again.replayed and again.result == first.result and len(store.decisions_frame()) == 1
    # no key: the same person sending the same decision again is told it is done
    same = store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")])
    assert same.replayed and store.live_state().generation == first.generation
    with pytest.raises(DecisionConflict, match="rev"):
        store.commit_decision("bob", facts=[Fact("a1", "a2", "distinct")])
    assert len(store.overlay_ops()) == 1


def test_a_decision_checked_on_a_state_that_moved_on_fails_cleanly(store):
    store.publish(frames("a", "b"), 1, {})
    seen = store.live_state().generation
    store.commit_decision("bob", facts=[Fact("b1", "b2", "distinct")])
    with pytest.raises(LiveMoved):
        store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")], expected=seen)
    assert store.active_decision("a1", "a2") is None and len(store.overlay_ops()) == 1


def test_a_nightly_built_on_a_snapshot_that_is_no_longer_live_is_not_published(store):
    store.publish(frames("a"), 1, {})
    store.publish(frames("a"), 2, {}, built_from=1)
    with pytest.raises(LiveMoved, match="v2"):
        store.publish(frames("b"), 3, {}, built_from=1)
    assert store.live_state().version == 2
    assert not [p for p in store.snapshots_dir.iterdir() if p.name.startswith(".tmp")]


def test_decisions_after_the_nightly_read_them_stay_on_top_of_its_snapshot(store):
    store.publish(frames("a", "b"), 1, {})
    store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")])
    decisions, _, folded = store.decisions_with_watermark()  # the nightly reads the facts ...
    assert len(decisions) == 1
    store.commit_decision("rev", facts=[Fact("b1", "b2", "distinct")])  # ... one more arrives meanwhile
    nightly = frames("a", "b")  # the nightly's result contains the first decision, not the late one
    nightly["id_map"].loc[nightly["id_map"]["source_org_id"] == "a2", ["canonical_org_id", "how"]] = ["a1", "reviewed"]
    store.publish(nightly, 2, {}, built_from=1, folded_upto=folded)
    snap = store.live_snapshot()
    assert snap.version == 2 and [op.kind for op in snap.ops] == ["distinct"]  # the late one, re-applied
    assert canonical(store, "a2") == "a1" and status_of(store, "b1", "b2") == "rejected"


def test_rollback_returns_to_the_previous_nightly_with_every_decision_applied(store):
    store.publish(frames("a", "b"), 1, {})
    store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")])
    _, _, folded = store.decisions_with_watermark()
    store.publish(frames("a", "b"), 2, {}, built_from=1, folded_upto=folded)
    store.commit_decision("rev", facts=[Fact("b1", "b2", "match", "b1")])
    snap = store.rollback(expected=store.live_state().generation)
    assert snap.version == 1 and canonical(store, "a2") == "a1" and canonical(store, "b2") == "b1"
    with pytest.raises(LiveMoved):
        store.rollback(expected=1)


def test_unmerge_and_correction_are_overlay_operations_too(store):
    store.publish(frames("a"), 1, {})
    did = store.decide("a1", "a2", "match", "rev", "a1")
    assert canonical(store, "a2") == "a1"
    store.commit_decision("adm", facts=[Fact("a2", "a1", "distinct")], withdraw=[did],
                          ops=[OverlayOp("unmerge", "a2", "a1")])
    assert canonical(store, "a2") == "a2" and store.active_decision("a1", "a2")["decision"] == "distinct"
    store.commit_decision("rev", correct=("a1", {"name": "甲单位"}),
                          ops=[OverlayOp("correct", "a1", "a1", payload={"fields": {"name": "甲单位"}})])
    orgs = store.live_snapshot().frame("organizations").set_index("org_id")
    assert orgs.at["a1", "name"] == "甲单位" and store.corrections_frame()["value"].tolist() == ["甲单位"]
    assert [op.kind for op in store.overlay_ops()] == ["match", "unmerge", "correct"]


def test_prune_never_removes_what_is_live_or_held(store):
    for run in range(1, 6):
        store.publish(frames("a"), run, {})
    store.hold("serve:host:1", 1, seconds=60)  # a serving process still answers from v1
    store.hold("nightly:run-9", 2, seconds=-1)  # a lease that ran out (its process died)
    store.rollback()  # v4 is live now; v5 is newer than it
    store.prune(keep=2)
    kept = sorted(int(p.name[1:]) for p in store.snapshots_dir.iterdir())
    assert kept == [1, 4, 5] and store.live_state().version == 4
    store.release("serve:host:1")
    store.prune(keep=2)
    assert sorted(int(p.name[1:]) for p in store.snapshots_dir.iterdir()) == [4, 5]


def test_prune_drops_overlay_operations_every_kept_snapshot_contains(store):
    store.publish(frames("a", "b"), 1, {})
    store.commit_decision("rev", facts=[Fact("a1", "a2", "match", "a1")])
    for run in (2, 3):
        _, _, folded = store.decisions_with_watermark()
        store.publish(frames("a", "b"), run, {}, built_from=run - 1, folded_upto=folded)
    store.commit_decision("rev", facts=[Fact("b1", "b2", "distinct")])
    store.prune(keep=2)
    assert [op.kind for op in store.overlay_ops()] == ["distinct"]
    assert [op.kind for op in store.live_snapshot().ops] == ["distinct"]


def test_an_older_home_gets_the_new_columns(tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.db'}"
    with sa.create_engine(url).begin() as c:
        c.execute(sa.text("CREATE TABLE live (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, previous INTEGER, "
                          "updated_at DATETIME)"))
        c.execute(sa.text("INSERT INTO live VALUES (1, 1, NULL, NULL)"))
    store = Store(tmp_path / "home", url)
    cols = {c["name"] for c in sa.inspect(store.engine).get_columns("live")}
    assert "generation" in cols
    store.publish(frames("a"), 1, {})
    assert store.live_state().generation == 1

