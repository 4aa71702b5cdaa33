"""The 组织入驻 queue for each role: a national reviewer sees and decides every proposal, a province's admin
those in its province, a 全国学会's or 部委's admin those proposed under its unit (its subtree); anything
outside the area is neither listed nor decided (403), and an account without the review right gets 403."""
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.accounts import add_user, new_token
from tests import newunit_fixture

PASSWORD = "Kepu-2026-Zuzhiku!"
EXTRA = [("cps", "中国物理学会", "全国学会", "110000", "是"), ("mem", "应急管理部", "部委", "110000", "是")]
PROPOSED = {  # key: name, category, region, parent
    "society": ("中国物理学会青少年科普分会", "其他", "110000", "cps"),
    "society-2": ("中国物理学会科普工作委员会", "其他", "110000", "cps"),
    "ministry": ("应急管理部宣传教育中心科普部", "其他", "110000", "mem"),
    "guangdong": ("广州市海珠区少年科学院", "其他", "440105", ""),
    "hubei": ("湖北省科普作家协会", "地方学会", "420000", ""),
}
ACCOUNTS = {  # name: role, scope, may review
    "ops": ("reviewer", "", False), "gd": ("province", "440000", True), "phys": ("society", "cps", True),
    "physview": ("society", "cps", False), "mem": ("ministry", "mem", True),
}
SEES = {"ops": set(PROPOSED), "gd": {"guangdong"}, "phys": {"society", "society-2"}, "mem": {"ministry"}}


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    from serve.app import create_app

    home = tmp_path_factory.mktemp("proposal-scopes")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(newunit_fixture, "REGISTRY", newunit_fixture.REGISTRY + EXTRA)
        settings, store, _ = newunit_fixture.publish(home, check_rate_limit="1000/minute")
    for name, (role, scope, review) in ACCOUNTS.items():
        add_user(store, name, role, PASSWORD, scope, can_review=review)
    client = TestClient(create_app(settings, store, poll_seconds=3600))
    with client:
        ids = {}
        for key, (name, category, region, parent) in PROPOSED.items():
            r = client.post("/api/orgs/proposals", json={"name": name, "category": category, "region_code": region,
                                                          "parent_id": parent,
                                                          "contact": {"name": "王老师", "phone": "010-1234"}})
            assert r.status_code == 201, r.text
            ids[key] = r.json()["proposal_id"]
        client.ids, client.home = ids, home
        client.tokens = {n: {"Authorization": f"Bearer {new_token(store, n)}"} for n in ACCOUNTS}
        yield client


def listed(queue, account) -> set[str]:
    r = queue.get("/api/proposals", headers=queue.tokens[account])
    assert r.status_code == 200, r.text
    by_id = {v: k for k, v in queue.ids.items()}
    return {by_id[p["proposal_id"]] for p in r.json()["proposals"] if p["proposal_id"] in by_id}


@pytest.mark.parametrize("account", sorted(SEES))
def test_each_role_lists_exactly_the_proposals_of_its_area(queue, account):
    assert listed(queue, account) == SEES[account]
    page = queue.get("/ops/proposals", headers=queue.tokens[account])
    assert page.status_code == 200
    for key, (name, *_rest) in PROPOSED.items():
        assert (name in page.text) == (key in SEES[account]), (account, key)


def test_without_the_review_right_the_queue_is_refused(queue):
    assert queue.get("/api/proposals").status_code == 401
    assert queue.get("/api/proposals", headers=queue.tokens["physview"]).status_code == 403
    assert queue.get("/ops/proposals", headers=queue.tokens["physview"]).status_code == 403
    r = queue.post(f"/api/proposals/{queue.ids['society']}", json={"action": "accept", "reason": "核实"},
                   headers=queue.tokens["physview"])
    assert r.status_code == 403


@pytest.mark.parametrize("account, outside", [("phys", "guangdong"), ("phys", "ministry"), ("mem", "society"),
                                              ("gd", "society"), ("gd", "hubei")])
def test_a_proposal_outside_the_area_is_not_decided(queue, account, outside):
    r = queue.post(f"/api/proposals/{queue.ids[outside]}", json={"action": "reject", "reason": "不属于本单位"},
                   headers=queue.tokens[account])
    assert r.status_code == 403 and "管辖范围" in r.json()["detail"]
    assert queue.get("/api/proposals?status=", headers=queue.tokens["ops"]).json()["total"] >= len(PROPOSED)


def test_a_society_and_a_ministry_decide_the_proposals_under_their_unit(queue):
    r = queue.post(f"/api/proposals/{queue.ids['society-2']}", json={"action": "accept", "reason": "本会分支"},
                   headers=queue.tokens["phys"])
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    r = queue.post(f"/api/proposals/{queue.ids['ministry']}", json={"action": "reject", "reason": "非独立单位"},
                   headers=queue.tokens["mem"])
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    decided = queue.get("/api/proposals", params={"status": ""}, headers=queue.tokens["phys"]).json()["proposals"]
    assert {p["proposal_id"]: p["status"] for p in decided}[queue.ids["society-2"]] == "accepted"


def test_the_terminal_queue_has_the_same_areas(queue):
    from cli import app

    token = queue.tokens["phys"]["Authorization"].split()[1]
    out = CliRunner().invoke(app, ["proposals", "list", "--status", "all", "--home", str(queue.home), "--token", token])
    assert out.exit_code == 0, out.output
    assert queue.ids["society"] in out.output and queue.ids["guangdong"] not in out.output
    refused = CliRunner().invoke(app, ["proposals", "reject", queue.ids["guangdong"], "--reason", "x",
                                       "--home", str(queue.home), "--token", token])
    assert refused.exit_code == 4 and "管辖范围" in refused.output


def test_a_proposal_under_a_unit_accepted_since_the_snapshot_is_in_the_society_area(queue):
    parent = queue.ids["society-2"]
    queue.post(f"/api/proposals/{parent}", json={"action": "accept", "reason": "本会分支"}, headers=queue.tokens["phys"])
    r = queue.post("/api/orgs/proposals", json={"name": "中国物理学会科普工作委员会青少年部", "category": "其他",
                                                "region_code": "110000", "parent_id": parent,
                                                "contact": {"name": "王老师", "phone": "010-1234"}})
    assert r.status_code == 201, r.text
    below = r.json()["proposal_id"]
    ids = lambda account: {p["proposal_id"] for p in queue.get(  # noqa: E731
        "/api/proposals", headers=queue.tokens[account]).json()["proposals"]}
    assert below in ids("phys") and below not in ids("mem") and below not in ids("gd")
    assert queue.post(f"/api/proposals/{below}", json={"action": "reject", "reason": "x"},
                      headers=queue.tokens["mem"]).status_code == 403
