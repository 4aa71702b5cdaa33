"""组织入驻 in a real headless Chromium: the 入驻 page (form → verdict → submitted/accepted) for an existing
and a new unit, the accepted unit then picked in the demo picker marked 新入驻, and the ops queue page
where a reviewer merges a pending proposal with a reason. Screenshots go to bench/out/screens/."""
from pathlib import Path

import pytest

from core.accounts import add_user
from tests.newunit_fixture import publish
from tests.test_browser import CHROMIUM, SCREENS, _serve, page  # noqa: F401 (the page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")]
PASSWORD = "Kepu-2026-Zuzhiku!"


@pytest.fixture
def server(tmp_path):
    settings, store, _ = publish(tmp_path, proposal_auto_accept=True, check_rate_limit="1000/minute")
    add_user(store, "ops", "reviewer", PASSWORD)
    yield from _serve(settings, store)


def fill(page, name, region="", category="", parent=None):
    page.fill("#name", name)
    page.fill("#region_code", region)
    if category:
        page.select_option("#category", category)
    if parent:
        page.fill("#parent", parent)
        page.click(f"#parent-list li:has-text('{parent}')")
    page.fill("#contact_name", "王老师")
    page.fill("#contact_phone", "027-87654321")


def test_the_join_page_shows_the_flow_and_an_accepted_unit_is_picked_marked_new(server, page):
    url, store = server
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.goto(url + "/ruzhu")
    page.click("#submit")  # nothing filled: the field is named
    page.wait_for_function("document.querySelector('#error').textContent.length > 0")
    assert page.inner_text("#error").startswith("name")
    fill(page, "武汉市洪山区科普志愿者协会", "420111", "地方学会")
    page.screenshot(path=str(SCREENS / "ruzhu-form.png"), full_page=True)
    page.click("#submit")
    page.wait_for_selector("#verdict")
    assert page.inner_text("#status") == "已入驻" and "已入驻" in page.inner_text("#verdict")
    assert "done" in page.get_attribute("#s2", "class") and "on" in page.get_attribute("#s3", "class")
    pid = page.inner_text("#proposal-id")
    page.screenshot(path=str(SCREENS / "ruzhu-accepted.png"), full_page=True)

    page.goto(url + "/")  # the form's picker finds it at once, marked 新入驻
    page.fill("#q", "洪山区科普志愿者")
    page.wait_for_selector("#list li .newunit")
    assert "武汉市洪山区科普志愿者协会" in page.inner_text("#list li")
    page.keyboard.press("Enter")
    assert pid in page.inner_text("#chosen") and "新入驻" in page.inner_text("#chosen")
    page.screenshot(path=str(SCREENS / "picker-new-unit.png"), full_page=True)

    page.goto(url + "/ruzhu")  # an existing unit: the verdict and its candidates, the proposal waits
    fill(page, "广州科学技术协会", "440100", parent="广东省科学技术协会")
    page.click("#submit")
    page.wait_for_selector("#verdict")
    assert page.inner_text("#status") == "待处理" and "广州市科学技术协会" in page.inner_text("#result table")
    page.screenshot(path=str(SCREENS / "ruzhu-exists.png"), full_page=True)
    assert [p["status"] for p in store.proposals()] == ["pending", "accepted"]


def test_a_reviewer_merges_a_pending_proposal_from_the_queue(server, page):
    url, store = server
    pending = store.add_proposal({"name": "广州科学技术协会", "category": "市级科协", "region_code": "440100",
                                  "parent_id": "gd", "contact": {"name": "李老师", "phone": "020-1234"}},
                                 "exists", [{"org_id": "gzs", "score": 0.97, "reason": "名称相同"}], {}, "web")["org_id"]
    page.goto(url + "/ops/proposals")
    page.fill("input[name=name]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#proposals")
    row = page.locator(f"tr[data-id='{pending}']")
    assert "广州市科学技术协会" in row.inner_text() and "李老师" in row.inner_text()
    row.locator("button[data-action=merge]").click()  # no reason: refused, said in Chinese
    page.wait_for_function("document.querySelector('.msg').textContent.length > 0")
    assert "理由" in row.locator(".msg").inner_text()
    page.screenshot(path=str(SCREENS / "proposals-queue.png"), full_page=True)
    row.locator(".reason").fill("即广州市科协")
    row.locator("button[data-action=merge]").click()
    page.wait_for_function("document.querySelector('.state').textContent.includes('并入')")
    page.screenshot(path=str(SCREENS / "proposals-queue-merged.png"), full_page=True)
    got = store.proposal(pending)
    assert (got["status"], got["merged_into"], got["decided_by"], got["reason"]) == ("merged", "gzs", "ops", "即广州市科协")


@pytest.fixture
def reviewed_server(tmp_path):
    """Proposals wait for a person (no automatic acceptance); a national admin signs in."""
    settings, store, _ = publish(tmp_path, check_rate_limit="1000/minute")
    add_user(store, "nat", "admin", PASSWORD)
    yield from _serve(settings, store)


def test_the_missing_units_page_leads_to_a_filled_join_form_and_a_proposal(reviewed_server, page):
    url, store = reviewed_server
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.goto(url + "/stats/missing-units")
    page.fill("input[name=name]", "nat")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    link = page.locator("tr:has-text('湖北省应急管理局') a.propose")
    link.wait_for()
    page.screenshot(path=str(SCREENS / "missing-units.png"), full_page=True)
    link.click()
    page.wait_for_selector("#form")
    assert page.url.startswith(url + "/ruzhu?")
    assert page.input_value("#name") == "湖北省应急管理局"  # filled from the entry's suggestions
    assert page.input_value("#region_code") == "420000" and page.input_value("#parent_id") == "hbkx"
    assert page.input_value("#parent") == "湖北省科学技术协会" and page.input_value("#category")
    page.fill("#contact_name", "王老师")
    page.fill("#contact_phone", "027-87654321")
    page.screenshot(path=str(SCREENS / "ruzhu-from-missing.png"), full_page=True)
    page.click("#submit")
    page.wait_for_selector("#verdict")
    pid = page.inner_text("#proposal-id")
    page.screenshot(path=str(SCREENS / "ruzhu-from-missing-submitted.png"), full_page=True)
    row = store.proposal(pid)
    assert (row["name"], row["region_code"], row["parent_id"], row["status"]) == ("湖北省应急管理局", "420000", "hbkx",
                                                                                 "pending")
    assert row["contact"]["name"] == "王老师"


def test_a_second_proposal_of_an_accepted_unit_shows_it_marked_new(server, page):
    url, store = server
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.goto(url + "/ruzhu")
    fill(page, "广州市海珠区青少年天文科普馆", "440105", "科普教育基地")
    page.click("#submit")
    page.wait_for_selector("#verdict")
    first = page.inner_text("#proposal-id")
    assert page.inner_text("#status") == "已入驻"
    page.goto(url + "/ruzhu")  # the same unit again, before any nightly run
    fill(page, "广州市海珠区青少年天文科普馆", "440105", "科普教育基地")
    page.click("#submit")
    page.wait_for_selector("#verdict")
    assert page.inner_text("#status") == "待处理"
    row = page.locator("#result tbody tr").first
    assert first in row.inner_text() and "新入驻" in row.inner_text()
    page.screenshot(path=str(SCREENS / "ruzhu-second-proposal.png"), full_page=True)
