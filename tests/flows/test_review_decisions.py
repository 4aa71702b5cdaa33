"""People's decisions survive every later nightly run."""
import pytest

from core.config import load_settings
from core.store import open_store
from flows.nightly import nightly
from serve.desk import Desk
from serve.queue import suggestion_id
from tests.review_fixture import write

pytestmark = pytest.mark.flow


def test_decisions_hold_across_nightly_runs(tmp_path):
    home = tmp_path / "home"
    registry, activities = write(tmp_path / "in")
    nightly(registry=str(registry), activities=str(activities), home=str(home))
    store = open_store(load_settings(home=home))
    desk = Desk(store)
    rev = {"name": "rev", "role": "reviewer"}
    desk.decide(suggestion_id("g1", "g2"), "accept", rev, "g1")
    desk.decide(suggestion_id("w1", "w2"), "reject", rev)
    for rename in (None, {"w2": "西湖区科学技术协会（新）", "g2": "鼓楼区科协（本级）"}):
        registry, activities = write(tmp_path / "in2", rename)
        nightly(registry=str(registry), activities=str(activities), home=str(home))
        snap = store.live_snapshot()
        id_map = snap.frame("id_map").set_index("source_org_id")
        assert id_map.loc["g2", "canonical_org_id"] == "g1" and id_map.loc["g2", "how"] == "reviewed"
        assert id_map.loc["w2", "canonical_org_id"] == "w2" and id_map.loc["w1", "canonical_org_id"] == "w1"
        s = snap.frame("merge_suggestions")
        pairs = {frozenset((a, b)): st for a, b, st in s[["left_org_id", "right_org_id", "status"]].itertuples(
            index=False)}
        assert pairs[frozenset(("w1", "w2"))] == "rejected" and pairs[frozenset(("g1", "g2"))] == "accepted"
        assert sum(1 for p, st in pairs.items() if st == "pending" and p & {"w1", "w2", "g1", "g2"}) == 0


def test_a_correction_holds_in_later_runs(tmp_path):
    home = tmp_path / "home"
    registry, activities = write(tmp_path / "in")
    nightly(registry=str(registry), activities=str(activities), home=str(home))
    store = open_store(load_settings(home=home))
    Desk(store).correct("x0", {"name": "沈阳市铁西区科学技术协会", "region_code": "210106"},
                        {"name": "rev", "role": "reviewer"})
    # placed in 沈阳 by the correction, x0 now joins x1 automatically: one unit of thirteen fewer
    nightly(registry=str(registry), activities=str(activities), home=str(home), accept_shrink=True)
    snap = store.live_snapshot()
    rec = snap.frame("records").set_index("org_id")
    assert rec.at["x0", "name"] == "沈阳市铁西区科学技术协会" and rec.at["x0", "region_code"] == "210106"
    # with its place known, the record no longer pairs with the 鞍山 and 四平 units
    pairs = {frozenset(p) for p in snap.frame("merge_suggestions")[["left_org_id", "right_org_id"]].itertuples(index=False)}
    assert frozenset(("x0", "x2")) not in pairs and frozenset(("x0", "x3")) not in pairs
    ids = snap.frame("id_map").set_index("source_org_id")["canonical_org_id"]
    assert ids["x0"] == ids["x1"]
