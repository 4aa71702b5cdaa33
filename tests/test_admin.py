"""The admins' pages and statistics: filters, why each activity is mine, the subtree, downloads, national stats."""
import io

import openpyxl
import pytest
from fastapi.testclient import TestClient

from core.accounts import Accounts
from tests.admin_fixture import publish_two_runs


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    from serve.app import create_app

    settings, store = publish_two_runs(tmp_path_factory.mktemp("admin-home"))
    accounts = Accounts(store)
    tokens = {n: {"Authorization": f"Bearer {accounts.new_token(n)}"} for n in ("nat", "gd_admin", "chem_admin", "rev")}
    with TestClient(create_app(settings, store, poll_seconds=3600)) as client:
        client.tokens = tokens
        yield client


def get(client, url, who="gd_admin", **params):
    return client.get(url, params=params, headers=client.tokens[who], follow_redirects=False)


def ids(html: str) -> set[str]:
    return {a for a in ("a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9") if f'<div class="muted">{a}</div>' in html}


def test_each_account_lands_on_its_own_area(admin):
    assert get(admin, "/admin").headers["location"] == "/admin/440000"
    assert get(admin, "/admin", "chem_admin").headers["location"] == "/admin/unit/chem"
    assert get(admin, "/admin", "nat").headers["location"] == "/stats"
    assert get(admin, "/admin", "rev").headers["location"] == "/review"
    page = admin.get("/admin/440000", follow_redirects=False, headers={"Accept": "text/html"})
    assert page.headers["location"] == "/login?next=/admin/440000"


def test_the_activities_page_filters_and_says_why(admin):
    page = get(admin, "/admin/440000").text
    assert ids(page) == {"a1", "a2", "a3", "a6", "a7", "a9"}  # 广东's, not 湖北's or the society's
    assert "广州市 · 天河区" in page and '<option value="440100"' in page  # cities and counties from a list
    assert ids(get(admin, "/admin/440000", place="440100").text) == {"a1", "a2", "a6", "a7", "a9"}
    assert ids(get(admin, "/admin/440000", place="440106").text) == {"a1", "a7"}
    assert ids(get(admin, "/admin/440000", unit="广州市白云区科学技术协会").text) == {"a2"}
    assert ids(get(admin, "/admin/440000", date_from="2026-09-11", date_to="2026-09-20").text) == {"a3", "a6"}
    assert ids(get(admin, "/admin/440000", new="true").text) == {"a6", "a7", "a9"}  # not in the first run
    assert ids(get(admin, "/admin/440000", basis="按活动所在地区").text) == {"a7"}
    assert ids(get(admin, "/admin/440000", q="科学营").text) == {"a6"}
    assert "广州市天河区科学技术协会 → 广州市科学技术协会 → 广东省科学技术协会（规则：归口单位所在省级科协）" in page
    assert "按活动所在地区 广州市 · 天河区 归入本省" in page
    assert get(admin, "/admin/440000", date_from="yesterday").status_code == 422


def test_a_society_admin_sees_the_activities_of_its_unit(admin):
    page = get(admin, "/admin/unit/chem", "chem_admin").text
    assert ids(page) == {"a5"} and "是本单位" in page
    assert get(admin, "/admin/unit/gd", "chem_admin").status_code == 403
    assert get(admin, "/admin/440000", "chem_admin").status_code == 403


def test_units_as_a_tree_with_counts_and_only_my_subtree(admin):
    top = get(admin, "/admin/440000/units").text
    assert "广东省科学技术协会" in top and 'href="/admin/440000/units?root=gz"' in top
    gz = get(admin, "/admin/440000/units", root="gz").text
    assert '<b id="root-orgs">4</b>' in gz and '<b id="root-acts">4</b>' in gz  # 广州, 天河, 白云, 广州大学
    assert "广州市天河区科学技术协会" in gz and "广东省科学技术协会</a>" in gz  # children and the way back up
    forbidden = get(admin, "/admin/440000/units", root="wh")
    assert forbidden.status_code == 403 and "不在您的管辖范围内" in forbidden.text


def test_statistics_per_unit_and_place_with_the_change_since_last_run(admin):
    body = get(admin, "/api/stats/440000/places").json()
    gz = next(r for r in body["results"] if r["key"] == "440100")
    assert (gz["activities"], gz["activities_last_run"], gz["activities_change"]) == (5, 2, 3)
    assert body["last_run_snapshot_version"] == 1 and body["snapshot_version"] == 2
    units = {r["key"]: r for r in get(admin, "/api/stats/440000/units").json()["results"]}
    assert units["gzu"]["activities_change"] == 1 and units["th"]["activities_change"] == 0
    page = get(admin, "/admin/440000/stats", by="county").text
    assert "<svg" in page and "天河区" in page and "+1" in page


def test_national_statistics_per_province_and_national_unit(admin):
    provinces = {r["key"]: r for r in get(admin, "/api/stats/provinces", "nat").json()["results"]}
    assert provinces["440000"]["activities"] == 6 and provinces["420000"]["activities"] == 2
    assert provinces["440000"]["activities_change"] == 3
    national = {r["key"]: r for r in get(admin, "/api/stats/national-units", "nat").json()["results"]}
    assert national["chem"]["activities"] == 1 and national["most"]["category"] == "部委"
    assert get(admin, "/api/stats/provinces").status_code == 403
    assert "/api/stats/provinces" in admin.get("/openapi.json").json()["paths"]
    assert "广东省" in get(admin, "/stats", "nat").text and "科学技术部" in get(admin, "/stats", "nat", by="national-unit").text


def test_downloads_are_bom_csv_and_xlsx_with_formulas_neutralised(admin):
    csv = get(admin, "/admin/440000", format="csv", place="440100")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "attachment" in csv.headers["content-disposition"]
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("活动ID,活动名称") and "'=HYPERLINK" in text and "a3" not in text
    xlsx = get(admin, "/admin/440000", format="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    titles = [row[1] for row in sheet.iter_rows(values_only=True)]
    assert titles[0] == "活动名称" and "'=HYPERLINK(\"http://x\",\"点我\")" in titles
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    for url, who in (("/admin/440000/units", "gd_admin"), ("/admin/440000/stats", "gd_admin"), ("/stats", "nat")):
        assert get(admin, url, who, format="xlsx").content[:2] == b"PK"
        assert get(admin, url, who, format="csv").content.startswith(b"\xef\xbb\xbf")
