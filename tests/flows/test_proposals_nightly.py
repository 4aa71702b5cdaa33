"""组织入驻 across nightly runs: an accepted proposal is carried in with its id, keeps it run after run, and
when the registry export catches up with the unit the export's id becomes canonical while the proposal id
keeps resolving to it."""
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from core.config import load_settings
from core.store import open_store
from tests.conftest import SAMPLE
from tests.flows.conftest import run

pytestmark = pytest.mark.flow
NAME, REGION = "广州市海珠区青少年航模科普馆", "440105"


def test_an_accepted_proposal_keeps_its_id_then_links_to_the_export_record(home, tmp_path):
    from serve.app import create_app

    settings = load_settings(home=home)
    store = open_store(settings)
    row = store.add_proposal({"name": NAME, "category": "科普教育基地", "region_code": REGION, "parent_id": ""},
                             "new", [], {}, "test", auto_accept=True)
    pid = row["org_id"]
    for night in (1, 2):
        assert run(home)["status"] == "succeeded"
        snap = store.live_snapshot()
        id_map = snap.frame("id_map").set_index("source_org_id")["canonical_org_id"]
        assert id_map[pid] == pid, f"night {night}"
        orgs = snap.frame("organizations").set_index("org_id")
        assert orgs.at[pid, "name"] == NAME and not bool(orgs.at[pid, "certified"])
    with TestClient(create_app(settings, store, poll_seconds=3600)) as client:
        body = client.get(f"/api/orgs/{pid}").json()
        assert body["org_id"] == pid and body["new_unit"] is True
        assert client.get("/api/suggest", params={"q": "航模科普馆"}).json()["results"][0]["new_unit"] is True

    # the export catches up: its record of the unit (another id, certified) arrives
    registry = pd.read_csv(SAMPLE / "registry.csv", dtype=str, keep_default_na=False)
    caught_up = pd.concat([registry, pd.DataFrame([dict.fromkeys(registry.columns, "") | {
        "org_id": "999000001", "name": NAME, "category": "科普教育基地", "region_code": REGION, "certified": "是",
        "created_at": "2026-12-01"}])], ignore_index=True)
    path = tmp_path / "registry.csv"
    caught_up.to_csv(path, index=False)
    assert run(home, registry=path)["status"] == "succeeded"
    id_map = store.live_snapshot().frame("id_map").set_index("source_org_id")["canonical_org_id"]
    assert id_map[pid] == "999000001" and id_map["999000001"] == "999000001"
    assert store.proposal(pid)["linked_org_id"] == "999000001"
    with TestClient(create_app(settings, store, poll_seconds=3600)) as client:
        body = client.get(f"/api/orgs/{pid}").json()
        assert body["org_id"] == "999000001" and body["merged"] is True and body["new_unit"] is False
