"""The new-unit check (/api/orgs/check): sensible candidates, the same place first, and a verdict."""
import pytest
from fastapi.testclient import TestClient

from tests.newunit_fixture import publish


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from serve.app import create_app

    settings, store, frames = publish(tmp_path_factory.mktemp("newunit"), check_rate_limit="1000/minute")
    with TestClient(create_app(settings, store, poll_seconds=0.2, min_reload_seconds=0)) as c:
        yield c


def check(client, name, region_code="", category=""):
    response = client.post("/api/orgs/check", json={"name": name, "region_code": region_code, "category": category})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_city_association_exists_and_universities_are_not_its_duplicates(client):
    body = check(client, "广州市科协")
    assert body["verdict"] == "exists" and body["unit"]["org_id"] == "gzs" and body["is_new"] is False
    assert body["inferred"] == {"category": "市级科协", "region_code": "440100"}
    assert not [c for c in body["candidates"] if c["category"] == "高校科协"]
    assert "已有" in body["message"]


def test_a_university_is_found_as_itself(client):
    body = check(client, "中山大学科协", "440100")
    assert body["verdict"] == "exists" and body["unit"]["org_id"] == "zsu"


def test_the_same_place_comes_first(client):
    body = check(client, "海珠区科协", "440105")
    assert body["candidates"][0]["org_id"] == "hz" and body["candidates"][0]["same_place"] is True


def test_a_new_unit_is_new(client):
    body = check(client, "湖北省应急管理局", "420000")
    assert body["verdict"] == "new" and body["is_new"] is True and body["unit"] is None
    assert "入驻" in body["message"]
    assert client.post("/api/orgs/check", json={"name": ""}).status_code == 422


def test_the_check_is_rate_limited_per_client(tmp_path):
    from serve.app import create_app

    settings, store, _ = publish(tmp_path, check_rate_limit="2/minute")
    with TestClient(create_app(settings, store)) as c:
        codes = [c.post("/api/orgs/check", json={"name": "广州市科协"}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert "请求过于频繁" in c.post("/api/orgs/check", json={"name": "广州市科协"}).json()["detail"]


def test_a_form_on_an_allowed_origin_may_call_the_check_and_others_may_not(tmp_path):
    from serve.app import create_app

    settings, store, _ = publish(tmp_path, cors_origins="https://kepuri.example.cn, https://form.example.cn")
    with TestClient(create_app(settings, store)) as c:
        asked = {"Origin": "https://kepuri.example.cn", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
        preflight = c.options("/api/orgs/check", headers=asked)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://kepuri.example.cn"
        answer = c.post("/api/orgs/check", json={"name": "广州市科协"}, headers={"Origin": "https://form.example.cn"})
        assert answer.headers["access-control-allow-origin"] == "https://form.example.cn"
        suggest = c.get("/api/suggest", params={"q": "广州"}, headers={"Origin": "https://form.example.cn"})
        assert suggest.headers.get("access-control-allow-origin") == "https://form.example.cn"  # the fast path too
        other = c.post("/api/orgs/check", json={"name": "广州市科协"}, headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
    with TestClient(create_app(*publish(tmp_path / "none")[:2])) as c:  # the default: no origin allowed
        answer = c.post("/api/orgs/check", json={"name": "广州市科协"}, headers={"Origin": "https://kepuri.example.cn"})
        assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize("typed", ["中国科学技术协会（中国科协）", "中国科协(中国科学技术协会)"])
def test_a_name_with_its_other_name_in_brackets_is_that_unit(client, typed):
    body = check(client, typed)
    assert body["verdict"] == "exists" and body["unit"]["org_id"] == "root"


def test_a_bracketed_alias_links_as_a_host_and_in_a_spreadsheet():
    from core.regions import default_regions
    from serve.matching import prepare_typed

    rec = prepare_typed(["中国科学技术协会（中国科协）", "中国地质大学（北京）"], regions=default_regions())
    assert rec[0]["name_key"] == "中国科学技术协会" and rec[1]["name_key"] == "中国地质大学北京"
