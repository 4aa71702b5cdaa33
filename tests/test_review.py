import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serve.auth import add_user, new_token
from tests.review_fixture import MARKUP, publish, publish_queue

TIEXI = ["t1", "t2", "x0", "x1", "x2", "x3"]  # the 铁西区 cluster: x1 沈阳, x2 鞍山 (certified), x3 四平


@pytest.fixture
def service(tmp_path):
    settings, store = publish(tmp_path)
    add_user(store, "rev", "reviewer", "审核-river-tea-41")
    add_user(store, "adm", "admin", "管理-lamp-stone-72")
    from serve.app import create_app

    with TestClient(create_app(settings, store, poll_seconds=3600, min_reload_seconds=0)) as client:
        client.store = store
        client.rev = {"Authorization": f"Bearer {new_token(store, 'rev')}"}
        client.adm = {"Authorization": f"Bearer {new_token(store, 'adm')}"}
        yield client


def login(client, name="rev", password="审核-river-tea-41"):
    page = client.get("/login").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    r = client.post("/login", data={"name": name, "password": password, "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    review = client.get("/review").text
    return review.split('name="csrf" content="')[1].split('"')[0]


def pending(client, headers=None, **params):
    return client.get("/api/review/suggestions", params={"status": "pending", **params},
                      headers=headers or client.rev).json()


def sid_of(client, a, b):
    hits = [r["id"] for r in pending(client, size=200)["results"] if {r["left_org_id"], r["right_org_id"]} == {a, b}]
    assert hits, (a, b)
    return hits[0]


def live(client, name):
    return client.store.live_snapshot().frame(name)


def canon(client):
    return live(client, "id_map").set_index("source_org_id")["canonical_org_id"].to_dict()


def decide(client, sid, headers=None, **body):
    return client.post(f"/api/review/suggestions/{sid}", json=body, headers=headers or client.rev)


def test_the_queue_and_decisions_need_a_login(service):
    assert service.get("/api/review/suggestions").status_code == 401
    assert service.post("/api/review/suggestions/x-y", json={"decision": "accept"}).status_code == 401
    assert service.get("/review", follow_redirects=False).status_code == 303
    bad = service.post("/login", data={"name": "rev", "password": "wrong-pass", "csrf": "x"})
    assert bad.status_code == 403


def test_queue_shows_both_records_and_a_readable_explanation(service):
    body = pending(service)
    assert body["total"] == body["total_pending"] == 14
    first = body["results"][0]
    assert {"id", "left_org_id", "right_org_id", "score", "explanation"} <= set(first)
    assert {"name", "region_path", "province", "city", "parent", "children", "activities", "certified"} <= set(first["left"])
    assert first["certified"]  # most impact first: the certified 鞍山 unit
    for r in body["results"]:
        assert "（无）" not in r["explanation"] and "判断依据" in r["explanation"]


def test_session_writes_need_the_csrf_token(service):
    csrf = login(service)
    sid = sid_of(service, "w1", "w2")
    assert service.post(f"/api/review/suggestions/{sid}", json={"decision": "reject"}).status_code == 403
    ok = service.post(f"/api/review/suggestions/{sid}", json={"decision": "reject"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200


def test_accept_reject_conflict_and_counts(service):
    g, w = sid_of(service, "g1", "g2"), sid_of(service, "w1", "w2")
    assert decide(service, g, decision="accept", survivor="g1").status_code == 200
    again = decide(service, g, decision="reject")
    assert again.status_code == 409 and "rev" in again.json()["detail"]
    assert decide(service, w, decision="reject").status_code == 200
    c = canon(service)
    assert c["g2"] == "g1" and c["w2"] == "w2"
    assert live(service, "id_map").set_index("source_org_id").loc["g2", "how"] == "reviewed"
    status = {frozenset((a, b)): s for a, b, s in live(service, "merge_suggestions")[
        ["left_org_id", "right_org_id", "status"]].itertuples(index=False)}
    assert status[frozenset(("g1", "g2"))] == "accepted" and status[frozenset(("w1", "w2"))] == "rejected"
    # the count follows every single decision
    assert pending(service)["total"] == 12
    audit = service.store.audit_entries()
    assert {a["action"] for a in audit} >= {"decide:match", "decide:distinct", "review:accept", "review:reject"}


def test_a_pair_never_suggested_cannot_be_accepted(service):
    # 北京市科协 into 上海市科协 in the issue: here the province's 科协 into a city's
    r = decide(service, "c1-gd", decision="accept")
    assert r.status_code == 404 and "待审核" in r.json()["detail"]
    assert service.store.decisions_frame().empty and canon(service)["gd"] == "gd"


def test_the_survivor_must_be_one_of_the_merged_units(service):
    r = decide(service, sid_of(service, "g1", "g2"), decision="accept", survivor="root")
    assert r.status_code == 422 and "不是要合并的单位之一" in r.json()["detail"]
    assert service.store.decisions_frame().empty and canon(service)["g1"] == "g1"
    # a record of one of the units is fine: it names its unit
    assert decide(service, sid_of(service, "g1", "g2"), decision="accept", survivor="g2").status_code == 200
    assert canon(service)["g1"] == "g2"


@pytest.mark.parametrize("sid", ["w1-w1", "w1", "w1-w2-w3", "w1-%20"])
def test_malformed_ids_are_422_in_chinese(service, sid):
    r = decide(service, sid, decision="reject")
    assert r.status_code == 422 and "请求参数不正确" in r.json()["detail"] or "格式" in r.json()["detail"]
    assert service.store.decisions_frame().empty and canon(service)["w1"] == "w1"


def test_only_admins_unmerge_by_every_path(service):
    assert canon(service)["c2"] == "c1"
    r = service.post("/api/review/unmerge", json={"org_id": "c2"}, headers=service.rev)
    assert r.status_code == 403
    # a reject of a merged pair is no way round it: the pair is not pending
    assert decide(service, "c1-c2", decision="reject").status_code == 404
    assert canon(service)["c2"] == "c1"
    r = service.post("/api/review/unmerge", json={"org_id": "c2"}, headers=service.adm)
    assert r.status_code == 200, r.text
    c = canon(service)
    assert c["c2"] == "c2" and c["c1"] == "c1"
    vis = live(service, "activity_visibility").set_index("activity_id")
    assert vis.loc["a1", "canonical_org_id"] == "c2" and vis.loc["a2", "canonical_org_id"] == "c1"
    assert service.store.active_decision("c1", "c2")["decision"] == "distinct"


def test_the_cluster_view_lists_every_unit_and_its_conflicts(service):
    sid = sid_of(service, "x0", "x1")
    view = service.get(f"/api/review/clusters/{sid}", headers=service.rev).json()
    assert sorted(u["org_id"] for u in view["units"]) == TIEXI
    assert view["survivor"] == "x2"  # certified
    kinds = {(frozenset((c["unit_a"], c["unit_b"])), c["kind"]) for c in view["conflicts"]}
    assert (frozenset(("x1", "x2")), "places") in kinds and (frozenset(("x2", "x3")), "places") in kinds
    assert len(view["suggestions"]) == 12
    x2 = next(u for u in view["units"] if u["org_id"] == "x2")
    assert x2["certified"] and x2["activities"] == 2 and "鞍山" in x2["region_path"]


def test_a_cluster_accept_with_a_conflict_is_refused_and_changes_nothing(service):
    before = canon(service)
    r = service.post(f"/api/review/clusters/{sid_of(service, 'x0', 'x1')}", json={"decision": "accept"},
                     headers=service.rev)
    assert r.status_code == 409
    assert "地区互斥" in r.json()["detail"] and r.json()["conflicts"]
    assert canon(service) == before and service.store.decisions_frame().empty
    assert pending(service)["total"] == 14


def test_splitting_a_cluster_into_groups(service):
    sid = sid_of(service, "x0", "x1")
    groups = [["x1", "x0", "t1"], ["x2", "t2"], ["x3"]]
    r = service.post(f"/api/review/clusters/{sid}", json={"decision": "accept", "groups": groups,
                                                          "survivors": {"0": "x0"}}, headers=service.rev)
    assert r.status_code == 200, r.text
    c = canon(service)
    assert c["x1"] == c["t1"] == "x0" and c["t2"] == "x2" and c["x3"] == "x3"
    d = service.store.decisions_frame()
    pairs = {frozenset((a, b)): x for a, b, x in d[["left_org_id", "right_org_id", "decision"]].itertuples(index=False)}
    assert pairs[frozenset(("x0", "x3"))] == pairs[frozenset(("t1", "x2"))] == "distinct"
    assert pairs[frozenset(("x0", "x1"))] == pairs[frozenset(("t1", "x0"))] == pairs[frozenset(("t2", "x2"))] == "match"
    assert frozenset(("x1", "x2")) not in pairs  # never suggested: no fact about them
    assert pending(service)["total"] == 2  # only the two pairs outside the cluster are left
    # a group holding a conflict is refused
    other = service.post(f"/api/review/clusters/{sid_of(service, 'g1', 'g2')}",
                         json={"decision": "accept", "groups": [["g1"], ["x1"]]}, headers=service.rev)
    assert other.status_code == 422


def test_an_explicit_merge_runs_the_nightly_conflict_checks(service):
    # 鞍山 and 四平 铁西区科协: two exclusive places
    r = service.post("/api/review/merges", json={"org_ids": ["x2", "x3"]}, headers=service.rev)
    assert r.status_code == 409 and "地区互斥" in r.json()["detail"]
    # a province's 科协 and a city's: the matcher's own rule refuses it
    r = service.post("/api/review/merges", json={"org_ids": ["gd", "c1"]}, headers=service.rev)
    assert r.status_code == 409 and "名称中的地区级别不同" in r.json()["detail"]
    assert service.store.decisions_frame().empty
    r = service.post("/api/review/merges", json={"org_ids": ["w1", "w2"], "survivor": "root"}, headers=service.rev)
    assert r.status_code == 422
    r = service.post("/api/review/merges", json={"org_ids": ["w1", "w2"], "survivor": "w2"}, headers=service.rev)
    assert r.status_code == 200 and canon(service)["w1"] == "w2"
    assert service.post("/api/review/merges", json={"org_ids": ["w1", "nope"]}, headers=service.rev).status_code == 404


def test_undo_walks_back_several_steps(service):
    original = canon(service)
    statuses = live(service, "merge_suggestions")["status"].value_counts().to_dict()
    assert decide(service, sid_of(service, "g1", "g2"), decision="accept").status_code == 200
    assert decide(service, sid_of(service, "w1", "w2"), decision="reject").status_code == 200
    sid = sid_of(service, "x0", "x1")
    assert service.post(f"/api/review/clusters/{sid}", json={"decision": "accept", "groups": [
        ["x0", "x1", "t1", "t2"], ["x2"], ["x3"]]}, headers=service.rev).status_code == 200
    assert pending(service)["total"] == 0
    kinds = [service.post("/api/review/undo", headers=service.rev).json()["kind"] for _ in range(3)]
    assert kinds == ["cluster-accept", "reject", "accept"]
    assert canon(service) == original
    assert live(service, "merge_suggestions")["status"].value_counts().to_dict() == statuses
    assert pending(service)["total"] == 14 and service.store.decisions_frame().empty
    nothing = service.post("/api/review/undo", headers=service.rev)
    assert nothing.status_code == 404 and "没有可撤销" in nothing.json()["detail"]


def test_paging_search_and_filters(service):
    first, second = pending(service, size=5), pending(service, size=5, page=3)
    assert first["pages"] == 3 and len(second["results"]) == 4
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    anshan = pending(service, q="鞍山")["results"]
    assert anshan and all("x2" in (r["left_org_id"], r["right_org_id"]) for r in anshan)
    assert pending(service, q="x3")["total"] == 3
    liaoning = pending(service, province="210000")
    assert liaoning["total"] == 6 and liaoning["total_pending"] == 14
    assert pending(service, city="210300")["total"] == 3 and pending(service, city="220300")["total"] == 3
    assert pending(service, certified="true")["total"] == 3
    assert pending(service, min_activities=2)["total"] == 4
    assert pending(service, category="县级科协")["total"] == 14 and pending(service, band="high")["total"] == 0
    bad = service.get("/api/review/suggestions", params={"province": "广东"}, headers=service.rev)
    assert bad.status_code == 422 and "province" in bad.json()["detail"] and "格式" in bad.json()["detail"]
    places = service.get("/api/review/places", headers=service.rev).json()["provinces"]
    names = {p["name"]: [c["name"] for c in p["cities"]] for p in places}
    assert names["辽宁省"] == ["沈阳市", "鞍山市"] and names["吉林省"] == ["四平市"]


def test_audit_filters_and_csv(service):
    add_user(service.store, "=HYPERLINK(1)", "reviewer", "管理-lamp-stone-73")
    evil = {"Authorization": f"Bearer {new_token(service.store, '=HYPERLINK(1)')}"}
    decide(service, sid_of(service, "g1", "g2"), decision="accept")
    decide(service, sid_of(service, "w1", "w2"), headers=evil, decision="reject")
    mine = service.get("/api/review/audit", params={"user": "rev", "action": "review:"}, headers=service.rev).json()
    assert mine["total"] == 1 and mine["results"][0]["action_label"] == "接受合并"
    assert "g1" in mine["results"][0]["summary"] and "g2→g2" in mine["results"][0]["before"]
    assert service.get("/api/review/audit", params={"org_id": "w2"}, headers=service.rev).json()["total"] >= 2
    csv = service.get("/api/review/audit.csv", headers=service.rev)
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    rows = pd.read_csv(io.StringIO(csv.content.decode("utf-8-sig")), dtype=str)
    assert "'=HYPERLINK(1)" in set(rows["账号"]) and "=HYPERLINK(1)" not in set(rows["账号"])
    assert set(rows.columns) >= {"时间（北京时间）", "账号", "操作", "之前", "之后"}


def test_a_units_history(service):
    decide(service, sid_of(service, "g1", "g2"), decision="accept", survivor="g1")
    body = service.get("/api/review/units/g2", headers=service.rev).json()
    assert body["canonical"] == "g1" and {r["org_id"] for r in body["records"]} == {"g1", "g2"}
    assert any(h["action"] == "review:accept" for h in body["history"])
    assert service.get("/api/review/units/nope", headers=service.rev).status_code == 404


def test_names_with_markup_come_back_as_data(service):
    login(service)
    names = [r["left"]["name"] + r["right"]["name"] for r in pending(service, size=200)["results"]]
    assert any(MARKUP in n for n in names)
    page = service.get("/review").text
    assert MARKUP not in page  # the page fills names in with textContent, never as markup


def test_a_whole_cluster_rejected_at_once(service):
    sid = sid_of(service, "x0", "x1")
    r = service.post(f"/api/review/clusters/{sid}", json={"decision": "reject"}, headers=service.rev)
    assert r.status_code == 200 and len(r.json()["decisions"]) == 12
    assert pending(service)["total"] == 2


def test_correcting_the_surviving_name_category_and_place(service):
    r = service.post("/api/review/units/x0/correction", json={"name": "辽宁省沈阳市铁西区科学技术协会",
                                                            "category": "县级科协", "region_code": "210106"},
                     headers=service.rev)
    assert r.status_code == 200, r.text
    org = live(service, "organizations").set_index("org_id").loc["x0"]
    assert org["name"] == "辽宁省沈阳市铁西区科学技术协会" and org["region_code"] == "210106"
    assert set(service.store.corrections_frame()["field"]) == {"name", "category", "region_code"}
    bad = service.post("/api/review/units/x0/correction", json={"category": "学校", "region_code": "999999"},
                       headers=service.rev)
    assert bad.status_code == 422 and "未知的组织类别" in bad.json()["detail"] and "999999" in bad.json()["detail"]
    assert service.post("/api/review/undo", headers=service.rev).json()["kind"] == "correct"
    assert service.store.corrections_frame().empty
    assert live(service, "organizations").set_index("org_id").loc["x0", "region_code"] == ""


def test_undo_refuses_to_clobber_a_later_change_by_somebody_else(service):
    assert decide(service, sid_of(service, "g1", "g2"), decision="accept", survivor="g1").status_code == 200
    # an admin splits the merge afterwards: the reviewer's undo would put back a state that no longer holds
    assert service.post("/api/review/unmerge", json={"org_id": "g2"}, headers=service.adm).status_code == 200
    r = service.post("/api/review/undo", headers=service.rev)
    assert r.status_code == 409 and "又被改动过" in r.json()["detail"]
    assert canon(service)["g2"] == "g2"


def test_a_snapshot_without_suggestions_gives_an_empty_queue_not_an_error(tmp_path):
    from core.regions import default_regions
    from serve.queue import review_queue

    settings, store = publish(tmp_path)
    live = store.live_snapshot()
    frames = {name: live.frame(name) for name in ("merge_suggestions", "id_map", "records", "organizations",
                                                   "activity_visibility")}
    frames["merge_suggestions"] = frames["merge_suggestions"].iloc[0:0]
    queue = review_queue(frames, set(), default_regions())
    assert len(queue) == 0 and "haystack" in queue.columns


def test_a_retried_decision_is_answered_once(service):
    sid = pending(service)["results"][0]["id"]
    key = dict(service.rev, **{"Idempotency-Key": "req-1"})
    first = decide(service, sid, headers=key, decision="accept")
    again = decide(service, sid, headers=key, decision="accept")
    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    plain = decide(service, sid, decision="accept")
    assert plain.status_code == 200 and plain.json()["replayed"]  # the same decision by the same person: done
    assert len(service.store.decisions_frame()) == 1 and len(service.store.overlay_ops()) == 1


def test_every_desk_path_is_an_overlay_operation_not_a_snapshot(service):
    folders = sorted(p.name for p in service.store.snapshots_dir.iterdir())
    generation = service.store.live_state().generation
    sid = pending(service)["results"][0]["id"]
    assert decide(service, sid, decision="accept").status_code == 200
    r = service.post("/api/review/units/c2/correction", json={"name": "广州市科学技术协会（更正）"}, headers=service.rev)
    assert r.status_code == 200
    assert service.post("/api/review/undo", headers=service.rev).status_code == 200
    assert service.post("/api/review/undo", headers=service.rev).status_code == 200
    assert sorted(p.name for p in service.store.snapshots_dir.iterdir()) == folders  # no snapshot was copied
    ops = service.store.overlay_ops()
    assert [op.kind for op in ops] == ["match", "correct", "restore", "restore"]
    state = service.store.live_state()
    assert state.generation == generation + 4 and state.label == f"v{state.version}+4"
    assert len(service.store.live_history(10)) >= 4


def test_a_scoped_reviewer_decides_no_cluster_reaching_another_province(service):
    from serve.auth import add_user, new_token

    add_user(service.store, "ln", "province", "辽宁-river-tea-41", scope="210000", can_review=True)
    ln = {"Authorization": f"Bearer {new_token(service.store, 'ln')}"}
    sid = sid_of(service, "x0", "x1")  # 沈阳's unit with a placeless one: in 辽宁's queue ...
    assert sid in {r["id"] for r in pending(service, headers=ln)["results"]}
    groups = [["x1", "x0"], ["x2"], ["x3"], ["t1"], ["t2"]]
    r = service.post(f"/api/review/clusters/{sid}", json={"decision": "accept", "groups": groups}, headers=ln)
    assert r.status_code == 403 and "x3" in r.json()["detail"]  # ... but its cluster holds 四平 (吉林)
    assert service.store.decisions_frame().empty
    assert decide(service, sid, headers=ln, decision="reject").status_code == 200  # the pair itself is theirs


def test_the_kept_queue_after_decisions_and_undos_is_the_queue_built_afresh(tmp_path):
    # the desk applies each decision to its kept queue (only the touched rows rebuilt, one merge of the
    # order): after any mix of accepts, rejects and undos it must be the queue built from the live frames
    from core.regions import default_regions
    from serve.desk import Desk
    from serve.desk_rules import Refused
    from serve.queue import places, review_queue

    _, store = publish_queue(tmp_path, pairs=12)
    desk, user = Desk(store), {"name": "rev", "role": "reviewer", "scope": None}
    desk.queue()
    decided = 0
    for i, sid in enumerate(desk.queue()["id"].tolist()[:10]):
        try:
            desk.decide(sid, "accept" if i % 3 else "reject", user)
            decided += 1
        except Refused:  # a pair the rules refuse (two exclusive places …): nothing changed, still compared
            pass
        if i % 4 == 3:
            desk.undo(user)
        _, frames = desk.frames()
        afresh = review_queue(frames, desk.decided(), default_regions())
        kept = desk.queue()
        columns = [c for c in afresh.columns if c != "haystack"]
        pd.testing.assert_frame_equal(kept[columns].reset_index(drop=True), afresh[columns].reset_index(drop=True),
                                      check_dtype=False)
        assert places(kept, default_regions()) == places(afresh, default_regions())
    assert decided >= 5
