"""``orgreg review …`` acts as a signed-in account, with the desk's rules and role checks."""
import pytest
from typer.testing import CliRunner

from cli import app
from serve.auth import add_user, new_token
from tests.review_fixture import publish


@pytest.fixture
def home(tmp_path):
    settings, store = publish(tmp_path)
    add_user(store, "rev", "reviewer", "审核-river-tea-41")
    add_user(store, "adm", "admin", "管理-lamp-stone-72")
    return tmp_path, store


def run(home, *args, env=None, stdin=None):
    return CliRunner().invoke(app, ["review", *args, "--home", str(home[0])], env=env or {}, input=stdin)


def test_no_account_no_review(home):
    r = run(home, "list")
    assert r.exit_code == 4 and "请先登录" in r.output
    assert run(home, "accept", "g1-g2", "--token", "forged").exit_code == 4
    assert run(home, "accept", "g1-g2", "--user", "rev", "--password-stdin", stdin="wrong\n").exit_code == 4
    assert home[1].decisions_frame().empty


def test_a_reviewer_decides_signed_in_and_is_audited(home):
    token = new_token(home[1], "rev")
    r = run(home, "accept", "g1-g2", "--survivor", "g1", env={"ORGREG_TOKEN": token})
    assert r.exit_code == 0, r.output
    assert run(home, "reject", "w1-w2", "--user", "rev", "--password-stdin", stdin="审核-river-tea-41\n").exit_code == 0
    users = {a["user"] for a in home[1].audit_entries() if a["action"].startswith("review:")}
    assert users == {"rev"}
    assert run(home, "undo", "--token", token).exit_code == 0
    assert run(home, "undo", "--token", token).exit_code == 0
    assert home[1].decisions_frame().empty


def test_the_terminal_refuses_a_reviewers_unmerge(home):
    r = run(home, "unmerge", "c2", "--token", new_token(home[1], "rev"))
    assert r.exit_code == 4 and "管理员" in r.output
    assert home[1].live_snapshot().frame("id_map").set_index("source_org_id").at["c2", "canonical_org_id"] == "c1"
    assert run(home, "unmerge", "c2", "--token", new_token(home[1], "adm")).exit_code == 0


def test_the_terminal_has_the_same_rules(home):
    token = new_token(home[1], "rev")
    assert run(home, "accept", "c1-gd", "--token", token).exit_code == 1  # never suggested
    r = run(home, "merge", "x2", "x3", "--token", token)
    assert r.exit_code == 3 and "地区互斥" in r.output
    r = run(home, "show", "x0-x1", "--token", token)
    assert r.exit_code == 0 and "冲突" in r.output and "鞍山" in r.output
    r = run(home, "split", "x0-x1", "--group", "x0,x1,t1,t2", "--group", "x2", "--group", "x3", "--token", token)
    assert r.exit_code == 0, r.output
    assert "待审核 2 条" in run(home, "list", "--token", token).output
