import pytest
from fastapi.testclient import TestClient

from serve.auth import add_user, new_token
from tests.review_fixture import MARKUP, publish


@pytest.fixture
def service(tmp_path):
    settings, store = publish(tmp_path)
    add_user(store, "rev", "reviewer", "password-1")
    add_user(store, "adm", "admin", "password-2")
    from serve.app import create_app

    with TestClient(create_app(settings, store, poll_seconds=3600, min_reload_seconds=0)) as client:
        client.store = store
        yield client


def login(client, name="rev", password="password-1"):
    page = client.get("/login").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    r = client.post("/login", data={"name": name, "password": password, "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    review = client.get("/review").text
    return review.split('name="csrf" content="')[1].split('"')[0]


def pending(client, **headers):
    return client.get("/api/review/suggestions", params={"status": "pending"}, headers=headers).json()


def live(client, name):
    return client.store.live_snapshot().frame(name)


def test_the_queue_and_decisions_need_a_login(service):
    assert service.get("/api/review/suggestions").status_code == 401
    assert service.post("/api/review/suggestions/x-y", json={"decision": "accept"}).status_code == 401
    assert service.get("/review", follow_redirects=False).status_code == 303
    bad = service.post("/login", data={"name": "rev", "password": "wrong-pass", "csrf": "x"})
    assert bad.status_code == 403


def test_queue_shows_both_records_and_the_explanation(service):
    login(service)
    body = pending(service)
    assert body["total"] == 3
    first = body["results"][0]
    assert {"id", "left_org_id", "right_org_id", "score", "explanation"} <= set(first)
    assert {"name", "region_path", "parent", "children", "activities", "certified"} <= set(first["left"])
    assert "名称主体" in first["explanation"]


def test_session_writes_need_the_csrf_token(service):
    csrf = login(service)
    sid = pending(service)["results"][0]["id"]
    assert service.post(f"/api/review/suggestions/{sid}", json={"decision": "reject"}).status_code == 403
    ok = service.post(f"/api/review/suggestions/{sid}", json={"decision": "reject"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200


def test_accept_reject_conflict_and_export(service):
    token = new_token(service.store, "rev")
    auth = {"Authorization": f"Bearer {token}"}
    items = pending(service, **auth)["results"]
    by_left = {frozenset((r["left_org_id"], r["right_org_id"])): r["id"] for r in items}
    g, w = by_left[frozenset(("g1", "g2"))], by_left[frozenset(("w1", "w2"))]
    assert service.post(f"/api/review/suggestions/{g}", json={"decision": "accept", "survivor": "g1"},
                        headers=auth).status_code == 200
    again = service.post(f"/api/review/suggestions/{g}", json={"decision": "reject"}, headers=auth)
    assert again.status_code == 409 and "rev" in again.json()["detail"]
    assert service.post(f"/api/review/suggestions/{w}", json={"decision": "reject"}, headers=auth).status_code == 200
    id_map = live(service, "id_map").set_index("source_org_id")
    assert id_map.loc["g2", "canonical_org_id"] == "g1" and id_map.loc["g2", "how"] == "reviewed"
    assert id_map.loc["w2", "canonical_org_id"] == "w2"
    status = {frozenset((a, b)): s for a, b, s in live(service, "merge_suggestions")[
        ["left_org_id", "right_org_id", "status"]].itertuples(index=False)}
    assert status[frozenset(("g1", "g2"))] == "accepted" and status[frozenset(("w1", "w2"))] == "rejected"
    # the lookup follows within moments (loaded in the background): the merged id resolves to its survivor
    import time

    for _ in range(100):
        if service.get("/api/orgs/g2").json()["org_id"] == "g1":
            break
        time.sleep(0.05)
    assert service.get("/api/orgs/g2").json()["org_id"] == "g1"
    assert pending(service, **auth)["total"] == 1
    audit = service.store.audit_entries()
    assert {a["action"] for a in audit} >= {"decide:match", "decide:distinct"} and audit[0]["user"] == "rev"


def test_undo_makes_the_pair_pending_again(service):
    token = new_token(service.store, "rev")
    auth = {"Authorization": f"Bearer {token}"}
    sid = pending(service, **auth)["results"][0]["id"]
    service.post(f"/api/review/suggestions/{sid}", json={"decision": "accept"}, headers=auth)
    assert pending(service, **auth)["total"] == 2
    assert service.post("/api/review/undo", headers=auth).status_code == 200
    assert pending(service, **auth)["total"] == 3
    left, right = sid.split("-")
    id_map = live(service, "id_map").set_index("source_org_id")
    assert id_map.loc[left, "canonical_org_id"] != id_map.loc[right, "canonical_org_id"]


def test_unmerge_restores_both_records_and_their_activities(service):
    assert live(service, "id_map").set_index("source_org_id").loc["c2", "canonical_org_id"] == "c1"
    reviewer = {"Authorization": f"Bearer {new_token(service.store, 'rev')}"}
    assert service.post("/api/review/unmerge", json={"org_id": "c2"}, headers=reviewer).status_code == 403
    admin = {"Authorization": f"Bearer {new_token(service.store, 'adm')}"}
    r = service.post("/api/review/unmerge", json={"org_id": "c2"}, headers=admin)
    assert r.status_code == 200, r.text
    id_map = live(service, "id_map").set_index("source_org_id")
    assert id_map.loc["c2", "canonical_org_id"] == "c2" and id_map.loc["c1", "canonical_org_id"] == "c1"
    vis = live(service, "activity_visibility").set_index("activity_id")
    assert vis.loc["a1", "canonical_org_id"] == "c2" and vis.loc["a2", "canonical_org_id"] == "c1"
    assert set(live(service, "organizations")["org_id"]) >= {"c1", "c2"}
    assert service.store.active_decision("c1", "c2")["decision"] == "distinct"


def test_names_with_markup_come_back_as_data(service):
    login(service)
    names = [r["left"]["name"] + r["right"]["name"] for r in pending(service)["results"]]
    assert any(MARKUP in n for n in names)
    page = service.get("/review").text
    assert MARKUP not in page  # the page fills names in with textContent, never as markup


def test_a_whole_cluster_at_once(service):
    auth = {"Authorization": f"Bearer {new_token(service.store, 'rev')}"}
    sid = pending(service, **auth)["results"][0]["id"]
    r = service.post(f"/api/review/clusters/{sid}", json={"decision": "reject"}, headers=auth)
    assert r.status_code == 200 and sid in r.json()["ids"]
    assert pending(service, **auth)["total"] == 3 - len(r.json()["ids"])
