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
    add_user(store, "rev", "reviewer", "password-1")
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


def test_reviewer_accepts_and_rejects_with_the_keyboard(server, page, tmp_path):
    url, store = server
    page.goto(url + "/review")
    page.fill("input[name=name]", "rev")
    page.fill("input[name=password]", "password-1")
    page.click("button[type=submit]")
    page.wait_for_selector(".item.current")
    assert "待审核 14 条" in page.inner_text("#count")
    first = page.inner_text(".item.current")
    page.keyboard.press("a")
    page.wait_for_function("document.querySelectorAll('.item').length === 13")
    page.keyboard.press("r")
    page.wait_for_function("document.querySelectorAll('.item').length === 12")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)
    # names with markup are shown as text, and nothing ran
    assert MARKUP in page.inner_text("body") + first and page.dialogs == []

    from core.snapshot import write_export
    import pandas as pd

    snap = store.live_snapshot()
    write_export({n: snap.frame(n) for n in ("organizations", "id_map", "merge_suggestions",
                                               "activity_visibility")}, tmp_path / "export")
    status = pd.read_csv(tmp_path / "export" / "merge_suggestions.csv", dtype=str)["status"].value_counts()
    assert status.get("accepted") == 1 and status.get("rejected") == 1 and status.get("pending") == 12
    reviewed = pd.read_csv(tmp_path / "export" / "id_map.csv", dtype=str)["how"].eq("reviewed").sum()
    assert reviewed == 1


def test_demo_picker_finds_a_unit(server, page):
    url, _ = server
    page.goto(url + "/")
    page.fill("#q", "广州科协")
    page.wait_for_selector("#list li")
    assert "广州市科学技术协会" in page.inner_text("#list")
    page.keyboard.press("Enter")
    assert "已选择" in page.inner_text("#chosen")
