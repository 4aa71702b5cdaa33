"""The missing-units page and API (national team): the nightly's names no unit has, searchable, downloadable."""
import pytest
from fastapi.testclient import TestClient

from core.accounts import add_user, new_token
from tests.newunit_fixture import publish

PASSWORD = "Kepu-2026-Zuzhiku!"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from serve.app import create_app

    settings, store, _ = publish(tmp_path_factory.mktemp("missing"))
    add_user(store, "ops", "admin", PASSWORD)
    add_user(store, "hb", "province", PASSWORD, "420000")
    with TestClient(create_app(settings, store, poll_seconds=3600)) as c:
        c.headers_of = {n: {"Authorization": f"Bearer {new_token(store, n)}"} for n in ("ops", "hb")}
        yield c


def test_the_page_lists_the_missing_units_with_suggestions(client):
    page = client.get("/stats/missing-units", headers=client.headers_of["ops"])
    assert page.status_code == 200 and "组织库缺少的单位" in page.text
    assert "湖北省应急管理局" in page.text and "湖北省科学技术协会" in page.text  # the suggested parent
    empty = client.get("/stats/missing-units", params={"q": "气象局"}, headers=client.headers_of["ops"])
    assert "没有名称包含“气象局”的缺失单位" in empty.text


def test_the_api_and_the_downloads(client):
    body = client.get("/api/missing-units", headers=client.headers_of["ops"]).json()
    assert body["total"] == 1 and body["results"][0]["name"] == "湖北省应急管理局"
    assert body["results"][0]["activities"] == 3 and body["results"][0]["suggested_parent_id"] == "hbkx"
    csv = client.get("/stats/missing-units", params={"format": "csv"}, headers=client.headers_of["ops"])
    assert csv.content.startswith(b"\xef\xbb\xbf") and "建议上级" in csv.content.decode("utf-8-sig")
    xlsx = client.get("/stats/missing-units", params={"format": "xlsx"}, headers=client.headers_of["ops"])
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_only_the_national_team_sees_it(client):
    assert client.get("/api/missing-units", headers=client.headers_of["hb"]).status_code == 403
    assert client.get("/api/missing-units").status_code == 401
