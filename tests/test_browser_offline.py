"""The service without internet: ``/docs`` renders from assets the service serves itself.
Every request that leaves 127.0.0.1 is refused in the browser and listed; none may be needed."""
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_browser import CHROMIUM, SCREENS, page, server  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")]


def offline(page):  # noqa: F811
    """Refuse every request that is not for the local service; returns the refused URLs."""
    refused = []

    def route(r):
        if urlsplit(r.request.url).hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort("internetdisconnected")

    page.route("**/*", route)
    return refused


def test_api_docs_render_without_internet(server, page):  # noqa: F811
    url = server[0]
    refused = offline(page)
    page.goto(url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
    assert "orgreg 组织库查询服务" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector('.opblock-summary-path[data-path="/api/suggest"]')  # the operations are listed from /openapi.json
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "docs-offline.png"), full_page=False)
    assert refused == []


def test_data_docs_are_styled_and_chinese_without_internet(page, tmp_path):  # noqa: F811
    """A run's Data Docs opened from disk with the network off: Bootstrap styles the page, bootstrap-table
    draws the results table, Font Awesome's icons load, and the labels are Chinese."""
    import pandas as pd

    from core.quality import validate_raw_registry

    frame = pd.DataFrame({"org_id": ["a1", "a2"], "name": ["广州市科协", "某某学会"],
                          "category": ["市级科协", "不存在的类别"], "region_code": ["440100", "440300"]})
    index = validate_raw_registry(frame, {}, tmp_path / "data_docs").docs_index
    refused = []
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else (
        refused.append(r.request.url), r.abort("internetdisconnected")))
    page.goto(f"file://{index}")
    page.wait_for_selector(".bootstrap-table", timeout=20000)  # drawn by the vendored bootstrap-table
    assert "校验结果" in page.inner_text("body") and page.title() == "数据校验文档"
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"  # Bootstrap 4
    assert "运行时间" in page.inner_text(".bootstrap-table thead")
    assert "显示第 1 到第 1 条记录" in page.inner_text(".bootstrap-table")  # bootstrap-table's zh-CN locale
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "data-docs-index-offline.png"), full_page=True)
    page.click("table tbody tr td a, table tbody tr")  # the validation of the run
    page.wait_for_load_state("load")
    icon = ("(() => { const i = document.createElement('i'); i.className = 'fas fa-check'; document.body.append(i);"
            " return getComputedStyle(i, '::before').fontFamily; })()")
    assert "Font Awesome 6 Free" in page.evaluate(icon)  # the vendored Font Awesome stylesheet applies
    body = page.inner_text("body")
    assert "概览" in body and "未通过的规则" in body and "的值必须属于：" in body
    assert page.evaluate("typeof vegaEmbed") == "function" and page.evaluate("typeof jQuery.fn.datepicker") == "function"
    page.screenshot(path=str(SCREENS / "data-docs-validation-offline.png"), full_page=False)
    assert refused == []
