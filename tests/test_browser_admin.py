"""A 广东 admin in a real headless Chromium: logs in, filters to 广州, downloads the xlsx, opens a unit's
subtree, and gets the Chinese 403 page on 湖北's URL. Screenshots go to bench/out/screens/ (not committed)."""
import io

import openpyxl
import pytest

from tests.admin_fixture import PASSWORD, publish_two_runs
from tests.test_browser import CHROMIUM, SCREENS, _serve, page  # noqa: F401 (the page fixture)
from pathlib import Path

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")]


@pytest.fixture
def admin_server(tmp_path):
    settings, store = publish_two_runs(tmp_path)
    yield from _serve(settings, store)


def test_a_provincial_admin_filters_downloads_and_opens_a_subtree(admin_server, page):
    url, _ = admin_server
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.goto(url + "/admin/440000")  # not signed in: the login, then back here
    page.fill("input[name=name]", "gd_admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#activities")
    assert page.url.endswith("/admin/440000") and page.inner_text("#total") == "6"
    assert "湖北" not in page.inner_text("#activities") and "武汉" not in page.inner_text("#activities")

    page.select_option("#place", "440100")
    page.click("#apply")
    page.wait_for_url("**place=440100**")
    assert page.inner_text("#total") == "5"
    assert "深圳创客节" not in page.inner_text("#activities")
    assert "广州市天河区科学技术协会 → 广州市科学技术协会 → 广东省科学技术协会" in page.inner_text("#activities")
    page.screenshot(path=str(SCREENS / "admin-activities-guangzhou.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#dl-xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("活动ID", "活动名称") and len(rows) == 1 + 5
    assert {r[4].split(" · ")[0] for r in rows[1:]} == {"广州市"}
    assert "'=HYPERLINK(\"http://x\",\"点我\")" in [r[1] for r in rows]

    page.click("text=单位")
    page.wait_for_selector("#children")
    page.click("a.open:has-text('广州市科学技术协会')")
    page.wait_for_selector("#root-orgs")
    assert page.inner_text("#root-orgs") == "4" and "广州市天河区科学技术协会" in page.inner_text("#children")
    page.screenshot(path=str(SCREENS / "admin-units-guangzhou.png"), full_page=True)

    page.click("text=统计")
    page.wait_for_selector("#chart")
    page.screenshot(path=str(SCREENS / "admin-stats-guangdong.png"), full_page=True)

    response = page.goto(url + "/admin/420000")
    assert response.status == 403
    assert "没有权限" in page.inner_text("body") and "无权查看 420000" in page.inner_text("body")
    page.screenshot(path=str(SCREENS / "admin-403-hubei.png"), full_page=True)


def test_the_national_admin_sees_the_national_statistics(admin_server, page):
    url, _ = admin_server
    page.goto(url + "/login")
    page.fill("input[name=name]", "nat")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#stats")
    assert page.url.endswith("/stats") and "广东省" in page.inner_text("#stats")
    page.screenshot(path=str(SCREENS / "national-stats.png"), full_page=True)
