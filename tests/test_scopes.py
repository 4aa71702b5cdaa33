"""Every route declares its scope, and each scope holds: the app's route table walked route by route, so a
new route without a scope decision fails here (declare it with ``dependencies=[PUBLIC|SIGNED_IN|REVIEW|
SCOPED|NATIONAL]`` from serve/scopes.py)."""
import re
import tempfile

import pytest
from fastapi.testclient import TestClient

from core.accounts import Accounts
from serve.scopes import api_routes, declared_scope
from tests.admin_fixture import publish_two_runs

# FastAPI's own documentation routes are not APIRoutes: they show no data
OWN_AREA = {"province_code": "440000", "org_id": "gz", "sid": "none", "proposal_id": "RZ00000001"}
OTHER_AREA = {"province_code": "420000", "org_id": "wh", "sid": "none", "proposal_id": "RZ00000001"}


@pytest.fixture(scope="module")
def app_and_tokens(tmp_path_factory):
    from serve.app import create_app

    settings, store = publish_two_runs(tmp_path_factory.mktemp("scopes-home"))
    accounts = Accounts(store)
    tokens = {name: {"Authorization": f"Bearer {accounts.new_token(name)}"} for name in
              ("nat", "rev", "gd_admin", "gd_rev", "hb_admin", "chem_admin")}
    with TestClient(create_app(settings, store, poll_seconds=3600)) as client:
        yield client, tokens


def app_routes():
    from core.config import load_settings
    from serve.app import create_app

    return api_routes(create_app(load_settings(home=tempfile.mkdtemp(prefix="orgreg-routes-"))))


ROUTES = [pytest.param(r.path, sorted(r.methods)[0], id=f"{sorted(r.methods)[0]} {r.path}") for r in app_routes()]


def test_every_route_declares_one_scope():
    assert len(ROUTES) >= 10
    missing = [f"{sorted(r.methods)} {r.path}" for r in app_routes() if declared_scope(r) is None]
    assert not missing, f"routes without a scope (add dependencies=[PUBLIC|SIGNED_IN|REVIEW|SCOPED|NATIONAL]): {missing}"


def call(client, method, path, area, headers=None):
    url = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: area[m.group(1)], path)
    kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH", "DELETE") else {}
    return client.request(method, url, headers=headers or {}, follow_redirects=False, **kwargs)


def refused(response) -> bool:
    """401/403, or a page sending the visitor to the login."""
    return response.status_code in (401, 403) or (response.status_code in (302, 303, 307)
                                                   and response.headers["location"].startswith("/login"))


@pytest.mark.parametrize("path,method", ROUTES)
def test_each_scope_holds_on_every_route(app_and_tokens, path, method):
    client, t = app_and_tokens
    route = next(r for r in api_routes(client.app) if r.path == path and method in r.methods)
    scope = declared_scope(route)
    anonymous = call(client, method, path, OWN_AREA)
    if scope == "public":
        assert not refused(anonymous), anonymous.text
        return
    assert refused(anonymous) and anonymous.status_code != 403, anonymous.status_code
    if scope == "review":
        assert call(client, method, path, OWN_AREA, t["chem_admin"]).status_code == 403  # no right to review
        assert call(client, method, path, OWN_AREA, t["gd_rev"]).status_code != 403
    elif scope == "scoped":
        assert call(client, method, path, OTHER_AREA, t["gd_admin"]).status_code == 403  # 广东 admin, 湖北 data
        assert call(client, method, path, OWN_AREA, t["hb_admin"]).status_code == 403
        assert call(client, method, path, OWN_AREA, t["rev"]).status_code == 403  # reviewers see no areas
        assert call(client, method, path, OWN_AREA, t["chem_admin"]).status_code == 403
        assert not refused(call(client, method, path, OWN_AREA, t["gd_admin"]))
        assert not refused(call(client, method, path, OTHER_AREA, t["nat"]))
    elif scope == "national":
        assert call(client, method, path, OWN_AREA, t["gd_admin"]).status_code == 403
        assert call(client, method, path, OWN_AREA, t["rev"]).status_code == 403
        assert not refused(call(client, method, path, OWN_AREA, t["nat"]))
    else:
        assert scope == "signed-in", scope
        assert not refused(call(client, method, path, OWN_AREA, t["gd_admin"]))


def test_scoped_review_sees_only_suggestions_of_its_area(app_and_tokens):
    client, t = app_and_tokens
    province = client.app.state.holder.current.orgs["province_code"]
    everything = client.get("/api/review/suggestions", headers=t["rev"]).json()["results"]
    gd = client.get("/api/review/suggestions", headers=t["gd_rev"]).json()["results"]
    assert gd and len(gd) <= len(everything)
    assert all("440000" in (province.get(r["left_org_id"]), province.get(r["right_org_id"])) for r in gd)
    assert client.get("/api/review/suggestions", headers=t["hb_admin"]).status_code == 403  # no right yet
    client.app.state.auth.accounts.change("hb_admin", "test", can_review=True)
    assert client.get("/api/review/suggestions", headers=t["hb_admin"]).json()["total"] == 0
    refused_decision = client.post(f"/api/review/suggestions/{gd[0]['id']}", json={"decision": "reject"},
                                   headers=t["hb_admin"])
    assert refused_decision.status_code == 403 and "管辖范围" in refused_decision.json()["detail"]
    assert client.post(f"/api/review/suggestions/{gd[0]['id']}", json={"decision": "reject"},
                       headers=t["gd_rev"]).status_code == 200
