"""The W3C Reconciliation Service API v0.2 at /reconcile: every response validates against the
official schemas (copied in ../shared/reconciliation/0.2/), and the candidates are the right units."""
import json
from pathlib import Path

import jsonschema
import pytest
from fastapi.testclient import TestClient
from referencing import Registry, Resource

from tests.conftest import ROOT
from tests.newunit_fixture import publish

SCHEMAS = ROOT.parent / "shared" / "reconciliation" / "0.2"
pytestmark = pytest.mark.skipif(not SCHEMAS.exists(), reason="the reconciliation schemas are not there")


def validator(name: str):
    """A validator of one schema file, its relative references (type.json …) resolved from the folder."""
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resource = Resource.from_contents(schema, default_specification=jsonschema.Draft7Validator.META_SCHEMA and
                                          __import__("referencing.jsonschema").jsonschema.DRAFT7)
        resources.append((schema.get("$id", path.name), resource))
    registry = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema, registry=registry)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from serve.app import create_app

    settings, store, _ = publish(tmp_path_factory.mktemp("reconcile"))
    with TestClient(create_app(settings, store)) as c:
        yield c


def test_manifest_validates_and_names_the_types(client):
    body = client.get("/reconcile").json()
    validator("manifest.json").validate(body)
    assert "0.2" in body["versions"] and {"id": "市级科协", "name": "市级科协"} in body["defaultTypes"]
    assert client.post("/reconcile").json()["versions"] == body["versions"]


def test_a_batch_finds_the_units_with_type_and_region(client):
    queries = {"q0": {"query": "广州市科协", "limit": 3},
               "q1": {"query": "中山大学科协", "type": "高校科协", "properties": [{"pid": "region", "v": "440100"}]},
               "q2": {"query": "海珠区科协", "properties": [{"pid": "region", "v": "广东省广州市海珠区"}]},
               "q3": {"query": "湖北省应急管理局"}}
    validator("reconciliation-query-batch.json").validate(queries)
    for send in (lambda: client.post("/reconcile", data={"queries": json.dumps(queries)}),
                 lambda: client.get("/reconcile", params={"queries": json.dumps(queries)})):
        body = send().json()
        validator("reconciliation-result-batch.json").validate(body)
        assert body["q0"]["result"][0]["id"] == "gzs" and body["q0"]["result"][0]["match"] is True
        assert not [r for r in body["q0"]["result"] if r["type"][0]["id"] == "高校科协"]
        assert body["q1"]["result"][0]["id"] == "zsu"
        assert body["q2"]["result"][0]["id"] == "hz"
        assert not any(r["match"] for r in body["q3"]["result"])


def test_suggest_preview_and_view(client):
    body = client.get("/reconcile/suggest/entity", params={"prefix": "gzkx"}).json()
    validator("suggest-entities-response.json").validate(body)
    assert "gzs" in [r["id"] for r in body["result"][:3]]
    page = client.get("/reconcile/preview", params={"id": "gzs"})
    assert page.status_code == 200 and "广州市科学技术协会" in page.text
    assert client.get("/reconcile/entity/gzs").json()["name"] == "广州市科学技术协会"
    assert client.get("/reconcile/preview", params={"id": "nope"}).status_code == 404


def test_bad_queries_get_a_chinese_message(client):
    response = client.post("/reconcile", data={"queries": "{not json"})
    assert response.status_code == 400 and "JSON" in response.json()["detail"]
