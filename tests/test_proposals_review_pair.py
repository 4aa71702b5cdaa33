"""An accepted 组织入驻 unit whose record in a later export scores only at review level (not at the
automatic-merge threshold): the two stay separate units, the proposal id stays canonical, and the pair
waits as a review suggestion; once a person says they match, the export's id is canonical and the
proposal id resolves to it."""
import pandas as pd
import pytest

from core.config import load_settings
from core.proposals import linked_proposals, proposal_records
from flows.pipeline import read_inputs, run_pipeline
from tests import newunit_fixture

PROPOSAL = {"org_id": "RZ00000001", "name": "广州市海珠区青少年航模科普馆", "category": "科普教育基地",
            "region_code": "440105", "parent_id": "hz", "created_at": None}
EXPORT_ID = "999000001"


def night(tmp_path, export_name: str, decisions: pd.DataFrame | None = None):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(newunit_fixture, "REGISTRY", newunit_fixture.REGISTRY + [
            (EXPORT_ID, export_name, "科普教育基地", "440105", "是")])
        registry, activities = newunit_fixture.write(tmp_path / "input")
    settings = load_settings(home=tmp_path)
    frames = run_pipeline(read_inputs(registry, activities), None, settings, decisions,
                          proposals=proposal_records([PROPOSAL])).frames
    return settings, frames


@pytest.mark.parametrize("export_name", ["广州市海珠区青少年航模科技馆", "广州市海珠区青少年航模科普展馆"])
def test_a_review_level_export_record_is_a_suggestion_and_the_proposal_stays_canonical(tmp_path, export_name):
    settings, frames = night(tmp_path, export_name)
    id_map = frames["id_map"].set_index("source_org_id")["canonical_org_id"]
    assert id_map[PROPOSAL["org_id"]] == PROPOSAL["org_id"] and id_map[EXPORT_ID] == EXPORT_ID
    assert linked_proposals(frames["id_map"]) == {}
    pairs = frames["merge_suggestions"]
    pair = pairs[pairs[["left_org_id", "right_org_id"]].apply(set, axis=1) == {PROPOSAL["org_id"], EXPORT_ID}]
    assert len(pair) == 1 and pair["status"].iloc[0] == "pending"
    assert settings.review_threshold <= float(pair["score"].iloc[0]) < settings.auto_merge_threshold

    # a person merges them: the export's record survives and the proposal id resolves to it
    match = pd.DataFrame([{"left_org_id": PROPOSAL["org_id"], "right_org_id": EXPORT_ID, "decision": "match"}])
    _, merged = night(tmp_path / "after", export_name, match)
    id_map = merged["id_map"].set_index("source_org_id")["canonical_org_id"]
    assert id_map[PROPOSAL["org_id"]] == EXPORT_ID and id_map[EXPORT_ID] == EXPORT_ID
    assert linked_proposals(merged["id_map"]) == {PROPOSAL["org_id"]: EXPORT_ID}
