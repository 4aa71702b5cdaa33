"""``orgreg proposals …``: the 组织入驻 queue in a terminal, signed in, with the queue page's role and scope
checks and audit."""
import pytest
from typer.testing import CliRunner

from cli import app
from core.accounts import add_user, new_token
from tests.newunit_fixture import publish

PASSWORD = "Kepu-2026-Zuzhiku!"


@pytest.fixture
def home(tmp_path):
    settings, store, _ = publish(tmp_path)
    for name, role, scope, review in (("ops", "reviewer", "", False), ("hb", "province", "420000", True),
                                      ("view", "province", "440000", False)):
        add_user(store, name, role, PASSWORD, scope, can_review=review)
    pending = [store.add_proposal({"name": n, "category": "其他", "region_code": r, "parent_id": ""}, "new", [], {},
                                  "web")["org_id"] for n, r in (("广州市海珠区少年宫", "440105"),
                                                                ("广州科学技术协会", "440100"),
                                                                ("测试单位一二三", "440100"))]
    return tmp_path, store, pending


def run(home, *args, token=None):
    return CliRunner().invoke(app, ["proposals", *args, "--home", str(home[0])] +
                              (["--token", token] if token else []))


def test_without_an_account_nothing_is_decided(home):
    assert run(home, "list").exit_code == 4
    assert run(home, "accept", home[2][0], "--reason", "x", token="forged").exit_code == 4
    assert run(home, "accept", home[2][0], "--reason", "x", token=new_token(home[1], "view")).exit_code == 4
    assert {p["status"] for p in home[1].proposals()} == {"pending"}


def test_ops_accepts_merges_and_rejects_with_reasons_audited(home):
    _, store, (young, city, test) = home
    token = new_token(store, "ops")
    listed = run(home, "list", token=token)
    assert listed.exit_code == 0 and young in listed.output and "待处理" in listed.output
    assert run(home, "accept", young, "--reason", "  ", token=token).exit_code == 1  # a reason is required
    r = run(home, "accept", young, "--reason", "核实为新单位", token=token)
    assert r.exit_code == 0 and "已入驻" in r.output, r.output
    assert run(home, "merge", city, "--into", "nope", "--reason", "即广州市科协", token=token).exit_code == 1
    assert run(home, "merge", city, "--into", "gzs", "--reason", "即广州市科协", token=token).exit_code == 0
    assert run(home, "reject", test, "--reason", "测试数据", token=token).exit_code == 0
    assert run(home, "reject", young, "--reason", "改主意", token=token).exit_code == 3  # already decided
    got = {p["org_id"]: (p["status"], p["merged_into"], p["decided_by"]) for p in store.proposals()}
    assert got == {young: ("accepted", "", "ops"), city: ("merged", "gzs", "ops"), test: ("rejected", "", "ops")}
    audit = {(a["action"], a["detail"]["proposal_id"]) for a in store.audit_entries(100) if a["user"] == "ops"}
    assert {("proposal:accept", young), ("proposal:merge", city), ("proposal:reject", test)} <= audit


def test_a_province_reviewer_acts_only_in_its_province(home):
    token = new_token(home[1], "hb")
    assert home[2][0] not in run(home, "list", "--status", "all", token=token).output
    assert run(home, "accept", home[2][0], "--reason", "x", token=token).exit_code == 4
