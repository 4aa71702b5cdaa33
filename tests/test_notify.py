"""Run notifications against a local receiver that answers like a 企业微信/钉钉 group robot."""
import urllib.parse

from core.config import load_settings
from flows.notify import notify_run, send

COUNTS = {"registry_rows": 3556, "registry_quarantined": 35, "canonical_orgs": 3100, "auto_merged": 420,
          "suggestions_pending": 22}


def test_a_held_back_run_reaches_the_robot_with_its_reason_and_next_step(robot, tmp_path):
    settings = load_settings(home=tmp_path, notify_webhook=robot["url"])
    assert notify_run(settings, 12, "held", COUNTS, {"ingest": 1.0, "duplicates": 2.25}, "/h/runs/00012/report.html",
                      error="消失的源记录 ID 60.0%（上限 5.0%）") is True
    (path, body), = robot["received"]
    assert path == "/cgi-bin/webhook/send?key=K" and body["msgtype"] == "text"
    text = body["text"]["content"]
    assert text.startswith("【组织库夜间清洗】第 12 次运行：暂缓发布")
    for words in ("原因：消失的源记录 ID 60.0%", "--accept-shrink", "组织库 3,556 行（隔离 35）", "用时 3.2 秒",
                  "报告：/h/runs/00012/report.html"):
        assert words in text


def test_a_published_run_is_announced_only_when_asked(robot, tmp_path):
    quiet = load_settings(home=tmp_path, notify_webhook=robot["url"])
    assert notify_run(quiet, 3, "succeeded", COUNTS, {"all": 1.0}, "r.html", snapshot_version=3) is None
    assert robot["received"] == []
    loud = load_settings(home=tmp_path, notify_webhook=robot["url"], notify_on_success=True)
    assert notify_run(loud, 3, "succeeded", COUNTS, {"all": 1.0}, "r.html", snapshot_version=3) is True
    assert "成功，已发布快照 v3" in robot["received"][0][1]["text"]["content"]
    assert notify_run(load_settings(home=tmp_path), 4, "failed", None, {}, "r.html", error="x") is None  # no URL set


def test_a_refused_or_unreachable_notification_never_raises(robot, tmp_path):
    robot["answer"] = {"errcode": 310000, "errmsg": "keywords not in content"}  # 钉钉: the keyword rule refused it
    assert send(robot["url"], "组织库") is False and len(robot["received"]) == 1
    assert send("http://127.0.0.1:9/nothing-listens-here", "组织库", timeout=2) is False


def test_a_dingtalk_secret_signs_the_url(robot):
    assert send(robot["url"], "组织库", secret="SEC") is True
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(robot["received"][0][0]).query)
    assert query["key"] == ["K"] and query["timestamp"][0].isdigit() and len(query["sign"][0]) == 44
