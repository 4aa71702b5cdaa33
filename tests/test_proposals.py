"""组织入驻: a proposal is checked at once (verdict, region, parent), waits in the ops queue or is accepted
automatically, and an accepted unit is suggestible at once, marked 新入驻, and found by its id."""
import time

import pytest
from fastapi.testclient import TestClient

from core.accounts import add_user, new_token
from tests.newunit_fixture import publish

PASSWORD = "Kepu-2026-Zuzhiku!"
CONTACT = {"name": "王老师", "phone": "027-87654321"}


def make_client(home, **overrides):
    from serve.app import create_app

    settings, store, _ = publish(home, check_rate_limit="1000/minute", **overrides)
    add_user(store, "ops", "reviewer", PASSWORD)
    add_user(store, "gd", "province", PASSWORD, "440000", can_review=True)
    add_user(store, "gdview", "province", PASSWORD, "440000")
    client = TestClient(create_app(settings, store, poll_seconds=3600))
    client.headers_of = {n: {"Authorization": f"Bearer {new_token(store, n)}"} for n in ("ops", "gd", "gdview")}
    client.store = store
    return client


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("proposals")) as c:
        yield c


@pytest.fixture(scope="module")
def auto_client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("proposals-auto"), proposal_auto_accept=True) as c:
        yield c


def propose(client, name, region_code="", category="", parent_id="", contact=CONTACT, status=201):
    r = client.post("/api/orgs/proposals", json={"name": name, "region_code": region_code, "category": category,
                                                  "parent_id": parent_id, "contact": contact})
    assert r.status_code == status, r.text
    return r.json()


def suggest(client, q):
    r = client.get("/api/suggest", params={"q": q})
    assert r.status_code == 200
    return r.json()["results"]


def test_a_known_unit_is_answered_exists_and_waits_in_the_queue(client):
    body = propose(client, "广州市科协", contact=CONTACT)
    assert body["verdict"] == "exists" and body["status"] == "pending" and body["proposal_id"].startswith("RZ")
    assert body["candidates"][0]["org_id"] == "gzs"
    assert "审核" in body["message"]
    queue = client.get("/api/proposals", headers=client.headers_of["ops"]).json()
    assert body["proposal_id"] in [p["proposal_id"] for p in queue["proposals"]]


@pytest.mark.parametrize("payload, field", [
    ({"name": "湖"}, "name"),
    ({"name": "湖北省应急管理局", "category": "学校"}, "category"),
    ({"name": "湖北省应急管理局", "region_code": "999999"}, "region_code"),
    ({"name": "湖北省应急管理局", "parent_id": "nope"}, "parent_id"),
    ({"name": "某某研究会", "category": "地方学会"}, "region_code"),
    ({"name": "湖北省应急管理局", "contact": {"name": "王老师"}}, "contact"),
])
def test_a_wrong_field_is_named_in_chinese(client, payload, field):
    body = dict({"contact": CONTACT}, **payload)
    r = client.post("/api/orgs/proposals", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field) and not r.json()["detail"].isascii()


def test_a_new_unit_gets_its_region_category_and_parent_inferred(client):
    body = propose(client, "湖北省应急管理局科普协会", "420000")
    assert body["verdict"] == "new" and body["status"] == "pending" and body["consistent"] is True
    assert body["parent_id"] == "hbkx" and body["inferred"]["parent_id"] == "hbkx"
    assert suggest(client, "应急管理局科普") == []  # pending: not a unit yet


def test_a_parent_in_another_place_is_not_consistent(client):
    body = propose(client, "广州市海珠区青少年科技中心", "440105", parent_id="hbkx")
    assert body["consistent"] is False and "不在本单位所在地区之上" in body["problems"][0]


def test_accepting_makes_the_unit_suggestible_marked_new_and_found_by_id(client):
    pid = propose(client, "广州市海珠区少年宫", "440105", "其他")["proposal_id"]
    ops = client.headers_of["ops"]
    r = client.post(f"/api/proposals/{pid}", json={"action": "accept", "reason": ""}, headers=ops)
    assert r.status_code == 422 and "理由" in r.json()["detail"]
    r = client.post(f"/api/proposals/{pid}", json={"action": "accept", "reason": "核实为新单位"}, headers=ops)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    hits = suggest(client, "海珠区少年宫")
    assert hits[0]["org_id"] == pid and hits[0]["new_unit"] is True
    assert all(h["new_unit"] is False for h in suggest(client, "广州市科协"))
    unit = client.get(f"/api/orgs/{pid}").json()
    assert unit["org_id"] == pid and unit["new_unit"] is True and unit["mark"] == "新入驻"
    again = client.post(f"/api/proposals/{pid}", json={"action": "reject", "reason": "重复"}, headers=ops)
    assert again.status_code == 409
    audit = [a for a in client.store.audit_entries(1000) if a["action"].startswith("proposal:")]
    accepted = [a for a in audit if a["action"] == "proposal:accept"]
    assert accepted and accepted[0]["user"] == "ops" and accepted[0]["detail"]["reason"] == "核实为新单位"
    assert any(a["action"] == "proposal:submit" and a["detail"]["proposal_id"] == pid for a in audit)


def test_a_merged_proposal_resolves_to_the_unit_and_a_rejected_one_to_nothing(client):
    ops = client.headers_of["ops"]
    merged = propose(client, "广州科学技术协会", "440100")["proposal_id"]
    r = client.post(f"/api/proposals/{merged}", json={"action": "merge", "reason": "即广州市科协", "target": "gzs"},
                    headers=ops)
    assert r.status_code == 200 and r.json()["merged_into"] == "gzs"
    assert client.get(f"/api/orgs/{merged}").json()["org_id"] == "gzs"
    rejected = propose(client, "测试单位一二三", "440100", "其他")["proposal_id"]
    r = client.post(f"/api/proposals/{rejected}", json={"action": "reject", "reason": "测试数据"}, headers=ops)
    assert r.json()["status"] == "rejected"
    assert client.get(f"/api/orgs/{rejected}").status_code == 404
    bad = client.post(f"/api/proposals/{propose(client, '测试单位四五六', '440100', '其他')['proposal_id']}",
                      json={"action": "merge", "reason": "x", "target": "nope"}, headers=ops)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("target")


def test_the_queue_is_for_reviewers_within_their_area(client):
    hb = propose(client, "湖北省科普作家协会", "420000", "地方学会")["proposal_id"]
    assert client.get("/api/proposals").status_code == 401
    assert client.get("/api/proposals", headers=client.headers_of["gdview"]).status_code == 403
    mine = client.get("/api/proposals", headers=client.headers_of["gd"]).json()["proposals"]
    assert mine and all(p["region_code"].startswith("44") for p in mine)
    r = client.post(f"/api/proposals/{hb}", json={"action": "accept", "reason": "x"}, headers=client.headers_of["gd"])
    assert r.status_code == 403


def test_a_clearly_new_consistent_proposal_is_accepted_automatically(auto_client):
    started = time.monotonic()
    body = propose(auto_client, "武汉市洪山区科普志愿者协会", "420111", "地方学会")
    assert body["status"] == "accepted" and "已入驻" in body["message"]
    hits = suggest(auto_client, "洪山区科普志愿者")
    assert time.monotonic() - started < 5
    assert hits and hits[0]["org_id"] == body["proposal_id"] and hits[0]["new_unit"] is True
    # an existing unit, or one inconsistent with its parent, still waits for a person
    assert propose(auto_client, "广州市科协")["status"] == "pending"
    assert propose(auto_client, "广州市海珠区青年科技中心", "440105", parent_id="hbkx")["status"] == "pending"
    # the same new unit again is not accepted twice
    again = propose(auto_client, "武汉市洪山区科普志愿者协会", "420111", "地方学会")
    assert again["status"] == "pending"


def test_another_serving_process_sees_an_accepted_unit_within_its_poll(tmp_path):
    from serve.app import create_app

    with make_client(tmp_path) as first:
        other = create_app(first.app.state.settings.model_copy(update={"proposal_poll_seconds": 0.2}),
                           first.store, poll_seconds=3600)
        with TestClient(other) as second:
            pid = propose(first, "广州市海珠区气象科普馆", "440105", "科普教育基地")["proposal_id"]
            assert suggest(second, "海珠区气象科普馆") == []
            first.post(f"/api/proposals/{pid}", json={"action": "accept", "reason": "核实"},
                       headers=first.headers_of["ops"])
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not suggest(second, "海珠区气象科普馆"):
                time.sleep(0.1)
            assert suggest(second, "海珠区气象科普馆")[0]["org_id"] == pid


def test_the_queue_page_lists_pending_proposals_with_what_the_check_found(client):
    propose(client, "广州市科学技术协会海珠分会", "440105", "地方学会")
    page = client.get("/ops/proposals", headers=client.headers_of["ops"])
    assert page.status_code == 200 and "组织入驻申请" in page.text and "广州市科学技术协会海珠分会" in page.text
    assert "王老师" in page.text and "处理理由" in page.text
    assert client.get("/ops/proposals", headers=client.headers_of["gdview"]).status_code == 403


def test_a_unit_accepted_since_the_nightly_is_found_by_the_check_and_by_a_second_proposal(client):
    name = "广州市海珠区青少年天文科普馆"
    before = client.post("/api/orgs/check", json={"name": name, "region_code": "440105"}).json()
    assert before["verdict"] == "new"
    pid = propose(client, name, "440105", "科普教育基地")["proposal_id"]
    pending = client.post("/api/orgs/check", json={"name": name, "region_code": "440105"}).json()
    assert pid not in [c["org_id"] for c in pending["candidates"]]  # pending: not a unit yet
    client.post(f"/api/proposals/{pid}", json={"action": "accept", "reason": "核实为新单位"},
                headers=client.headers_of["ops"])
    check = client.post("/api/orgs/check", json={"name": name, "region_code": "440105"}).json()
    assert check["verdict"] == "exists" and check["unit"]["org_id"] == pid
    assert check["candidates"][0]["new_unit"] is True and check["candidates"][0]["mark"] == "新入驻"
    assert check["candidates"][0]["region_path"].endswith("海珠区")
    # typed another way (no city, 科普馆 → 天文科普馆 kept): still the accepted unit, at least as likely
    again = propose(client, "海珠区青少年天文科普馆", "440105", "科普教育基地")
    assert again["verdict"] in ("exists", "likely_exists") and again["status"] == "pending"
    assert again["candidates"][0]["org_id"] == pid and again["candidates"][0]["new_unit"] is True
    queued = client.get("/api/proposals", headers=client.headers_of["ops"]).json()["proposals"]
    row = next(p for p in queued if p["proposal_id"] == again["proposal_id"])
    assert row["candidates"][0]["org_id"] == pid and row["candidates"][0]["name"] == name
    assert row["candidates"][0]["new_unit"] is True
    page = client.get("/ops/proposals", headers=client.headers_of["ops"]).text
    assert f'{name}<span class="new">新入驻</span>（{pid}' in page


def test_a_proposal_from_a_form_on_an_allowed_origin_passes_and_others_get_no_cors_headers(tmp_path):
    allowed, other = "https://kepuri.example.cn", "https://evil.example"
    with make_client(tmp_path, cors_origins=f"{allowed}, https://form.example.cn") as c:
        asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        preflight = c.options("/api/orgs/proposals", headers={"Origin": allowed, **asked})
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == allowed
        assert "POST" in preflight.headers["access-control-allow-methods"]
        body = {"name": "广州市海珠区青少年无线电科普馆", "region_code": "440105", "category": "科普教育基地",
                "contact": CONTACT}
        r = c.post("/api/orgs/proposals", json=body, headers={"Origin": allowed})
        assert r.status_code == 201 and r.headers["access-control-allow-origin"] == allowed
        refused = c.options("/api/orgs/proposals", headers={"Origin": other, **asked})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        r = c.post("/api/orgs/proposals", json=dict(body, name="广州市海珠区青少年无线电科普站"), headers={"Origin": other})
        assert "access-control-allow-origin" not in r.headers  # the browser withholds the answer from that page
