import pytest
from fastapi.testclient import TestClient

from core.config import load_settings
from core.store import open_store
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from flows.pipeline import read_inputs, run_pipeline

    home = tmp_path_factory.mktemp("serve-home")
    settings = load_settings(home=home)
    store = open_store(settings)
    run = run_pipeline(read_inputs(SAMPLE / "registry.csv", SAMPLE / "activities.csv"), None, settings)
    store.publish(run.frames, None, {})
    from serve.app import create_app

    with TestClient(create_app(settings, store, poll_seconds=0.2, min_reload_seconds=0)) as c:
        c.frames = run.frames
        c.store = store
        yield c


def test_health_and_docs(client):
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    assert "/api/suggest" in client.get("/openapi.json").json()["paths"]


def test_suggest_finds_units_however_typed(client):
    orgs = client.frames["organizations"]
    gz = orgs[orgs["category"] == "市级科协"].iloc[0]
    city = gz["name"].removesuffix("科学技术协会")
    for q in (gz["name"], city + "科协", gz["name"].replace("科学技术协会", "科協")):
        names = [r["name"] for r in client.get("/api/suggest", params={"q": q, "limit": 5}).json()["results"]]
        assert gz["name"] in names, q
    body = client.get("/api/suggest", params={"q": gz["name"]}).json()["results"][0]
    assert set(body) >= {"org_id", "name", "category", "region_path", "province_code", "certified", "matched"}
    assert body["matched"]["how"] == "exact"


def test_merged_names_return_their_survivor_once(client):
    id_map = client.frames["id_map"]
    merged = id_map[id_map["how"] == "auto"].iloc[0]
    records = client.frames["records"].set_index("org_id")
    alias = records.loc[merged["source_org_id"], "name"].strip()
    results = client.get("/api/suggest", params={"q": alias, "limit": 10}).json()["results"]
    ids = [r["org_id"] for r in results]
    assert merged["canonical_org_id"] in ids and merged["source_org_id"] not in ids
    assert len(ids) == len(set(ids))


def test_filters_and_bounds(client):
    r = client.get("/api/suggest", params={"q": "科学技术协会", "category": "省级科协", "limit": 50}).json()["results"]
    assert r and all(x["category"] == "省级科协" for x in r)
    r = client.get("/api/suggest", params={"q": "科协", "region": "440000", "limit": 50}).json()["results"]
    assert all(x["province_code"] in ("440000", "") and x["region_path"].startswith("广东省") for x in r)
    assert client.get("/api/suggest", params={"q": "x" * 51}).status_code == 422
    assert client.get("/api/suggest", params={"q": "科协", "limit": 999}).status_code == 422
    bad = client.get("/api/suggest", params={"q": "科协", "category": "不存在"})
    assert bad.status_code == 422 and "未知的组织类别" in bad.json()["detail"]


def test_old_ids_keep_resolving(client):
    id_map = client.frames["id_map"]
    merged = id_map[id_map["how"] == "auto"].iloc[0]
    body = client.get(f"/api/orgs/{merged['source_org_id']}").json()
    assert body["org_id"] == merged["canonical_org_id"] and body["merged"] is True
    assert client.get("/api/orgs/nope").status_code == 404


def test_subtree_and_admin_view(client):
    orgs = client.frames["organizations"]
    prov = orgs[orgs["category"] == "省级科协"].iloc[0]
    assert client.get(f"/api/orgs/{prov['org_id']}/subtree").status_code == 401  # counts of activities: not public
    assert client.get(f"/api/admin/{prov['province_code']}/activities").status_code == 401
    from core.accounts import add_user, new_token

    add_user(client.store, "admin1", "admin", "管理-lamp-stone-73")
    auth = {"Authorization": f"Bearer {new_token(client.store, 'admin1')}"}
    tree = client.get(f"/api/orgs/{prov['org_id']}/subtree", headers=auth).json()
    assert tree["org"]["organizations"] >= 1 + tree["total_children"]
    acts = client.get(f"/api/admin/{prov['province_code']}/activities", params={"size": 5}, headers=auth).json()
    vis = client.frames["activity_visibility"]
    assert acts["total"] == int((vis["province_code"] == prov["province_code"]).sum())
    assert len(acts["results"]) == min(5, acts["total"])
    assert client.get("/api/admin/44/activities", headers=auth).status_code == 422


def test_new_unit_check_says_did_you_mean(client):
    orgs = client.frames["organizations"]
    unit = orgs[orgs["category"] == "市级科协"].iloc[0]
    body = client.post("/api/orgs/check", json={"name": unit["name"].replace("科学技术协会", "科协"),
                                                 "region_code": unit["region_code"]}).json()
    assert body["likely_duplicates"][0]["org_id"] == unit["org_id"] and body["is_new"] is False
    fresh = client.post("/api/orgs/check", json={"name": "某某新成立的研究会", "region_code": ""}).json()
    assert fresh["is_new"] is True
    assert client.post("/api/orgs/check", json={"name": ""}).status_code == 422


def test_a_new_snapshot_is_served_without_restart(client):
    import time

    before = client.get("/healthz").json()["snapshot_version"]
    client.store.publish(client.frames, None, {})
    for _ in range(100):
        if client.get("/healthz").json()["snapshot_version"] == before + 1:
            break
        time.sleep(0.1)
    assert client.get("/healthz").json()["snapshot_version"] == before + 1


def test_demo_page_is_chinese(client):
    page = client.get("/").text
    assert "归口单位" in page and "已认证" in page


def test_fast_path_and_documented_route_answer_alike(client):
    """Well-formed requests are answered in front of FastAPI; an extra parameter sends the same query
    through the documented route instead: both answers must be identical."""
    for params in ({"q": "科协", "limit": 7}, {"q": "gzkx"}, {"q": "科学技术协会", "category": "省级科协", "region": "440000"}):
        fast = client.get("/api/suggest", params=params)
        routed = client.get("/api/suggest", params={**params, "via": "route"})
        assert fast.status_code == routed.status_code == 200
        assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
        assert fast.json() == routed.json()
    assert client.get("/api/suggest", params={"q": "科协", "region": "44"}).status_code == 422
    assert client.get("/api/suggest", params={"q": "科协", "limit": "0"}).status_code == 422
    assert client.get("/api/suggest", params=[("q", "科协"), ("q", "广州")]).status_code == 200


def test_a_unit_read_by_position_is_the_unit_read_by_label(client):
    """``Loaded.unit_row`` (column arrays by position, the check's hot path) gives what ``orgs.loc`` gives."""
    from serve.routes.orgs import org_view

    current = client.app.state.holder.current
    orgs = current.orgs
    for oid in orgs.index:
        row = orgs.loc[oid]
        assert current.unit_row(oid) == row.to_dict(), oid
        assert current.unit_row(oid, ("aliases", "name")) == {"aliases": row["aliases"], "name": row["name"]}
        view = org_view(current, oid)
        assert (view["name"], view["category"], view["region_code"], view["parent_id"], view["province_code"],
                view["certified"]) == (row["name"], row["category"], row["region_code"], row["parent_id"],
                                       row["province_code"], bool(row["certified"])), oid
    with pytest.raises(KeyError):
        current.unit_row("no-such-unit")
