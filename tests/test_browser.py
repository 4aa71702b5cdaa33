"""The review page and the demo picker in a real headless Chromium (Debian's chromium, driven by Playwright)."""
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from serve.auth import add_user
from tests.review_fixture import MARKUP, publish

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    settings, store = publish(tmp_path)
    add_user(store, "rev", "reviewer", "审核-river-tea-41")
    add_user(store, "adm", "admin", "管理-lamp-stone-72")
    yield from _serve(settings, store)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.dialogs = dialogs
        yield page
        browser.close()


SCREENS = Path(__file__).parent.parent / "bench" / "out" / "screens"  # looked at by a person, not committed


@pytest.fixture
def long_queue(tmp_path):
    from tests.review_fixture import MARKUP, publish_queue

    settings, store = publish_queue(tmp_path)
    add_user(store, "rev", "reviewer", "审核-river-tea-41")
    yield from _serve(settings, store)


def _serve(settings, store):
    from serve.app import create_app

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", store
    srv.should_exit = True
    thread.join(5)


def _count(page) -> str:
    return page.inner_text("#count")


def _after(page, text: str) -> None:
    page.wait_for_function("t => document.querySelector('#count').textContent.includes(t)", arg=text)


def test_a_reviewer_works_through_the_queue_by_mouse_and_keyboard(long_queue, page, tmp_path):
    url, store = long_queue
    page.goto(url + "/review")
    page.fill("input[name=name]", "rev")
    page.fill("input[name=password]", "审核-river-tea-41")
    page.click("button[type=submit]")
    page.wait_for_selector(".item.current")
    assert _count(page) == "待审核 38 条"
    assert MARKUP in page.inner_text("#list")  # a name with markup is shown as text (and nothing ran)
    # server-side search: the 24 test units, 20 a page
    page.fill("#q", "测试单位")
    _after(page, "筛选后 24 条")
    assert page.locator(".item").count() == 20 and "第 1 / 2 页" in page.inner_text("#pageinfo")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "desk.png"), full_page=False)
    # ten with the mouse: the item's own buttons
    for n in range(10):
        item = page.locator(".item").first
        item.locator("button[data-act=%s]" % ("accept" if n % 2 == 0 else "reject")).click()
        _after(page, f"待审核 {37 - n} 条")
    # ten with the keyboard (focus out of the search box first)
    page.locator("header h1").click()
    for n in range(10):
        page.keyboard.press("2" if n % 3 == 0 else "j")
        page.keyboard.press("a" if n % 2 == 0 else "r")
        _after(page, f"待审核 {27 - n} 条")
    # undo walks back two steps with the button and the key
    page.click("#b-undo")
    _after(page, "待审核 19 条")
    page.keyboard.press("u")
    _after(page, "待审核 20 条")
    # the 铁西区 cluster: open it from the desk, see its conflicts, split it with the mouse
    page.fill("#q", "鞍山")
    _after(page, "筛选后 3 条")
    page.locator(".item").first.locator("button[data-act=cluster]").click()
    page.wait_for_selector("#units tr")
    assert page.locator("#units tr").count() == 6 and "地区互斥" in page.inner_text("#conflicts")
    assert page.locator("#b-all").is_disabled()
    for unit, group in (("x2", "1"), ("t2", "1"), ("x3", "2")):
        page.select_option(f"select[data-unit={unit}]", group)
    assert "当前分组已把它们分开" in page.inner_text("#conflicts")
    page.screenshot(path=str(SCREENS / "cluster.png"), full_page=True)
    page.click("#b-groups")
    assert "第 1 组" in page.inner_text("#confirm-text")
    page.click("#confirm-yes")
    page.wait_for_url(url + "/review")
    page.wait_for_selector("#count")
    _after(page, "待审核 8 条")
    ids = store.live_snapshot().frame("id_map").set_index("source_org_id")["canonical_org_id"]
    assert ids["t1"] == ids["x0"] == ids["x1"] and ids["t2"] == ids["x2"] != ids["x1"] and ids["x3"] == "x3"
    # the audit page and its CSV
    page.goto(url + "/review/audit")
    page.wait_for_selector("#rows tr td")
    assert "整组合并" in page.inner_text("#rows") and "撤销" in page.inner_text("#rows")
    # what an undo withdrew reads as a sentence, not as the stored JSON
    assert "rev 判定 q" in page.inner_text("#rows") and "{" not in page.inner_text("#rows")
    page.screenshot(path=str(SCREENS / "audit.png"), full_page=False)
    with page.expect_download() as download:
        page.click("#csv")
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    import io

    import pandas as pd

    audit = pd.read_csv(io.StringIO(raw.decode("utf-8-sig")), dtype=str, keep_default_na=False)
    # the accounts the fixture made are audited too (by nobody: no operator signed in); the rest is rev's work
    made = audit["操作"] == "添加账号"
    assert made.any() and (audit.loc[~made, "账号"] == "rev").all() and audit["操作"].eq("整组合并（可分组）").sum() == 1
    assert audit["操作"].isin(["接受合并", "拒绝合并"]).sum() == 20
    # the machine-readable export holds the decisions
    from core.snapshot import write_export

    snap = store.live_snapshot()
    write_export({n: snap.frame(n) for n in ("organizations", "id_map", "merge_suggestions",
                                               "activity_visibility")}, tmp_path / "export")
    status = pd.read_csv(tmp_path / "export" / "merge_suggestions.csv", dtype=str)["status"].value_counts()
    assert status.get("pending") == 8 and status.get("accepted", 0) + status.get("rejected", 0) >= 18 + 12
    assert page.dialogs == []


def test_error_pages_and_empty_states_are_chinese(server, page):
    url, _ = server
    page.goto(url + "/no-such-page")
    assert "404 页面不存在" in page.inner_text("h1")
    page.goto(url + "/api/review/undo")  # a POST-only address opened in a browser
    assert "不接受" in page.inner_text("body") or "请先登录" in page.inner_text("body")
    page.goto(url + "/review/clusters/x-x-x")  # signed out: the sign-in page first
    assert "登录" in page.inner_text("body")
    page.goto(url + "/review")
    page.fill("input[name=name]", "rev")
    page.fill("input[name=password]", "审核-river-tea-41")
    page.click("button[type=submit]")
    page.wait_for_selector(".item.current")
    page.goto(url + "/review/clusters/x-x-x")  # signed in: a malformed id is answered in Chinese
    assert "请求参数不正确" in page.inner_text("body")
    page.goto(url + "/review")
    page.wait_for_selector(".item.current")
    page.fill("#q", "没有这个单位")
    page.wait_for_selector(".empty")
    assert "没有符合筛选条件" in page.inner_text("#list")
    assert page.dialogs == []


def test_a_units_page_corrects_it_and_lets_an_admin_unmerge(server, page):
    url, store = server
    page.goto(url + "/review/units/c2")
    page.fill("input[name=name]", "adm")
    page.fill("input[name=password]", "管理-lamp-stone-72")
    page.click("button[type=submit]")
    page.goto(url + "/review/units/c2")
    page.wait_for_selector("button[data-unmerge]")
    assert "记录 c2 已合并到这里" in page.inner_text("#main")
    page.fill("#correct input[name=name]", "广州市科学技术协会（更正）")
    page.click("#correct button[type=submit]")
    page.wait_for_function("document.querySelector('#main h2').textContent.includes('更正')")
    page.screenshot(path=str(SCREENS / "unit.png"), full_page=True)
    page.click("button[data-unmerge=c2]")
    assert "c2" in page.inner_text("#confirm-text")
    page.click("#confirm-yes")
    page.wait_for_function("!document.querySelector('button[data-unmerge]')")
    ids = store.live_snapshot().frame("id_map").set_index("source_org_id")["canonical_org_id"]
    assert ids["c2"] == "c2" and store.corrections_frame()["value"].tolist() == ["广州市科学技术协会（更正）"]
    assert page.dialogs == []


def test_demo_picker_finds_a_unit(server, page):
    url, _ = server
    page.goto(url + "/")
    page.fill("#q", "广州科协")
    page.wait_for_selector("#list li")
    assert "广州市科学技术协会" in page.inner_text("#list")
    page.keyboard.press("Enter")
    assert "已选择" in page.inner_text("#chosen")
    page.fill("#q", "火星探索者联盟")
    page.wait_for_selector("#list li.none")
    assert "没有找到“火星探索者联盟”" in page.inner_text("#list")


def test_picker_says_what_to_do_without_results_and_drops_a_stale_choice(server, page):
    url, _ = server
    page.goto(url + "/")
    page.fill("#q", "广州科协")
    page.wait_for_selector("#list li:not(.empty)")
    page.keyboard.press("Enter")
    assert page.is_visible("#chosen")
    page.fill("#q", "完全不存在的单位名称")
    # the old choice goes at once, while the new search runs
    assert not page.is_visible("#chosen")
    page.wait_for_selector("#list li.empty")
    assert "没有找到" in page.inner_text("#list") and "申请入驻" in page.inner_text("#list")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "picker_empty.png"), full_page=True)
